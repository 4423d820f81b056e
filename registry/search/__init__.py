"""Search over registered models and model versions with MLflow's filter language, ordering and paging.

Pure domain code: it reads a registry state through five methods (``names()``, ``has_model(name)``,
``registered_model(name)``, ``model_versions(name)``, ``all_model_versions()``) and never touches files.

Layout: :mod:`.lexer` (text -> tokens with spans) -> :mod:`.parser` (tokens -> checked syntax tree of
:mod:`.nodes`) -> :mod:`.evaluate` (tree -> predicate), :mod:`.ordering` (``order_by``) and :mod:`.paging`
(``max_results``, page tokens, :class:`PagedList`).

How a search avoids work:

- a filter that pins the name (``name = 'x'``, ``name IN (...)``) only looks at those models' versions; one
  that constrains the name otherwise (``name LIKE 'churn-%'``) tests names first and skips whole models;
- everything else filters all entities and sorts the matches the first time a revision of the state is
  searched; from the second search of the same revision on, it scans a list already sorted in the requested
  order (kept per state and order, rebuilt when ``state.seq`` moves), so a warm search filters in one pass and
  stops as soon as the page is full.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Protocol

from registry.domain.entities import ModelVersion, RegisteredModel
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
    """What search needs from a registry state (``registry.domain.state.RegistryState`` provides it)."""

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

    narrowed = compiled.names is not None or compiled.name_predicate is not None
    return _page(
        state,
        MODELS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        candidates=(lambda: [state.registered_model(n) for n in matching_names()]) if narrowed else None,
        everything=lambda: [state.registered_model(name) for name in state.names()],
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

    is_narrowed = compiled.names is not None or compiled.name_predicate is not None
    return _page(
        state,
        VERSIONS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        candidates=narrowed if is_narrowed else None,
        everything=lambda: list(state.all_model_versions()),
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
    candidates: Callable[[], list[Any]] | None,
    everything: Callable[[], list[Any]],
) -> PagedList[Any]:
    fingerprint = search_fingerprint(kind, filter_string, ordering)
    after = decode_token(page_token, fingerprint, ordering)
    predicate = compiled.predicate
    ordered = None
    if candidates is None:
        # A filter-only search sorts everything only when this revision is searched a second time: a one-off
        # search (a cold process, the first search after a write) filters first and sorts just the matches.
        ordered = _sorted_cache(state, kind, ordering, everything, eager=compiled.node is None)
    if ordered is None:
        matches = [entity for entity in (everything() if candidates is None else candidates()) if predicate(entity)]
        ordering.sort(matches)
        start = ordering.first_after(matches, after) if after is not None else 0
        page = matches[start : start + max_results]
        more = len(matches) > start + max_results
    else:
        start = ordering.first_after(ordered, after) if after is not None else 0
        if compiled.node is None:
            page = ordered[start : start + max_results]
            more = len(ordered) > start + max_results
        else:
            # Scan in order and stop one past a full page: that one only tells whether a next page exists.
            # islice and filter keep the loop in C; only the predicate runs Python code per entity.
            page = list(islice(filter(predicate, islice(ordered, start, None)), max_results + 1))
            more = len(page) > max_results
            del page[max_results:]
    token = encode_token(fingerprint, ordering.key_of(page[-1])) if more and page else None
    return PagedList(page, token)


# -- the sorted-list cache ------------------------------------------------------------------------------------
# Keyed on the state object (weakly, so a dropped state frees its lists) and checked against state.seq, the
# revision every applied event moves, so a list is never served after any process's write has been applied.
# An entry is (seq, sorted list or None); None records that this revision has been searched once.
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, Ordering], tuple[int, list[Any] | None]]] = (
    weakref.WeakKeyDictionary()
)
_CACHE_LOCK = threading.Lock()
_MAX_ORDERINGS_PER_STATE = 8


def _sorted_cache(
    state: Any, kind: str, ordering: Ordering, everything: Callable[[], list[Any]], *, eager: bool
) -> list[Any] | None:
    """Every entity in ``ordering``'s order for this revision of ``state``, or ``None`` ("filter instead").

    ``None`` is returned the first time a revision is searched unless ``eager`` (a search without a filter
    needs everything sorted anyway); from the second search on, the sorted list is built once and reused.
    """
    seq = getattr(state, "seq", None)
    if not isinstance(seq, int):
        return None
    try:
        with _CACHE_LOCK:
            per_state = _CACHE.setdefault(state, {})
    except TypeError:  # a state that cannot be weakly referenced is simply not cached
        return None
    key = (kind, ordering)
    entry = per_state.get(key)
    if entry is not None and entry[0] == seq and entry[1] is not None:
        return entry[1]
    if not eager and (entry is None or entry[0] != seq):
        with _CACHE_LOCK:
            per_state[key] = (seq, None)
        return None
    items = everything()
    ordering.sort(items)
    with _CACHE_LOCK:
        if len(per_state) >= _MAX_ORDERINGS_PER_STATE:
            per_state.clear()
        per_state[key] = (seq, items)
    return items
