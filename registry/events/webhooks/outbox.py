"""Where delivery progress is kept: per hook a cursor (the last journal seq handled), the retries still owed, and
a log of recent deliveries.

The journal is the outbox: an event is owed to a hook from the moment it commits, whether or not any process
is running a worker. The cursor only moves *after* a delivery succeeded (or was given up), and is saved before
the next one starts, so a crash anywhere loses nothing; at worst the one delivery in flight is repeated
(at-least-once; its ``X-MLflow-Delivery-Id`` is the same, so receivers can drop it).

A folder registry keeps this in ``<root>/webhooks/outbox.json`` (replaced atomically), guarded by its own lock
``<root>/webhooks/.lock`` so that one worker at a time delivers (no two processes send the same event) and
registry writers never wait for it. A memory registry keeps it in memory.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from registry.errors import CorruptRegistry
from registry.store.base import Store
from registry.store.files import atomic_write_json, read_json
from registry.store.folder import FolderStore
from registry.store.locking import LockTimeout, ProcessLock

__all__ = ["FolderOutbox", "MemoryOutbox", "Outbox", "OutboxBusy", "empty_doc", "outbox_for"]

log = logging.getLogger(__name__)

FOLDER = "webhooks"
FORMAT = 1


class OutboxBusy(Exception):
    """Another worker holds the outbox (it will deliver; try again later)."""


def empty_doc() -> dict[str, Any]:
    return {"format": FORMAT, "cursors": {}, "retries": {}, "log": {}, "table": None}


class Outbox(abc.ABC):
    """Load and save the delivery state under an exclusive lock."""

    @abc.abstractmethod
    def locked(self, timeout: float) -> contextlib.AbstractContextManager[None]:
        """Exclusive access to the delivery state; raises OutboxBusy after ``timeout`` seconds."""

    @abc.abstractmethod
    def load(self) -> dict[str, Any]:
        """The saved delivery state (an empty one when there is none)."""

    @abc.abstractmethod
    def save(self, doc: dict[str, Any]) -> None:
        """Replace the saved delivery state (atomically)."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether any hook was ever defined here (a cheap hint for writers deciding to start a worker)."""

    def prepare(self) -> None:  # noqa: B027 - an optional hook: most outboxes need no preparation
        """Called before a hook is first defined (see `exists()`)."""


class FolderOutbox(Outbox):
    def __init__(self, root: str, *, durable: bool) -> None:
        self.folder = os.path.join(root, FOLDER)
        self.path = os.path.join(self.folder, "outbox.json")
        self.durable = durable
        self._lock = ProcessLock(os.path.join(self.folder, ".lock"))
        # The process lock does not exclude threads of this process, so they need their own exclusion.
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        os.makedirs(self.folder, exist_ok=True)
        if not (self._threads.acquire(timeout=timeout) if timeout > 0 else self._threads.acquire(blocking=False)):
            raise OutboxBusy(self.folder)
        try:
            try:
                self._lock.acquire(timeout=timeout)
            except LockTimeout:
                raise OutboxBusy(self.folder) from None
            try:
                yield
            finally:
                self._lock.release()
        finally:
            self._threads.release()

    def load(self) -> dict[str, Any]:
        try:
            doc = read_json(self.path)
        except FileNotFoundError:
            return empty_doc()
        except CorruptRegistry:
            # Only delivery progress is lost; the journal still holds every event. Cursors start again at each
            # hook's creation: receivers may see repeats (same delivery ids), never a gap.
            log.warning("registry: %s is damaged; webhook deliveries restart from each hook's creation", self.path)
            return empty_doc()
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            log.warning("registry: %s has an unknown format; webhook deliveries restart", self.path)
            return empty_doc()
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        atomic_write_json(self.path, doc, durable=self.durable)

    def exists(self) -> bool:
        return os.path.isdir(self.folder)

    def prepare(self) -> None:
        os.makedirs(self.folder, exist_ok=True)


class MemoryOutbox(Outbox):
    def __init__(self) -> None:
        self._doc = empty_doc()
        self._lock = threading.Lock()
        self._defined = False

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        acquired = self._lock.acquire(timeout=timeout) if timeout > 0 else self._lock.acquire(blocking=False)
        if not acquired:
            raise OutboxBusy("memory")
        try:
            yield
        finally:
            self._lock.release()

    def load(self) -> dict[str, Any]:
        return copy.deepcopy(self._doc)

    def save(self, doc: dict[str, Any]) -> None:
        self._doc = copy.deepcopy(doc)

    def exists(self) -> bool:
        return self._defined

    def prepare(self) -> None:
        self._defined = True


# Registry objects sharing one named memory store must share its outbox, or two workers would deliver twice.
_memory_outboxes: weakref.WeakKeyDictionary[Store, MemoryOutbox] = weakref.WeakKeyDictionary()
_memory_lock = threading.Lock()


def outbox_for(store: Store) -> Outbox:
    if isinstance(store, FolderStore):
        return FolderOutbox(store.root, durable=store.durable)
    with _memory_lock:
        outbox = _memory_outboxes.get(store)
        if outbox is None:
            outbox = _memory_outboxes[store] = MemoryOutbox()
        return outbox
