"""``order_by`` clauses: parsing, MLflow's defaults and tie-breakers, and sorting.

A clause is ``<key> [ASC|DESC]`` (direction case-insensitive, any whitespace between, key optionally written
``attribute.<key>`` or in backticks). The parsed form is an `Ordering`: a tuple of (entity attribute,
ascending) pairs that always ends in a total order, because MLflow's tie-breakers are appended:

- registered models: keys ``name``, ``creation_timestamp``, ``last_updated_timestamp`` and ``timestamp`` (the
  SQL store's spelling of ``last_updated_timestamp``); default ``name ASC``; ``name ASC`` is appended when
  ``name`` is not named.
- model versions: keys ``name``, ``version_number``, ``creation_timestamp``, ``last_updated_timestamp``;
  default ``last_updated_timestamp DESC, name ASC, version_number DESC``; ``name ASC`` then
  ``version_number DESC`` are appended when not named.

Naming a field twice is refused (as MLflow's SQL store does), since the second mention could never matter.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

import attrs

from registry.errors import InvalidParameterValue
from registry.search.lexer import BACKTICK, END, STRING, WORD, Token, located_error, tokenize
from registry.search.parser import MODELS, VERSIONS

__all__ = ["Ordering", "parse_order_by"]

# Public key -> the entity attribute it sorts by.
_KEYS = {
    MODELS: {
        "name": "name",
        "creation_timestamp": "creation_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
        "timestamp": "last_updated_timestamp",
    },
    VERSIONS: {
        "name": "name",
        "version_number": "version",
        "creation_timestamp": "creation_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
    },
}
_DEFAULTS = {
    MODELS: (("name", True),),
    VERSIONS: (("last_updated_timestamp", False), ("name", True), ("version", False)),
}
_TIE_BREAKERS = {
    MODELS: (("name", True),),
    VERSIONS: (("name", True), ("version", False)),
}


@attrs.frozen
class Ordering:
    """A total order over entities: (attribute, ascending) pairs, most significant first."""

    keys: tuple[tuple[str, bool], ...]

    def sort(self, entities: list[Any]) -> None:
        """Sort ``entities`` in place.

        One stable pass per key, least significant first: each pass is a C-level sort on one attribute, and
        ``reverse=True`` keeps ties in their previous order, so descending strings need no wrapper objects.
        """
        for attribute, ascending in reversed(self.keys):
            entities.sort(key=attrgetter(attribute), reverse=not ascending)

    def key_of(self, entity: Any) -> tuple[Any, ...]:
        """The values this order compares, for an entity (what page tokens remember)."""
        return tuple(getattr(entity, attribute) for attribute, _ in self.keys)

    def after(self, key: Sequence[Any], entity_key: Sequence[Any]) -> bool:
        """Whether an entity with ``entity_key`` comes strictly after one with ``key`` in this order."""
        for (_, ascending), mine, theirs in zip(self.keys, key, entity_key, strict=True):
            if mine != theirs:
                return (theirs > mine) if ascending else (theirs < mine)
        return False

    def first_after(self, entities: Sequence[Any], key: Sequence[Any]) -> int:
        """The index of the first of the sorted ``entities`` that comes strictly after ``key`` (binary search)."""
        lo, hi = 0, len(entities)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.after(key, self.key_of(entities[mid])):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def describe(self) -> str:
        """A canonical text form (``name ASC, version DESC``), stable across processes."""
        return ", ".join(f"{attribute} {'ASC' if asc else 'DESC'}" for attribute, asc in self.keys)


def parse_order_by(order_by: Iterable[str] | str | None, kind: str) -> Ordering:
    """Parse ``order_by`` for a search of ``kind``, adding the default or the tie-breakers.

    A single string is taken as a one-clause list.

    Raises:
        InvalidParameterValue: for a malformed clause, an unknown key or a key named twice.
    """
    if order_by is None:
        clauses: tuple[str, ...] = ()
    elif isinstance(order_by, str):
        clauses = (order_by,)
    else:
        try:
            clauses = tuple(order_by)
        except TypeError:
            raise InvalidParameterValue(
                f"order_by must be a list of strings such as ['name ASC'], not {type(order_by).__name__}.",
                order_by=order_by,
            ) from None
        for clause in clauses:
            if not isinstance(clause, str):
                raise InvalidParameterValue(
                    f"order_by must be a list of strings such as ['name ASC']; found {clause!r}.",
                    order_by=order_by,
                )
    return _parse_cached(clauses, kind)


@functools.lru_cache(maxsize=256)
def _parse_cached(clauses: tuple[str, ...], kind: str) -> Ordering:
    if not clauses:
        return Ordering(_DEFAULTS[kind])
    keys: list[tuple[str, bool]] = []
    seen: dict[str, str] = {}
    for clause in clauses:
        attribute, ascending, public = _parse_clause(clause, kind)
        if attribute in seen:
            raise InvalidParameterValue(
                f"`order_by` contains duplicate fields: {list(clauses)!r} ({public!r} orders by the same field "
                f"as {seen[attribute]!r}); name each field once.",
                order_by=list(clauses),
            )
        seen[attribute] = public
        keys.append((attribute, ascending))
    for attribute, ascending in _TIE_BREAKERS[kind]:
        if attribute not in seen:
            keys.append((attribute, ascending))
    return Ordering(tuple(keys))


def _parse_clause(clause: str, kind: str) -> tuple[str, bool, str]:
    def error(what: str, tok: Token) -> InvalidParameterValue:
        return located_error(what, clause, tok.start, tok.end, subject="order_by clause")

    tokens = tokenize(clause, subject="order_by clause")
    valid = ", ".join(_KEYS[kind])
    pos = 0
    tok = tokens[0]
    if tok.kind == END:
        raise error(f"the clause is empty; name a field: {valid}", tok)
    if tok.kind == WORD and tok.text == "attribute" and tokens[1].kind == "DOT" and tokens[1].start == tok.end:
        pos = 2
        tok = tokens[pos]
    if tok.kind == WORD and tok.text in ("tags", "tag") and tokens[pos + 1].kind == "DOT":
        raise error(f"ordering by tags is not supported; order by one of {valid}", tok)
    if tok.kind in (BACKTICK, STRING):
        key = tok.text[1:-1]
    elif tok.kind == WORD:
        key = tok.text
    else:
        raise error(f"expected a field name ({valid}), found {tok.text!r}", tok)
    if key not in _KEYS[kind]:
        raise error(f"Invalid order by key {key!r} specified; valid keys are {valid}", tok)
    direction = tokens[pos + 1]
    ascending = True
    if direction.kind != END:
        if not direction.is_word("ASC", "DESC"):
            raise error(f"expected ASC or DESC after {key!r}, found {direction.text!r}", direction)
        ascending = direction.upper == "ASC"
        trailing = tokens[pos + 2]
        if trailing.kind != END:
            raise error(f"unexpected {trailing.text!r} after the direction", trailing)
    return _KEYS[kind][key], ascending, clause
