"""Search over registered models and model versions with MLflow's filter language, ordering and paging.

Pure domain code: it reads a registry state through five methods (``names()``, ``has_model(name)``,
``registered_model(name)``, ``model_versions(name)``, ``all_model_versions()``) and never touches files.

Layout: `.lexer` (text -> tokens with spans) -> `.parser` (tokens -> checked syntax tree of
`.nodes`) -> `.evaluate` (tree -> predicate), `.ordering` (``order_by``) and `.paging`
(``max_results``, page tokens, `PagedList`).

How a search avoids work:

- `.planner` picks the most selective condition the state's indexes answer (``=`` / ``IN`` on tags,
  aliases, stage, run id and name, ``name LIKE 'prefix%'``); the whole filter is evaluated on those candidates
  only and just the matches are sorted, so a selective search costs O(matches), not O(versions);
- a filter that constrains the name otherwise (``name LIKE '%-prod'``) tests names first and skips whole
  models;
- everything else scans a list already sorted in the requested order (`.sorted_views`: built on the
  second such search of a state, then brought forward by the changes since, never re-sorted after a write)
  and stops as soon as the page is full; the first such search filters everything and sorts just the matches.
"""

from __future__ import annotations

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
from registry.search.planner import plan
from registry.search.sorted_views import sorted_view

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
        A `PagedList`; its ``token`` fetches the next page and is ``None`` on the last one.

    Raises:
        InvalidParameterValue: for a malformed filter, order, page size or page token.
    """
    max_results = check_max_results(max_results, MAX_RESULTS_MODELS)
    compiled = compile_filter(filter_string, MODELS)
    ordering = parse_order_by(order_by, MODELS)
    candidates: Callable[[], list[Any]] | None = None
    planned = plan(compiled.node, MODELS, state)
    if planned is not None:
        candidates = lambda: [state.registered_model(n) for n in planned.fetch()]  # noqa: E731
    elif compiled.names is not None or compiled.name_predicate is not None:
        candidates = lambda: [state.registered_model(n) for n in _matching_names(state, compiled)]  # noqa: E731
    return _page(
        state,
        MODELS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        candidates=candidates,
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
        A `PagedList` of versions (with their aliases); its ``token`` fetches the next page and is
        ``None`` on the last one.

    Raises:
        InvalidParameterValue: for a malformed filter, order, page size or page token.
    """
    max_results = check_max_results(max_results, MAX_RESULTS_VERSIONS)
    compiled = compile_filter(filter_string, VERSIONS)
    ordering = parse_order_by(order_by, VERSIONS)
    candidates: Callable[[], list[Any]] | None = None
    planned = plan(compiled.node, VERSIONS, state)
    if planned is not None:
        candidates = planned.fetch
    elif compiled.names is not None or compiled.name_predicate is not None:
        candidates = lambda: [  # noqa: E731
            mv for name in _matching_names(state, compiled) for mv in state.model_versions(name)
        ]
    return _page(
        state,
        VERSIONS,
        filter_string,
        compiled,
        ordering,
        max_results,
        page_token,
        candidates=candidates,
        everything=lambda: list(state.all_model_versions()),
    )


def _matching_names(state: SearchableState, compiled: CompiledFilter) -> list[str]:
    if compiled.names is not None:
        return [name for name in compiled.names if state.has_model(name)]
    test = compiled.name_predicate
    assert test is not None
    return [name for name in state.names() if test(name)]


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
        # A search no index narrows scans a sorted list; a state's first such search filters everything and
        # sorts just the matches instead (a one-off search in a cold process never sorts everything).
        ordered = sorted_view(state, kind, ordering, everything, eager=compiled.node is None)
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
