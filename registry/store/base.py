"""The storage interface, and the one mutation funnel both backends share.

A store holds a `RegistryState` and persists the events that change it. Every write goes
through `Store.write()`::

    thread lock -> process lock -> catch up with other writers -> decide (pure) -> publish staged files
        -> persist the event (the commit) -> apply it -> release -> notify listeners

Subclasses supply only persistence: how to lock across processes, how to read events other processes wrote,
how to append, and what to tidy after a commit. The store knows nothing of event subscribers, HTTP or the
CLI; the client registers an ``on_commit`` listener and does the rest.
"""

from __future__ import annotations

import abc
import contextlib
import getpass
import logging
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from registry.domain.chain import CHAIN_START, link
from registry.domain.commands import Change
from registry.domain.entities import ModelVersion
from registry.domain.progress import ProgressCallback
from registry.domain.stages import StagePolicy
from registry.domain.state import Event, EventType, RegistryState
from registry.errors import CorruptRegistry, ReadOnlyRegistry, RegistryError, ReplicaReadOnly
from registry.store.artifacts import CopyLimits, StagedArtifacts, stage_directory
from registry.store.files import fsync_dir, os_errors

__all__ = ["DEFAULT_ACTOR", "Clock", "CommitConflict", "Store", "default_actor", "system_clock"]

log = logging.getLogger(__name__)

Clock = Callable[[], int]
"""A clock returns the time as integer milliseconds since the epoch."""


class CommitConflict(Exception):
    """Raised by an optimistic store's ``_persist`` when another writer committed first (its journal object
    took the number this commit needed). `Store.write()` catches it, forgets the uncommitted state, catches
    up and decides again. A control-flow signal of the store, never shown to users."""


def system_clock() -> int:
    return time.time_ns() // 1_000_000


def default_actor() -> str | None:
    """The user recorded on changes: ``$REGISTRY_USER``, else the login name, else nobody."""
    user = os.environ.get("REGISTRY_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # getpass raises several types when no user can be found (containers)
        return None


class _Default:
    """The type of `DEFAULT_ACTOR`."""


DEFAULT_ACTOR = _Default()
"""``Store.write``'s default ``actor``: the store's own."""


class Store(abc.ABC):
    """State plus persistence. See the module docstring for the write funnel.

    Args:
        policy: the stage policy (the folder store may replace it by the one stored in the folder).
        clock: the time source for event timestamps.
        actor: the user recorded on changes.
        durable: fsync each commit (``False`` is for test fixtures and scratch registries).
        read_only: refuse every write with `ReadOnlyRegistry`.
    """

    location: str

    max_commit_attempts: int = 1
    """How often `write()` decides again after a `CommitConflict` (only an optimistic store, one
    that commits without a lock, ever raises it)."""

    def __init__(
        self, *, policy: StagePolicy, clock: Clock, actor: str | None, durable: bool, read_only: bool = False
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.actor = actor
        self.durable = durable
        self.read_only = read_only
        self._guard = threading.RLock()
        self._sync_guard = threading.Lock()  # one sync at a time per handle (readers are never held by it)
        self._listeners: list[Callable[[list[Event]], None]] = []
        self._state = RegistryState(self.artifact_root)
        self.replica: dict[str, Any] | None = getattr(self, "replica", None)
        """What makes this registry a replica (``{"source": ..., ...}``, see `set_replica()`), else None."""

    # -- what subclasses provide ------------------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def artifact_root(self) -> str:
        """The folder holding versions' own copies (``<artifact_root>/<model id>/versions/<n>``)."""

    @property
    @abc.abstractmethod
    def staging_root(self) -> str:
        """A folder on the same filesystem as `artifact_root`, for copies not yet published."""

    @abc.abstractmethod
    def _process_lock(self) -> contextlib.AbstractContextManager[Any]:
        """Exclusive across processes (a no-op for a store no other process can see)."""

    @abc.abstractmethod
    def _catch_up(self, *, writing: bool) -> None:
        """Apply events other processes committed since this process last looked."""

    @abc.abstractmethod
    def _persist(self, events: list[Event]) -> None:
        """Make ``events`` durable: this is the commit."""

    @abc.abstractmethod
    def _reset_state(self) -> None:
        """Forget the in-memory state (a write changed it, then failed to commit): rebuild it from what is
        committed before the next read."""

    def _ensure_writable(self, doing: str) -> None:  # noqa: B027 - a hook: a memory store can always write
        """Raise `ReadOnlyRegistry` if this process cannot write the registry."""

    def check_writable(self, doing: str) -> None:
        if self.read_only:
            raise ReadOnlyRegistry(
                f"Cannot {doing}: the registry at {self.location} was opened read-only (read_only=True or "
                "REGISTRY_READ_ONLY=1). Open it without read_only to change it.",
                path=self.location,
            )
        self._ensure_writable(doing)

    def _writing(self, doing: str) -> contextlib.AbstractContextManager[None]:
        """Any OSError in the block becomes the registry error for a failed write (ReadOnlyRegistry, ...)."""
        return os_errors(self.location, doing, writing=True)

    def refuse_replica_write(self, doing: str) -> None:
        """Raise `ReplicaReadOnly` if this registry is a replica (checked under the lock,
        after catching up: a detach by another process is seen)."""
        if self.replica is not None:
            source = self.replica.get("source")
            raise ReplicaReadOnly(
                f"Cannot {doing}: the registry at {self.location} is a replica of {source}, changed only by "
                f"'registry sync'. Change the source instead, or detach the replica ('registry sync --detach "
                f"{self.location}') to make it an ordinary registry.",
                path=self.location,
                source=source,
            )

    def set_replica(self, replica: dict[str, Any] | None) -> None:
        """Record (or with ``None`` remove) the replica marker, under the lock. JSON types only."""
        self.check_writable("mark the registry as a replica")
        with self._guard:
            self.replica = None if replica is None else dict(replica)

    def sync_lock(self) -> contextlib.AbstractContextManager[Any]:
        """Held for the whole of a replica sync, so two syncs into one replica (a ``--follow`` and a cron job)
        never fetch into the same staging folders at once. Readers and writers are not held up by it."""
        return self._sync_guard

    def replica_info(self) -> dict[str, Any] | None:
        """The replica marker as committed now (another process may have changed it)."""
        with self._guard:
            return None if self.replica is None else dict(self.replica)

    @abc.abstractmethod
    def read_events(self, since: int = 0, limit: int | None = None) -> list[Event]:
        """Committed events with ``seq > since``, oldest first (at most ``limit``)."""

    def _after_commit(self, events: list[Event]) -> None:
        """Tidying after a commit (still under the lock); failures here never undo the commit."""
        for event in events:
            if event.type == EventType.REGISTERED_MODEL_DELETED and event.model_id:
                self._remove_tree(os.path.join(self.artifact_root, event.model_id))
            elif event.type == EventType.MODEL_VERSION_DELETED and event.model_id:
                number = str(event.data["version"])
                self._remove_tree(os.path.join(self.artifact_root, event.model_id, "versions", number))
            elif event.type == EventType.REGISTERED_MODEL_SYNCED and event.model_id:
                for number in event.data.get("removed_versions", ()):
                    self._remove_tree(os.path.join(self.artifact_root, event.model_id, "versions", str(number)))

    @abc.abstractmethod
    def close(self) -> None:
        """Release resources; the store must not be used afterwards."""

    # -- the public surface -----------------------------------------------------------------------------------

    def on_commit(self, listener: Callable[[list[Event]], None]) -> None:
        """Call ``listener(events)`` after each commit made through this store, outside the lock."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def reading(self) -> Iterator[RegistryState]:
        """The current state, caught up with other processes, held still for the ``with`` block."""
        with self._guard:
            self._catch_up(writing=False)
            yield self._state

    @property
    def state(self) -> RegistryState:
        """The current state (caught up). Hold `reading()` instead to read several things consistently."""
        with self.reading() as state:
            return state

    def write(
        self,
        decide: Callable[[RegistryState], list[Change]],
        *,
        publish: Callable[[list[Change]], None] | None = None,
        actor: str | _Default | None = DEFAULT_ACTOR,
        as_replica: bool = False,
    ) -> list[Event]:
        """The mutation funnel: run ``decide`` on fresh state under the lock and commit what it returns.

        Args:
            decide: a pure command; it raises to refuse, or returns the changes to commit (maybe none).
            publish: called with the changes before the commit, to move staged files into place; files are
                published before the event that references them, so a crash leaves unreferenced files (which
                ``check`` finds), never a version without its files.
            actor: the user recorded on the events, when not the store's own (several clients with their own
                ``user`` can share one store: a named in-memory registry).
            as_replica: the write is a sync bringing a replica up to date (every other write to a replica is
                refused with `ReplicaReadOnly`).

        Returns:
            The committed events (empty when ``decide`` returned no changes).

        Raises:
            ReadOnlyRegistry: the registry is read-only (nothing was decided or changed).
            RegistryError: ``decide``'s refusal, or an event the state cannot apply (then nothing is committed).
        """
        self.check_writable("change the registry")
        who = self.actor if isinstance(actor, _Default) else actor
        with self._guard, self._writing("commit a change"), self._process_lock():
            attempt = 0
            while True:
                attempt += 1
                events = self._decide_and_commit(decide, publish, who, as_replica)
                if events is not None:
                    break
                # Another writer took the journal position this commit needed (an optimistic store, no lock):
                # its state is forgotten, and the next round catches up and decides again on the new state.
                if attempt >= self.max_commit_attempts:
                    raise RegistryError(
                        f"The change was not committed: other writers committed first {attempt} times in a row "
                        f"at {self.location}. Nothing was written; retry the operation.",
                        attempts=attempt,
                    )
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))  # jitter: racers spread out
            if not events:
                return []
            log.debug("registry: committed %s", ", ".join(f"{e.seq}:{e.type}" for e in events))
            try:
                self._after_commit(events)
            except (OSError, RegistryError):
                log.warning("registry: tidying after commit %d failed", events[-1].seq, exc_info=True)
        for listener in list(self._listeners):
            listener(events)
        return events

    def _decide_and_commit(
        self,
        decide: Callable[[RegistryState], list[Change]],
        publish: Callable[[list[Change]], None] | None,
        actor: str | None,
        as_replica: bool = False,
    ) -> list[Event] | None:
        """One round of `write()`: the committed events, ``[]`` for no change, ``None`` after a conflict."""
        self._catch_up(writing=True)
        changes = decide(self._state)
        if not changes:
            return []
        if not as_replica:  # after deciding: a command that changes nothing (check's scan) is no write
            self.refuse_replica_write("change the registry")
        timestamp = self.clock()
        unlinked = [
            Event(
                seq=self._state.seq + offset,
                timestamp=timestamp,
                type=change.type,
                actor=actor,
                model_id=change.model_id,
                name=change.name,
                data=change.data,
            )
            for offset, change in enumerate(changes, start=1)
        ]
        # Each record carries the hash of the one before it (registry.domain.chain), computed here, in the
        # one funnel every backend shares, so each persists it through Event.to_dict like any other field (a
        # lost race decides again on the caught-up state, and links again to its new last record).
        previous = self._chain_tip()
        events = []
        for event in unlinked:
            events.append(link(event, previous))
            previous = events[-1].hash or CHAIN_START
        # The events are folded into the caught-up state *before* they are appended, each model they concern
        # fully loaded: an event that state cannot apply is refused here, so no journal this library wrote
        # holds an event that a replay cannot apply (test_store_consistency.py proves it).
        try:
            for event in events:
                self._state.apply(event, load=True)
        except CorruptRegistry as exc:
            self._reset_state()
            raise RegistryError(
                f"The change was not committed: it does not fit the registry as it is ({exc.message}). This "
                "is a bug in the command that made it; nothing was written.",
                seq=events[0].seq,
            ) from None
        try:
            if publish is not None:
                publish(changes)
            self._persist(events)
        except CommitConflict:
            self._reset_state()
            return None
        except BaseException:
            self._reset_state()  # the state holds events that never committed
            raise
        return events

    def save_policy(self, policy: StagePolicy, *, as_replica: bool = False) -> None:
        """Make ``policy`` the registry's stage policy (stores that persist settings store it for every process).

        ``as_replica``: a sync bringing the source's policy (any other change of a replica's policy is refused
        with `ReplicaReadOnly`)."""
        self.check_writable("change the stage policy")
        with self._guard:
            if not as_replica:
                self.refuse_replica_write("change the stage policy")
            self.policy = policy

    def read_policy(self) -> StagePolicy:
        """The stage policy as stored now (another process may have changed it since this one last wrote)."""
        with self._guard:
            return self.policy

    def ensure_local(self, mv: ModelVersion) -> None:  # noqa: B027 - a hook: local stores have nothing to fetch
        """Make sure a version's own files are at ``mv.storage_location`` on this machine. A store that keeps
        them remotely downloads them there (verified) on first use; the loader verifies them again."""

    def _chain_tip(self) -> str:
        """What the next record links to: the last record's hash, or CHAIN_START for the first record, and for
        the first one written to a journal from before the chain (the upgrade point). Called under the lock."""
        state = self._state
        if state.seq == 0:
            return CHAIN_START
        if state.chain_seq == state.seq:
            return state.chain_hash or CHAIN_START
        # The state started from a checkpoint and has folded nothing since: read the last record once.
        last = self.read_events(state.seq - 1, limit=1)
        tip = last[0].hash if last and last[0].seq == state.seq else None
        state.chain_seq, state.chain_hash = state.seq, tip
        return tip or CHAIN_START

    # -- artifacts ----------------------------------------------------------------------------------------------

    def stage_artifacts(
        self, source_dir: str, limits: CopyLimits | None = None, progress: ProgressCallback | None = None
    ) -> StagedArtifacts:
        """Copy ``source_dir`` into the staging area (outside the lock: copies can be large), within ``limits``."""
        self.check_writable("register a model version's files")
        with self._writing("stage a model version's files"):
            os.makedirs(self.staging_root, exist_ok=True)
        return stage_directory(source_dir, self.staging_root, durable=self.durable, limits=limits, progress=progress)

    def staging_directory(self, prefix: str) -> str:
        """A new empty folder in the staging area, for a caller that builds files to register from there (so a
        crash leaves them where ``check`` finds them). The caller removes it."""
        self.check_writable("stage files")
        with self._writing("stage files"):
            os.makedirs(self.staging_root, exist_ok=True)
            return tempfile.mkdtemp(prefix=prefix, dir=self.staging_root)

    def publish_artifacts(self, staged: StagedArtifacts, model_id: str, version: int) -> str:
        """Move a staged copy to its final place as ``version`` of model ``model_id`` (under the lock)."""
        parent = os.path.join(self.artifact_root, model_id, "versions")
        target = os.path.join(parent, str(version))
        os.makedirs(parent, exist_ok=True)
        if os.path.exists(target):
            # Only a crash between a publish and its commit leaves files under an unallocated number.
            log.warning("registry: replacing unreferenced leftover files at %s", target)
            shutil.rmtree(target)
        os.rename(staged.path, target)
        if self.durable:
            fsync_dir(parent)
        return target

    def discard_artifacts(self, staged: StagedArtifacts) -> None:
        shutil.rmtree(staged.path, ignore_errors=True)

    @staticmethod
    def _remove_tree(path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
