"""Building HTML in Python with escaping as the default (pure: no IO).

Text is escaped unless it is `Markup`, which only this module and the Markdown renderer make, so a model
name, tag or description can never become markup by accident::

    >>> str(tag("a", "<b>", href="/models/x?y=1&z=2", class_="link"))
    '<a href="/models/x?y=1&amp;z=2" class="link">&lt;b&gt;</a>'

Attribute names take a trailing ``_`` off (``class_``) and turn ``_`` into ``-`` (``data_live``); ``True`` writes
a bare attribute, ``None`` and ``False`` leave it out.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["Markup", "escape", "join", "tag", "url", "void"]

# Elements with no content and no end tag.
_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr"})


class Markup(str):
    """Text that is already HTML: inserted as it is, never escaped again."""

    __slots__ = ()

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, escape(other)))


def escape(value: Any) -> Markup:
    """``value`` as HTML text: ``&``, ``<``, ``>`` and both quotes escaped (Markup passes unchanged)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Concatenate, escaping every part that is not Markup."""
    return Markup(escape(sep).join(escape(p) for p in parts))


def _attributes(attrs: dict[str, Any]) -> str:
    out = []
    for raw, value in attrs.items():
        if value is None or value is False:
            continue
        name = raw.rstrip("_").replace("_", "-")
        if value is True:
            out.append(f" {name}")
        else:
            out.append(f' {name}="{escape(value)}"')
    return "".join(out)


def tag(name: str, /, *children: Any, **attrs: Any) -> Markup:
    """``<name attrs>children</name>``; children are escaped unless Markup, ``None`` children are skipped, and
    lists or tuples of children are flattened."""
    if name in _VOID:
        return void(name, **attrs)
    body = "".join(escape(c) for c in _flatten(children))
    return Markup(f"<{name}{_attributes(attrs)}>{body}</{name}>")


def void(name: str, /, **attrs: Any) -> Markup:
    """An element without content, such as ``<input ...>``."""
    return Markup(f"<{name}{_attributes(attrs)}>")


def _flatten(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, list | tuple):
            yield from _flatten(child)
        else:
            yield child


def url(*segments: Any, **query: Any) -> str:
    """A local URL from path segments, each percent-encoded whole (a model name may hold ``?``, ``#`` or ``%``),
    and a query string (``None`` values left out): ``url("models", "a b", v=2)`` is ``/models/a%20b?v=2``."""
    path = "/" + "/".join(quote(str(s), safe="") for s in segments)
    pairs = [(k, str(v)) for k, v in query.items() if v is not None]
    return path + ("?" + urlencode(pairs) if pairs else "")
