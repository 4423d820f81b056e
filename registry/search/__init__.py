"""Search over registered models and model versions with MLflow's filter language, ordering and paging.

Pure domain code: it reads a registry state through five methods (``names()``, ``has_model(name)``,
``registered_model(name)``, ``model_versions(name)``, ``all_model_versions()``) and never touches files.

Layout: :mod:`.lexer` (text -> tokens with spans) -> :mod:`.parser` (tokens -> checked syntax tree of
:mod:`.nodes`) -> :mod:`.evaluate` (tree -> predicate), :mod:`.ordering` (``order_by``) and :mod:`.paging`
(``max_results``, page tokens, :class:`PagedList`).

How a search avoids work:

- a filter that pins the name (``name = 'x'``, ``name IN (...)``) only looks at those models' versions; one
  that constrains the name otherwise (``name LIKE 'churn-%'``) tests names first and skips whole models;
- everything else scans a list already sorted in the requested order, kept per state and order and rebuilt
  only when the state's revision (``state.seq``) moves, so a warm search filters in one pass and stops as
  soon as the page is full.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from registry.entities import ModelVersion, RegisteredModel
from registry.search.evaluate import CompiledFilter, compile_filter
from registry.search.ordering import Ordering, parse_order_by
from registry.search.paging import (
    PagedList,
    check_max_results,
    decode_token,
    encode_token,
    search_fingerprint,
)
from registry.search.parser import MODELS, VERSIONS, parse_filter

__all__ = [
    "MAX_RESULTS_MODELS",
    "MAX_RESULTS_VERSIONS",
    "PagedList",
    "SearchableState",
    "parse_filter",
    "search_model_versions",
    "search_registered_models",
]

#: MLflow's limits on one page.
MAX_RESULTS_MODELS = 1000
MAX_RESULTS_VERSIONS = 200_000


class SearchableState(Protocol):
    """What search needs from a registry state (``registry.state.RegistryState`` provides it)."""

    def names(self) -> list[str]: ...
    def has_model(self, name: str) -> bool: ...
    def registered_model(self, name: str) -> RegisteredModel: ...
    def model_versions(self, name: str) -> list[ModelVersion]: ...
    def all_model_versions(self) -> Iterable[ModelVersion]: ...


def search_registered_models(
    state: SearchableState,
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList[RegisteredModel]:
    """Registered models matching ``filter_string``, one page of them, in ``order_by`` order.

    Args:
        state: the registry state to search.
        filter_string: e.g. ``"name LIKE 'churn-%' AND tags.team = 'risk'"``; ``None`` matches all.
        max_results: the page size, 1 to 1,000.
        order_by: clauses such as ``["last_updated_timestamp DESC"]``; default ``name ASC``.
        page_token: the ``token`` of the previous page, or ``None`` for the first page.

    Returns:
        A :class:`PagedList`; its ``token`` fetches the next page and is ``None`` on the last one.

    Raises:
        InvalidParameterValue: for a malformed filter, order, page size or page token.
    """
    max_results = check_max_results(max_results, MAX_RESULTS_MODELS)
    compiled = compile_filter(filter_string, MODELS)
    ordering = parse_order_by(order_by, MODELS)

    def matching_names() -> list[str]:
        if compiled.names is not None:
            return [name for name in compiled.names if state.has_model(name)]
        test = compiled.name_predicate
        return state.names() if test is None else [name for name in state.names() if test(name)]

    def all_sorted() -> list[RegisteredModel]:
        models = [state.registered_model(name) for name in state.names()]
        ordering.sort(models)
        return models

    narrowed = compiled.names is not None or compiled.name_predicate is not None
    return _page(
        state,
        MODELS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        narrowed=(lambda: [state.registered_model(n) for n in matching_names()]) if narrowed else None,
        all_sorted=all_sorted,
    )


def search_model_versions(
    state: SearchableState,
    filter_string: str | None = None,
    max_results: int = 10_000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList[ModelVersion]:
    """Model versions matching ``filter_string``, one page of them, in ``order_by`` order.

    Args:
        state: the registry state to search.
        filter_string: e.g. ``"name = 'fraud' AND tags.validation_status = 'passed'"``; ``None`` matches all.
        max_results: the page size, 1 to 200,000.
        order_by: clauses such as ``["version_number DESC"]``; default
            ``last_updated_timestamp DESC, name ASC, version_number DESC``.
        page_token: the ``token`` of the previous page, or ``None`` for the first page.

    Returns:
        A :class:`PagedList` of versions (with their aliases); its ``token`` fetches the next page and is
        ``None`` on the last one.

    Raises:
        InvalidParameterValue: for a malformed filter, order, page size or page token.
    """
    max_results = check_max_results(max_results, MAX_RESULTS_VERSIONS)
    compiled = compile_filter(filter_string, VERSIONS)
    ordering = parse_order_by(order_by, VERSIONS)

    def narrowed() -> list[ModelVersion]:
        if compiled.names is not None:
            names = [name for name in compiled.names if state.has_model(name)]
        else:
            test = compiled.name_predicate
            assert test is not None
            names = [name for name in state.names() if test(name)]
        return [mv for name in names for mv in state.model_versions(name)]

    def all_sorted() -> list[ModelVersion]:
        versions = list(state.all_model_versions())
        ordering.sort(versions)
        return versions

    is_narrowed = compiled.names is not None or compiled.name_predicate is not None
    return _page(
        state,
        VERSIONS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        narrowed=narrowed if is_narrowed else None,
        all_sorted=all_sorted,
    )


def _page(
    state: Any,
    kind: str,
    filter_string: str | None,
    compiled: CompiledFilter,
    ordering: Ordering,
    max_results: int,
    page_token: str | None,
    *,
    narrowed: Callable[[], list[Any]] | None,
    all_sorted: Callable[[], list[Any]],
) -> PagedList[Any]:
    fingerprint = search_fingerprint(kind, filter_string, ordering)
    after = decode_token(page_token, fingerprint, ordering)
    predicate = compiled.predicate
    if narrowed is not None:
        # Few candidates: filter them, then sort only what matched.
        ordered = [entity for entity in narrowed() if predicate(entity)]
        ordering.sort(ordered)
        start = ordering.first_after(ordered, after) if after is not None else 0
        page = ordered[start : start + max_results]
        more = len(ordered) > start + max_results
    else:
        ordered = _sorted_cache(state, kind, ordering, all_sorted)
        start = ordering.first_after(ordered, after) if after is not None else 0
        if compiled.node is None:
            page = ordered[start : start + max_results]
            more = len(ordered) > start + max_results
        else:
            # Scan in order and stop one past a full page: that one only tells whether a next page exists.
            page = []
            more = False
            for entity in _from(ordered, start):
                if predicate(entity):
                    if len(page) == max_results:
                        more = True
                        break
                    page.append(entity)
    token = encode_token(fingerprint, ordering.key_of(page[-1])) if more and page else None
    return PagedList(page, token)


def _from(items: list[Any], start: int) -> Iterable[Any]:
    return items if start == 0 else (items[i] for i in range(start, len(items)))


# -- the sorted-list cache ------------------------------------------------------------------------------------
# Keyed on the state object (weakly, so a dropped state frees its lists) and checked against state.seq, the
# revision every applied event moves, so a list is never served after any process's write has been applied.
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, Ordering], tuple[int, list[Any]]]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()
_MAX_ORDERINGS_PER_STATE = 8


def _sorted_cache(state: Any, kind: str, ordering: Ordering, build: Callable[[], list[Any]]) -> list[Any]:
    seq = getattr(state, "seq", None)
    if not isinstance(seq, int):
        return build()
    try:
        with _CACHE_LOCK:
            per_state = _CACHE.setdefault(state, {})
    except TypeError:  # a state that cannot be weakly referenced is simply not cached
        return build()
    entry = per_state.get((kind, ordering))
    if entry is not None and entry[0] == seq:
        return entry[1]
    items = build()
    with _CACHE_LOCK:
        if len(per_state) >= _MAX_ORDERINGS_PER_STATE:
            per_state.clear()
        per_state[(kind, ordering)] = (seq, items)
    return items
