"""A small, safe Markdown renderer for descriptions (pure: no IO).

Safety comes first and by construction: every piece of the user's text is HTML-escaped *before* any Markdown
is recognised, and the renderer only ever adds the tags it writes itself. User text therefore cannot add an
element, an attribute or an event handler, whatever it contains (``<script>``, ``<img onerror=...>``, entities,
broken quotes). Links are written only for ``http`` and ``https`` URLs (``javascript:`` and every other scheme
stay text) and carry ``rel="nofollow noopener noreferrer"``.

The subset: paragraphs; headings (``#`` .. ``######``, shown two levels down so a description never outranks
the page's own headings); ``-``/``*``/``+`` and numbered lists (one level); ``>`` quotes; fenced code blocks
(```` ``` ````); and inline ``code``, ``**strong**``/``__strong__``, ``*em*``/``_em_``, ``[text](https://...)``
and bare ``https://...`` links. Anything else is shown as the text it is.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from registry.ui.html import Markup, escape

__all__ = ["ALLOWED_TAGS", "render_markdown", "safe_link"]

ALLOWED_TAGS = frozenset(
    {"p", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code", "strong", "em", "a", "br"}
)
"""Every tag `render_markdown()` can produce (``a`` with ``href`` and ``rel`` only, ``ol`` with ``start``)."""

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}(\d{1,9})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# On escaped text: [label](url) or a bare http(s) URL. URLs stop at whitespace and at the characters that
# usually close them in prose; an escaped quote (&quot;) is part of the text, so it ends one too.
_LINK = re.compile(
    r"\[(?P<label>[^\[\]\n]+)\]\((?P<target>[^()\s]+)\)|(?P<bare>\bhttps?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'])"
)
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<![\w])__(?=\S)(.+?)(?<=\S)__(?![\w])", re.S)
_EM = re.compile(r"\*(?=[^\s*])(.+?)(?<=[^\s*])\*|(?<![\w])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w])", re.S)


def safe_link(target: str) -> str | None:
    """``target`` if it is an absolute ``http`` or ``https`` URL with a host, else None."""
    if any(c in target for c in "\x00\n\r\t "):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return target


def render_markdown(text: str | None) -> Markup:
    """The Markdown ``text`` as safe HTML (empty for ``None`` or blank text)."""
    if not text or not text.strip():
        return Markup("")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("\n".join(_blocks(lines)))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    paragraph: list[str] = []
    items: list[list[str]] = []
    list_kind: str | None = None  # "ul" or "ol"
    list_start = 1
    quote: list[str] = []
    i = 0

    def flush() -> None:
        nonlocal paragraph, items, list_kind, quote
        if paragraph:
            out.append(f"<p>{_inline(' '.join(s.strip() for s in paragraph))}</p>")
            paragraph = []
        if items:
            lis = "".join(f"<li>{_inline(' '.join(s.strip() for s in item))}</li>" for item in items)
            start = f' start="{list_start}"' if list_kind == "ol" and list_start != 1 else ""
            out.append(f"<{list_kind}{start}>{lis}</{list_kind}>")
            items, list_kind = [], None
        if quote:
            inner = "".join(_blocks(quote))
            out.append(f"<blockquote>{inner}</blockquote>")
            quote = []

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end of the text)
            out.append(f"<pre><code>{escape(chr(10).join(body))}</code></pre>")
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        quoted = _QUOTE.match(line)
        if quoted:
            if not quote:
                flush()
            quote.append(quoted.group(1))
            i += 1
            continue
        if quote:
            flush()
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + 2)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            kind = "ul" if bullet else "ol"
            if paragraph or (list_kind is not None and list_kind != kind):
                flush()
            if list_kind is None:
                list_kind = kind
                list_start = int(numbered.group(1)) if numbered else 1
            items.append([bullet.group(1) if bullet else numbered.group(2)])  # type: ignore[union-attr]
            i += 1
            continue
        if items and line.startswith((" ", "\t")):
            items[-1].append(line)  # a continuation of the last item
        elif items:
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
        i += 1
    flush()
    return out


def _inline(text: str) -> str:
    """Inline Markdown on raw text: code spans are cut out first (their content is never interpreted)."""
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_links(text[position : match.start()]))
        out.append(f"<code>{escape(match.group(2).strip())}</code>")
        position = match.end()
    out.append(_links(text[position:]))
    return "".join(out)


def _links(raw: str) -> str:
    """Links and emphasis on one stretch of raw text, escaped first."""
    escaped = str(escape(raw))
    out: list[str] = []
    position = 0
    for match in _LINK.finditer(escaped):
        out.append(_emphasis(escaped[position : match.start()]))
        position = match.end()
        if match.group("bare"):
            target, label = match.group("bare"), match.group("bare")
        else:
            target, label = match.group("target"), _emphasis(match.group("label"))
        href = safe_link(html.unescape(target))
        if href is None:
            out.append(_emphasis(match.group(0)))  # not a link we write: the text as it was
        else:
            out.append(f'<a href="{escape(href)}" rel="nofollow noopener noreferrer">{label}</a>')
    out.append(_emphasis(escaped[position:]))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    # On escaped text only: the replacements wrap it in tags this module writes, never un-escaping anything.
    escaped = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", escaped)
    return _EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", escaped)
