"""Reading the journal as an event stream: ``reg.events`` and ``reg.follow``, from any process.

`EventLog.events()` lists the committed events after a sequence number; `EventLog.follow()` polls the
journal and yields what any process commits, in commit order, each event once, so a caller that keeps
``event.seq`` resumes exactly where it left off. A folder's journal is read from a remembered byte offset, so a
poll with nothing new costs a stat and a seek, not a re-read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from registry.domain.events import EventFilter, RegistryEvent, typed
from registry.domain.state import Event
from registry.errors import CorruptRegistry, InvalidParameterValue
from registry.store.base import Store
from registry.store.folder import FolderStore

__all__ = ["EventLog"]


class EventLog:
    """Committed events of a store, read incrementally (a byte offset into a folder's journal).

    Args:
        store: the registry's store.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._hint: tuple[int, int] = (0, 0)  # (seq, journal offset just after it): where the last read ended

    def read(self, since: int, offset: int | None = None) -> tuple[list[Event], int]:
        """Events with ``seq > since`` and the offset to resume from (memory stores ignore offsets)."""
        if not isinstance(self._store, FolderStore):
            return self._store.read_events(since), 0
        if offset is None:
            with self._lock:
                hint_seq, hint_offset = self._hint
            offset = hint_offset if since >= hint_seq else 0
        try:
            events, end = self._store.tail_events(since, offset)
        except CorruptRegistry:
            if offset == 0:
                raise
            events, end = self._store.tail_events(since, 0)  # a replaced journal: the offset meant nothing
        if events:
            with self._lock:
                if events[-1].seq >= self._hint[0]:
                    self._hint = (events[-1].seq, end)
        return events, end

    def events(
        self,
        since: int = 0,
        *,
        types: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RegistryEvent]:
        """Committed events with ``seq > since``, oldest first, filtered, at most ``limit`` of them."""
        since = _check_since(since)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise InvalidParameterValue(f"limit must be a positive integer or None, got {limit!r}.")
        wanted = EventFilter.build(types, model)
        raw, _ = self.read(since)
        chosen = [typed(e) for e in raw if wanted.matches(e)]
        return chosen if limit is None else chosen[:limit]

    def follow(
        self,
        since: int | None = None,
        *,
        types: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        poll_interval: float = 0.1,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[RegistryEvent]:
        """Yield events as any process commits them, in commit order, each once.

        Args:
            since: yield events after this sequence number; ``None`` means "from now on" (only new events).
                To resume after a restart, pass the ``seq`` of the last event you handled.
            types, model: filters, as for `EventBus.subscribe()`.
            poll_interval: seconds between looks at the journal (a look costs one small read).
            timeout: stop after this many seconds; ``None`` follows until the caller stops iterating.
        """
        wanted = EventFilter.build(types, model)
        if not isinstance(poll_interval, int | float) or poll_interval <= 0:
            raise InvalidParameterValue(f"poll_interval must be a positive number of seconds, got {poll_interval!r}.")
        if timeout is not None and (not isinstance(timeout, int | float) or timeout < 0):
            raise InvalidParameterValue(f"timeout must be a non-negative number of seconds, got {timeout!r}.")
        position = self._store.state.seq if since is None else _check_since(since)
        deadline = None if timeout is None else clock() + timeout
        offset: int | None = None
        while True:
            batch, offset = self.read(position, offset)
            for event in batch:
                if event.seq <= position:
                    continue
                position = event.seq
                if wanted.matches(event):
                    yield typed(event)
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    return
                sleep(min(poll_interval, remaining))
            else:
                sleep(poll_interval)


def _check_since(since: Any) -> int:
    if not isinstance(since, int) or isinstance(since, bool) or since < 0:
        raise InvalidParameterValue(f"since must be a sequence number (an integer >= 0), got {since!r}.")
    return since
