"""The search planner: which entities a filter can match, from the state's indexes, without a scan.

A filter's conditions that an index answers exactly (``=`` and ``IN`` on tags, aliases, the stage and the run
id; ``=``, ``IN`` and ``LIKE 'prefix%'`` on the name) each name a candidate set. For an ``AND`` the planner
takes the most selective one (the smallest estimate, which costs nothing to compute: posting sizes, name
counts); for an ``OR`` the union when every branch has one. The whole filter is then evaluated by the ordinary
predicate (`registry.search.evaluate`) on the candidates only, so the planner may over-approximate
(a ``LIKE 'ab%cd'`` name prefix) but never misses a match: the property test in
``tests/search/test_index_property.py`` checks every indexed search against the unindexed evaluator.

A state offers the indexes through `IndexedState` (``registry.domain.state.RegistryState`` does); for
any other state `plan()` returns ``None`` and the search scans.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs

from registry.domain.entities import ModelVersion
from registry.search.nodes import And, Comparison, Node, Or
from registry.search.parser import MODELS

__all__ = ["IndexedState", "Plan", "like_prefix", "plan"]


@runtime_checkable
class IndexedState(Protocol):
    """What the planner needs from a state, beyond `registry.search.SearchableState`."""

    def has_model(self, name: str) -> bool: ...
    def model_versions(self, name: str) -> list[ModelVersion]: ...
    def names_with_prefix(self, prefix: str) -> list[str]: ...
    def version_postings(self, key: tuple[str, ...]) -> list[ModelVersion]: ...
    def model_postings(self, key: tuple[str, ...]) -> list[str]: ...
    def posting_estimate(self, key: tuple[str, ...]) -> int: ...


@attrs.frozen
class Plan:
    """A candidate set not yet fetched: its estimated size and how to fetch it.

    ``fetch`` returns versions for a version search and model names for a model search; fetching may load
    pending models (so it runs only for the plan chosen).
    """

    estimate: int
    fetch: Callable[[], list[Any]]


# Estimated versions per model, for ranking a name condition against a posting (only the order matters).
_VERSIONS_PER_NAME = 100

_VERSION_FIELDS = {"alias": "alias", "current_stage": "stage", "run_id": "run_id"}
_MODEL_FIELDS = {"alias": "model_alias"}


def like_prefix(pattern: str) -> str:
    """The literal text a ``LIKE`` pattern's matches start with (up to its first ``%`` or ``_``)."""
    for index, char in enumerate(pattern):
        if char in "%_":
            return pattern[:index]
    return pattern


def plan(node: Node | None, kind: str, state: Any) -> Plan | None:
    """The candidate set the indexes give for ``node``, or ``None`` when a scan is needed."""
    if node is None or not isinstance(state, IndexedState):
        return None
    return _plan(node, kind, state)


def _plan(node: Node, kind: str, state: IndexedState) -> Plan | None:
    if isinstance(node, And):
        plans = [p for child in node.children if (p := _plan(child, kind, state)) is not None]
        return min(plans, key=lambda p: p.estimate) if plans else None
    if isinstance(node, Or):
        plans = []
        for child in node.children:
            p = _plan(child, kind, state)
            if p is None:
                return None
            plans.append(p)
        return _union(plans, kind)
    return _comparison(node, kind, state)


def _union(plans: list[Plan], kind: str) -> Plan:
    def fetch() -> list[Any]:
        if kind == MODELS:
            return list(dict.fromkeys(name for p in plans for name in p.fetch()))
        # Versions are not hashable (their tags are a dict): one entry per object.
        seen: dict[int, ModelVersion] = {}
        for p in plans:
            for mv in p.fetch():
                seen.setdefault(id(mv), mv)
        return list(seen.values())

    return Plan(sum(p.estimate for p in plans), fetch)


def _comparison(cmp: Comparison, kind: str, state: IndexedState) -> Plan | None:
    field, op, value = cmp.field, cmp.op, cmp.value
    if op not in ("=", "IN") and not (op == "LIKE" and field.kind == "attribute" and field.key == "name"):
        return None
    values: tuple[str, ...] = value if isinstance(value, tuple) else (value,) if isinstance(value, str) else ()
    if not values:
        return None
    if field.kind == "attribute" and field.key == "name":
        return _names_plan(state, kind, op, values)
    keys: list[tuple[str, ...]]
    if field.kind == "tag":
        prefix = "model_tag" if kind == MODELS else "tag"
        keys = [(prefix, field.key, v) for v in values]
    else:
        fields = _MODEL_FIELDS if kind == MODELS else _VERSION_FIELDS
        if field.key not in fields:
            return None
        keys = [(fields[field.key], v) for v in values]
    keys = list(dict.fromkeys(keys))
    estimate = sum(state.posting_estimate(key) for key in keys)
    postings = state.model_postings if kind == MODELS else state.version_postings
    if len(keys) == 1:
        return Plan(estimate, lambda: postings(keys[0]))
    parts = [Plan(0, functools.partial(postings, key)) for key in keys]
    return Plan(estimate, _union(parts, kind).fetch)


def _names_plan(state: IndexedState, kind: str, op: str, values: tuple[str, ...]) -> Plan | None:
    if op == "LIKE":
        prefix = like_prefix(values[0])
        if not prefix:
            return None
        names = state.names_with_prefix(prefix)
    else:
        names = [name for name in dict.fromkeys(values) if state.has_model(name)]
    if kind == MODELS:
        return Plan(len(names), lambda: names)
    return Plan(len(names) * _VERSIONS_PER_NAME, lambda: [mv for name in names for mv in state.model_versions(name)])
