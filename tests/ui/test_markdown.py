"""The description renderer: the Markdown subset it knows, and that no text can make it emit anything else."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.ui.markdown import ALLOWED_TAGS, render_markdown, safe_link


class Collector(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    c.close()
    return c


def assert_safe(html: str) -> None:
    for tag, attrs in parsed(html).tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {html!r}"
        for name, value in attrs:
            if tag == "a" and name == "href":
                assert value is not None and value.lower().startswith(("http://", "https://")), html
            elif tag == "a" and name == "rel":
                assert value == "nofollow noopener noreferrer"
            elif tag == "ol" and name == "start":
                assert value is not None and value.isdigit()
            else:
                raise AssertionError(f"unexpected attribute {name}={value!r} on <{tag}> in {html!r}")


def test_paragraphs_emphasis_code_lists_links_and_headings() -> None:
    html = render_markdown(
        "# Title\n\nFirst **bold** and *em* and `x < 1`.\nSame paragraph.\n\n- a\n- b\n\n3. c\n4. d\n\n"
        "> quoted\n\nA [link](https://example.com/?a=1&b=2) and https://example.org/x.\n\n```\n<b>raw</b>\n```"
    )
    assert "<h3>Title</h3>" in html  # two levels down: a description never outranks the page
    assert "<p>First <strong>bold</strong> and <em>em</em> and <code>x &lt; 1</code>. Same paragraph.</p>" in html
    assert "<ul><li>a</li><li>b</li></ul>" in html
    assert '<ol start="3"><li>c</li><li>d</li></ol>' in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert '<a href="https://example.com/?a=1&amp;b=2" rel="nofollow noopener noreferrer">link</a>' in html
    assert '<a href="https://example.org/x" rel="nofollow noopener noreferrer">https://example.org/x</a>.' in html
    assert "<pre><code>&lt;b&gt;raw&lt;/b&gt;</code></pre>" in html
    assert_safe(html)


def test_nothing_for_blank_text() -> None:
    assert render_markdown(None) == ""
    assert render_markdown("  \n\n ") == ""


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert%281%29)",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](//evil.example/x)",
        '[x](https://a.example/"onmouseover="alert(1))',
        "https://a.example/<script>",
        "&lt;script&gt; and &#60;script&#62;",
        "`</code><script>alert(1)</script>`",
        "**<b onclick=alert(1)>x</b>**",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "<!-- comment --><style>body{}</style>",
    ],
)
def test_user_text_never_becomes_markup(attack: str) -> None:
    html = render_markdown(attack)
    assert_safe(html)
    assert "<script" not in html.lower() and "javascript:" not in str(parsed(html).tags).lower()


def test_link_schemes() -> None:
    assert safe_link("https://example.com/x") == "https://example.com/x"
    assert safe_link("HTTP://example.com") == "HTTP://example.com"
    for bad in ("javascript:alert(1)", "ftp://x.example", "/local", "//evil.example", "https://", "https://a b"):
        assert safe_link(bad) is None, bad
    assert "href" not in render_markdown("[x](ftp://files.example/a)")


# Markdown punctuation, HTML's special characters, schemes and words: the characters attacks are made of.
_PIECES = st.sampled_from(
    ["<", ">", "&", '"', "'", "`", "*", "_", "[", "]", "(", ")", "#", "-", ">", "\n", "\n\n", " ", "```",
     "script", "img", "onerror=", "javascript:", "https://", "http://x.example/", "&lt;", "&#x3c;", "a", "1.", "~~~"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=40).map("".join))
def test_any_text_renders_only_the_allowed_tags(text: str) -> None:
    assert_safe(render_markdown(text))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_plain_text_keeps_every_character(text: str) -> None:
    # Without Markdown punctuation, the reader sees exactly the words written (whitespace aside).
    plain = "".join(c for c in text if c not in "*_`[]()#>-+~!.:/\\&<" and not c.isdigit())
    shown = "".join(parsed(render_markdown(plain)).text)
    assert shown.split() == plain.split()
