"""Every version (or model) of a state in one search order, kept up to date by the changes, never re-sorted.

A search that no index narrows (no filter, ``tags.x LIKE '%y'``, ``version_number > 3``) scans entities in
the requested order and stops when its page is full. The sorted list it scans is built once per state and
order (on the second such search, so a one-off search in a cold process sorts only its matches), then brought
forward on each later search by the changes the state's indexes logged since
(`registry.domain.indexes.ChangeLog`): each changed entity is taken out at its old place and put in at
its new one by binary search. Only a list further behind than the log keeps, or behind by more changes than
re-sorting would cost, is sorted again.

A state without indexes (any other `registry.search.SearchableState`) gets a list per revision
(``state.seq``), sorted again after each change.

Views are keyed on the state object (weakly: a dropped state frees its lists), so a store that replaces its
state (a reload) starts afresh.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from registry.search.ordering import Ordering
from registry.search.parser import MODELS

__all__ = ["sorted_view"]

_MAX_ORDERINGS_PER_STATE = 8


class _View:
    __slots__ = ("count", "items")

    def __init__(self, items: list[Any] | None, count: int) -> None:
        self.items, self.count = items, count


_VIEWS: weakref.WeakKeyDictionary[Any, dict[tuple[str, Ordering], _View]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def sorted_view(
    state: Any, kind: str, ordering: Ordering, everything: Callable[[], list[Any]], *, eager: bool
) -> list[Any] | None:
    """Every entity of ``kind`` in ``ordering``'s order for the state as it is now, or ``None`` ("filter
    instead": the first search of a state in this order, unless ``eager``).

    The list is the view's own: callers read it and must not change it.
    """
    indexes = getattr(state, "indexes", None)
    if indexes is None:
        return _by_revision(state, kind, ordering, everything, eager=eager)
    log = indexes.model_log if kind == MODELS else indexes.version_log
    try:
        with _LOCK:
            per_state = _VIEWS.setdefault(state, {})
    except TypeError:  # a state that cannot be weakly referenced is simply not cached
        return None
    key = (kind, ordering)
    with _LOCK:
        view = per_state.get(key)
        if view is None or view.items is None:
            if not eager and view is None:
                per_state[key] = _View(None, log.count)
                return None
            return _build(per_state, key, log.count, ordering, everything)
        changes = log.since(view.count)
        if changes is None or len(changes) > len(view.items) // 4 + 64:
            return _build(per_state, key, log.count, ordering, everything)
        if changes:
            done = (
                _apply_models(state, view.items, changes, ordering)
                if kind == MODELS
                else _apply_versions(view.items, changes, ordering)
            )
            if not done:
                return _build(per_state, key, log.count, ordering, everything)
            view.count = log.count
        return view.items


def _by_revision(
    state: Any, kind: str, ordering: Ordering, everything: Callable[[], list[Any]], *, eager: bool
) -> list[Any] | None:
    """For a state without indexes (no change log): a list per ``state.seq``, sorted again when it moves."""
    seq = getattr(state, "seq", None)
    if not isinstance(seq, int):
        return None
    try:
        with _LOCK:
            per_state = _VIEWS.setdefault(state, {})
    except TypeError:
        return None
    key = (kind, ordering)
    with _LOCK:
        view = per_state.get(key)
        if view is not None and view.count == seq and view.items is not None:
            return view.items
        if not eager and (view is None or view.count != seq):
            per_state[key] = _View(None, seq)
            return None
        return _build(per_state, key, seq, ordering, everything)


def _build(
    per_state: dict[tuple[str, Ordering], _View],
    key: tuple[str, Ordering],
    count: int,
    ordering: Ordering,
    everything: Callable[[], list[Any]],
) -> list[Any]:
    items = everything()
    ordering.sort(items)
    if len(per_state) >= _MAX_ORDERINGS_PER_STATE:
        per_state.clear()
    per_state[key] = _View(items, count)
    return items


def _take_out(items: list[Any], entity: Any, ordering: Ordering) -> bool:
    # Orders are total (the tie-breakers end in name and version), so an entity's key names one place.
    index = ordering.first_after(items, ordering.key_of(entity)) - 1
    if index >= 0 and items[index] is entity:
        del items[index]
        return True
    return False


def _put_in(items: list[Any], entity: Any, ordering: Ordering) -> None:
    items.insert(ordering.first_after(items, ordering.key_of(entity)), entity)


def _apply_versions(items: list[Any], changes: list[tuple[Any, Any]], ordering: Ordering) -> bool:
    """Replay ``(old, new)`` version changes on the list; ``False`` if an old version is not where it must be."""
    for old, new in changes:
        if old is not None and not _take_out(items, old, ordering):
            return False
        if new is not None:
            _put_in(items, new, ordering)
    return True


def _apply_models(state: Any, items: list[Any], changes: list[tuple[Any, Any]], ordering: Ordering) -> bool:
    """Take out each changed model's entity as the list holds it, put in its entity now (if it still exists)."""
    for _model_id, before in changes:
        if before is not None:
            # An entity built after the list was updated was never in it: nothing to take out.
            _take_out(items, before, ordering)
    for model_id in dict.fromkeys(model_id for model_id, _ in changes):
        entity = state.registered_model_by_id(model_id)
        if entity is not None:
            _take_out(items, entity, ordering)  # already in (a change that left it as it was): not twice
            _put_in(items, entity, ordering)
    return len(items) == state.model_count()
