"""Pages of search results: `PagedList`, ``max_results`` checks and page tokens.

Page tokens are opaque strings. Inside, a token remembers the sort key of the last entity it returned (keyset
paging, not an offset) and a fingerprint of the search that made it. So consecutive pages concatenate to
exactly the unpaged result, and when other writers add or delete entities between two calls, the next page
still starts right after the last entity returned: nothing is returned twice and nothing that stayed in
place is skipped. A token is refused when it is malformed or comes from a search with a different filter or
order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from typing import Any, TypeVar

from registry.errors import InvalidParameterValue
from registry.search.ordering import Ordering

__all__ = ["PagedList", "check_max_results", "decode_token", "encode_token", "search_fingerprint"]

T = TypeVar("T")

_TOKEN_VERSION = 1
_STRING_KEYS = frozenset({"name"})


class PagedList(list[T]):
    """A page of search results: a ``list`` with ``token``, the page token of the next page (``None`` at
    the end), as MLflow's ``PagedList``."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def __repr__(self) -> str:
        return f"PagedList({list.__repr__(self)}, token={self.token!r})"

    def to_list(self) -> list[T]:
        """The items as a plain ``list`` (as MLflow's ``PagedList.to_list``)."""
        return list(self)


def check_max_results(max_results: Any, limit: int) -> int:
    """Return ``max_results`` if it is an int in ``[1, limit]``.

    Raises:
        InvalidParameterValue: otherwise (a float, a bool, zero, negative, beyond the limit).
    """
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameterValue(
            f"Invalid value for max_results. It must be a positive integer, but got {max_results!r}.",
            max_results=max_results,
        )
    if max_results > limit:
        raise InvalidParameterValue(
            f"Invalid value for request parameter max_results. It must be at most {limit}, but got value "
            f"{max_results}. Fetch further pages with the returned page token.",
            max_results=max_results,
        )
    return max_results


def search_fingerprint(kind: str, filter_string: str | None, ordering: Ordering) -> str:
    """A short digest of what a search asks for, so a token is only accepted by the same search."""
    text = f"{kind}\n{(filter_string or '').strip()}\n{ordering.describe()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_token(fingerprint: str, key: tuple[Any, ...]) -> str:
    """A page token that resumes after the entity whose sort key is ``key``."""
    payload = json.dumps({"v": _TOKEN_VERSION, "q": fingerprint, "after": list(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")


def decode_token(token: Any, fingerprint: str, ordering: Ordering) -> tuple[Any, ...] | None:
    """The sort key a page token resumes after, or ``None`` for no token (``None`` or ``""``).

    Raises:
        InvalidParameterValue: for a token that is not one of ours or was made by a different search.
    """
    if token is None or token == "":
        return None

    def invalid(why: str) -> InvalidParameterValue:
        shown = token if len(repr(token)) <= 80 else f"{str(token)[:60]}..."
        return InvalidParameterValue(
            f"Invalid page token {shown!r}: {why}. Pass the token from the previous page unchanged, "
            f"or None for the first page.",
            page_token=token,
        )

    if not isinstance(token, str):
        raise invalid(f"expected a string, got {type(token).__name__}")
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        raise invalid("could not base64-decode it") from None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION or "after" not in payload:
        raise invalid("it is not a page token of this registry")
    if payload.get("q") != fingerprint:
        raise invalid("it belongs to a search with a different filter_string or order_by")
    after = payload["after"]
    if not isinstance(after, list) or len(after) != len(ordering.keys):
        raise invalid("its position does not fit this search's order")
    for (attribute, _), value in zip(ordering.keys, after, strict=True):
        expected = str if attribute in _STRING_KEYS else int
        if isinstance(value, bool) or not isinstance(value, expected):
            raise invalid("its position does not fit this search's order")
    return tuple(after)
