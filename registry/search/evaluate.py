"""The evaluator: a syntax tree -> a plain Python predicate over entities, plus what it implies about names.

Semantics (MLflow's, and the extensions' own):

- A condition on a missing value is false: a tag condition (``=``, ``!=``, ``LIKE``, ``ILIKE``) only matches
  entities that carry the tag, and ``run_id != 'x'`` does not match a version without a run id (SQL's NULL).
  ``IS NULL`` / ``IS NOT NULL`` ask about presence instead.
- ``LIKE`` is case-sensitive with ``%`` (any run of characters) and ``_`` (one character) and matches the
  whole value; ``ILIKE`` is the same ignoring case. ``=`` and ``!=`` compare exactly.
- ``alias`` looks at the set of aliases an entity carries: ``alias = 'a'`` holds when ``a`` is one of them,
  ``alias != 'a'`` when it is not, ``IN`` when any listed alias is one of them, ``NOT IN`` when none is,
  ``LIKE`` / ``ILIKE`` when any of them matches, ``IS NULL`` when there are none.

Compiled filters are cached on the filter string, so repeated searches neither parse nor compile again.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Collection
from typing import Any

import attrs

from registry.search.nodes import And, Comparison, Node, Or
from registry.search.parser import parse_filter

__all__ = ["CompiledFilter", "compile_filter", "like_regex"]

Predicate = Callable[[Any], bool]

# Where each attribute lives on the entities (versions name their source ``source`` and number ``version``).
_ATTRIBUTE_PATHS = {
    "name": "name",
    "run_id": "run_id",
    "source_path": "source",
    "version_number": "version",
    "current_stage": "current_stage",
    "description": "description",
    "alias": "aliases",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def like_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """The regular expression equivalent to SQL ``LIKE pattern`` (whole-value match, no escape character)."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@attrs.frozen
class CompiledFilter:
    """A parsed and compiled filter.

    Attributes:
        node: the syntax tree (``None`` when there is no filter).
        predicate: entity -> bool.
        names: the exact set of model names that can match (from ``name = ...`` / ``name IN ...``), or
            ``None`` when the filter does not pin the name down.
        name_predicate: a test every matching entity's name passes, or ``None``; it lets a search skip
            whole models without looking at their versions.
    """

    node: Node | None
    predicate: Predicate
    names: frozenset[str] | None
    name_predicate: Callable[[str], bool] | None


def compile_filter(filter_string: str | None, kind: str) -> CompiledFilter:
    """Parse and compile ``filter_string`` for a search of ``kind`` (cached on the string)."""
    node = parse_filter(filter_string, kind)  # validates the type, so the cache only sees strings
    if node is None:
        return _MATCH_ALL
    return _compile_cached(filter_string, kind)


@functools.lru_cache(maxsize=1024)
def _compile_cached(filter_string: str, kind: str) -> CompiledFilter:
    node = parse_filter(filter_string, kind)
    assert node is not None
    return CompiledFilter(node, _predicate(node), _exact_names(node), _name_predicate(node))


_MATCH_ALL = CompiledFilter(None, lambda _entity: True, None, None)


def _predicate(node: Node) -> Predicate:
    if isinstance(node, (And, Or)):
        parts = tuple(_predicate(child) for child in node.children)
        if len(parts) == 2:  # the common case, without a generator per entity
            first, second = parts
            if isinstance(node, And):
                return lambda entity: first(entity) and second(entity)
            return lambda entity: first(entity) or second(entity)
        if isinstance(node, And):
            return lambda entity: all(part(entity) for part in parts)
        return lambda entity: any(part(entity) for part in parts)
    return _comparison(node)


def _comparison(cmp: Comparison) -> Predicate:
    test = _value_test(cmp)
    if cmp.field.kind == "tag":
        key = cmp.field.key
        if cmp.op == "IS NULL":
            return lambda entity: key not in entity.tags
        if cmp.op == "IS NOT NULL":
            return lambda entity: key in entity.tags
        if cmp.op == "=":
            # One call per entity on the hottest path; a missing tag reads as None, which equals no string.
            wanted = cmp.value
            return lambda entity: entity.tags.get(key) == wanted

        def tag_test(entity: Any) -> bool:
            value = entity.tags.get(key)
            return value is not None and test(value)

        return tag_test

    get = operator.attrgetter(_ATTRIBUTE_PATHS[cmp.field.key])
    if cmp.field.key == "alias":
        return _alias_test(cmp, get)
    if cmp.op == "IS NULL":
        return lambda entity: get(entity) is None
    if cmp.op == "IS NOT NULL":
        return lambda entity: get(entity) is not None
    if cmp.op == "=":
        wanted = cmp.value  # never None, so a missing value never equals it
        return lambda entity: get(entity) == wanted

    def attribute_test(entity: Any) -> bool:
        value = get(entity)
        return value is not None and test(value)

    return attribute_test


def _value_test(cmp: Comparison) -> Callable[[Any], bool]:
    """A test of one present (non-null) value against the comparison's right-hand side."""
    op, rhs = cmp.op, cmp.value
    if op == "=":
        return lambda value: value == rhs
    if op == "!=":
        return lambda value: value != rhs
    if op in _ORDERING:
        compare = _ORDERING[op]
        assert isinstance(rhs, int)  # the parser only allows ordering operators on numeric fields
        bound = rhs
        return lambda value: compare(value, bound)
    if op in ("LIKE", "ILIKE"):
        assert isinstance(rhs, str)
        match = like_regex(rhs, ignore_case=op == "ILIKE").fullmatch
        return lambda value: match(value) is not None
    if op == "IN":
        assert isinstance(rhs, tuple)
        members = frozenset(rhs)
        return lambda value: value in members
    if op == "NOT IN":
        assert isinstance(rhs, tuple)
        excluded = frozenset(rhs)
        return lambda value: value not in excluded
    return lambda value: True  # IS NULL / IS NOT NULL are decided before any value is looked at


def _alias_test(cmp: Comparison, get: Callable[[Any], Collection[str]]) -> Predicate:
    # Registered models hold a dict alias -> version and versions a list of aliases; both iterate over names.
    op, rhs = cmp.op, cmp.value
    if op == "IS NULL":
        return lambda entity: not get(entity)
    if op == "IS NOT NULL":
        return lambda entity: bool(get(entity))
    if op == "=":
        return lambda entity: rhs in get(entity)
    if op == "!=":
        return lambda entity: rhs not in get(entity)
    if op == "IN":
        assert isinstance(rhs, tuple)
        return lambda entity: any(alias in get(entity) for alias in rhs)
    if op == "NOT IN":
        assert isinstance(rhs, tuple)
        return lambda entity: not any(alias in get(entity) for alias in rhs)
    assert isinstance(rhs, str) and op in ("LIKE", "ILIKE")
    match = like_regex(rhs, ignore_case=op == "ILIKE").fullmatch
    return lambda entity: any(match(alias) is not None for alias in get(entity))


def _is_name_condition(node: Node) -> bool:
    return isinstance(node, Comparison) and node.field.kind == "attribute" and node.field.key == "name"


def _exact_names(node: Node) -> frozenset[str] | None:
    """The names a match must have, when ``=`` / ``IN`` on name pin them down; otherwise ``None``."""
    if isinstance(node, And):
        known = [names for child in node.children if (names := _exact_names(child)) is not None]
        return frozenset.intersection(*known) if known else None
    if isinstance(node, Or):
        parts = [_exact_names(child) for child in node.children]
        if any(part is None for part in parts):
            return None
        return frozenset().union(*(part for part in parts if part is not None))
    if _is_name_condition(node):
        if node.op == "=":
            assert isinstance(node.value, str)
            return frozenset({node.value})
        if node.op == "IN":
            assert isinstance(node.value, tuple)
            return frozenset(node.value)
    return None


def _name_predicate(node: Node) -> Callable[[str], bool] | None:
    """A test on the name alone that every match passes (implied by the filter), or ``None``."""
    if isinstance(node, And):
        parts = [p for child in node.children if (p := _name_predicate(child)) is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else (lambda name: all(p(name) for p in parts))
    if isinstance(node, Or):
        alternatives = [_name_predicate(child) for child in node.children]
        if any(p is None for p in alternatives):
            return None
        options = tuple(p for p in alternatives if p is not None)
        return lambda name: any(p(name) for p in options)
    if _is_name_condition(node):
        return _value_test(node)
    return None
