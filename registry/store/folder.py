"""The folder store: a registry that lives in a directory, safe for many processes at once.

Layout::

    <root>/registry.json            format version, stage policy, creation time
    <root>/journal/journal.log      append-only, checksummed events: the source of truth and the commit point
    <root>/view.json                checkpoint: the journal position the model documents reflect
    <root>/index/<b>-<digest>.json  the checkpoint's search index: models by posting key (registry.store.index_files)
    <root>/models/<id>/model.json   materialized state of one model as of some checkpoint
    <root>/models/<id>/versions/<n> the immutable files of version n, with MANIFEST.sha256
    <root>/tmp/                     staging, on the same filesystem so publishing is a rename
    <root>/.lock                    the writers' lock

A write costs one append and one fsync of the journal. Model documents are a cache for fast cold starts: they
are rewritten at checkpoints (every ``CHECKPOINT_EVERY`` events, on ``close``, after a repair), not on every
write, because rewriting a model with 10,000 versions on each tag change would cost far more than the fsync.

A process opening the folder reads ``view.json`` (never the documents), checks that the journal really has
the record the checkpoint names, and folds the journal after it; a model's document is read when something
first reads the model, and believed only at a position this process has passed through
(`registry.domain.state.materialize()`). So a document another process rewrote since can never show this
process a state ahead of its own position. Opening and reading write nothing and take no lock, so a folder
that is only read works on a read-only filesystem or as a user who cannot write.

Directory keys are ids assigned at creation, never model names: user text never becomes a path.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from registry.domain.indexes import PostingKey
from registry.domain.stages import StagePolicy
from registry.domain.state import Event, ModelState, PendingModel, RegistryState, materialize
from registry.errors import (
    CorruptRegistry,
    InvalidParameterValue,
    RegistryError,
    RegistryLockTimeout,
    ResourceDoesNotExist,
)
from registry.store.base import Clock, Store
from registry.store.checkpoints import INDEX_FOLDER, Checkpoint, remove_unlisted_index_files, write_index_files
from registry.store.files import atomic_write_json, fsync_dir, os_errors, read_json
from registry.store.journal import Journal
from registry.store.locking import LockTimeout, ProcessLock

__all__ = ["CHECKPOINT_EVERY", "FORMAT_VERSION", "Checkpoint", "FolderStore"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHECKPOINT_EVERY = 1000

_SETTINGS = "registry.json"
_VIEW = "view.json"
_REGISTRY_ENTRIES = {".lock", "index", "journal", "models", "tmp"}


class FolderStore(Store):
    """A registry folder.

    Args:
        root: the folder (created on first use; an existing non-empty folder that is not a registry is refused).
        policy: a stage policy the folder must use; ``None`` accepts the folder's own.
        default_policy: the policy a new folder is created with when ``policy`` is ``None``.
        lock_timeout: seconds to wait for another process's write before raising RegistryLockTimeout.
        read_only: refuse every write (`ReadOnlyRegistry`) and never create the folder.
    """

    def __init__(
        self,
        root: str,
        *,
        policy: StagePolicy | None,
        default_policy: StagePolicy,
        clock: Clock,
        actor: str | None,
        durable: bool = True,
        lock_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.location = self.root
        self.lock_timeout = lock_timeout
        self.read_only = read_only
        self._journal = Journal(os.path.join(self.root, "journal", "journal.log"))
        self._journal_key: tuple[int, int, int] | None = None
        self._settings_key: tuple[int, int] | None = None
        self._offset = 0
        self._last_start = 0
        self._torn_tail = False
        self._checkpoint_seq = 0
        self._damage: CorruptRegistry | None = None
        self._damage_key: tuple[int, int, int] | None = None
        self._needs_reload = False
        self.durable = durable  # needed by _create, before Store.__init__ runs
        self._lock = ProcessLock(os.path.join(self.root, ".lock"))
        self._sync_lock = ProcessLock(os.path.join(self.root, ".sync.lock"))
        with os_errors(self.root, f"open the registry at {self.root}", writing=False):
            stored = self._open_or_create(policy or default_policy, clock)
            if policy is not None and policy != stored:
                raise InvalidParameterValue(
                    f"The registry at {self.root} uses the '{stored.name}' stage policy, not '{policy.name}'. "
                    "Open it without a policy to use its own, or change it with set_stage_policy().",
                    path=self.root,
                )
            super().__init__(policy=stored, clock=clock, actor=actor, durable=durable, read_only=read_only)
            self._load()

    # -- layout -------------------------------------------------------------------------------------------------

    @property
    def artifact_root(self) -> str:
        return os.path.join(self.root, "models")

    @property
    def staging_root(self) -> str:
        return os.path.join(self.root, "tmp")

    def _path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    @property
    def journal_path(self) -> str:
        return self._journal.path

    @property
    def view_path(self) -> str:
        return self._path(_VIEW)

    def document_path(self, model_id: str) -> str:
        return self._path("models", model_id, "model.json")

    # -- opening ------------------------------------------------------------------------------------------------

    def _open_or_create(self, policy: StagePolicy, clock: Clock) -> StagePolicy:
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise InvalidParameterValue(f"Registry location {self.root} is a file, not a folder.", path=self.root)
        settings_path = self._path(_SETTINGS)
        if not os.path.exists(settings_path):
            if self.read_only:
                raise ResourceDoesNotExist(
                    f"There is no registry at {self.root} (no {_SETTINGS}), and a registry opened read-only is "
                    "never created. Check the path, or open it without read_only to create it.",
                    path=self.root,
                )
            if os.path.isdir(self.root) and set(os.listdir(self.root)) - _REGISTRY_ENTRIES:
                raise InvalidParameterValue(
                    f"{self.root} is a non-empty folder that is not a registry (it has no {_SETTINGS}). Point "
                    "the registry at an empty or new folder.",
                    path=self.root,
                )
            with os_errors(self.root, f"create a registry at {self.root}", writing=True):
                os.makedirs(self.root, exist_ok=True)
                with self._process_lock():
                    if not os.path.exists(settings_path):  # another process may have created it meanwhile
                        self._create(policy, clock())
        return self._read_settings()

    def _create(self, policy: StagePolicy, created: int) -> None:
        for folder in ("journal", "models", "tmp"):
            os.makedirs(self._path(folder), exist_ok=True)
        with open(self._journal.path, "ab"):
            pass
        if self.durable:
            fsync_dir(self._path("journal"))
        settings = {
            "format_version": FORMAT_VERSION,
            "stage_policy": policy.to_dict(),
            "created": created,
        }
        # registry.json last: its presence is what marks the folder as a registry.
        atomic_write_json(self._path(_SETTINGS), settings, durable=self.durable)
        log.debug("registry: created %s with the %s policy", self.root, policy.name)

    def _read_settings(self) -> StagePolicy:
        path = self._path(_SETTINGS)
        st = os.stat(path)
        settings = read_json(path)
        if not isinstance(settings, dict) or "stage_policy" not in settings:
            raise CorruptRegistry(f"{path} is not a registry settings file.", path=path)
        version = settings.get("format_version")
        if version != FORMAT_VERSION:
            raise CorruptRegistry(
                f"{self.root} has registry format {version!r}; this version of the library reads format "
                f"{FORMAT_VERSION}. Upgrade the library.",
                path=path,
            )
        self._settings_key = (st.st_size, st.st_mtime_ns)
        replica = settings.get("replica")
        if replica is not None and not (isinstance(replica, dict) and isinstance(replica.get("source"), str)):
            raise CorruptRegistry(f"{path} holds a malformed replica marker {replica!r:.200}.", path=path)
        self.replica = replica
        try:
            return StagePolicy.from_dict(settings["stage_policy"])
        except RegistryError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptRegistry(f"{path} holds a malformed stage policy ({exc!r}).", path=path) from None

    def save_policy(self, policy: StagePolicy, *, as_replica: bool = False) -> None:
        """Store a new stage policy in the folder (under the lock), for every process to enforce."""
        self.check_writable("change the stage policy")
        with self._guard, self._writing("change the stage policy"), self._process_lock():
            path = self._path(_SETTINGS)
            self.policy = self._read_settings()
            if not as_replica:
                self.refuse_replica_write("change the stage policy")
            settings = read_json(path)
            settings["stage_policy"] = policy.to_dict()
            atomic_write_json(path, settings, durable=self.durable)
            self.policy = self._read_settings()

    def set_replica(self, replica: dict[str, Any] | None) -> None:
        """Record (or with ``None`` remove) the replica marker in registry.json, under the writers' lock, so every
        process's next write sees it (writers re-read registry.json after taking the lock)."""
        self.check_writable("mark the registry as a replica")
        with self._guard, self._writing("mark the registry as a replica"), self._process_lock():
            path = self._path(_SETTINGS)
            settings = read_json(path)
            if replica is None:
                settings.pop("replica", None)
            else:
                settings["replica"] = dict(replica)
            atomic_write_json(path, settings, durable=self.durable)
            self.policy = self._read_settings()

    @contextlib.contextmanager
    def sync_lock(self) -> Iterator[None]:
        self.check_writable("sync the registry")
        with self._sync_guard:
            try:
                with self._writing("sync the registry"):
                    self._sync_lock.acquire(timeout=self.lock_timeout)
            except LockTimeout:
                raise RegistryLockTimeout(
                    f"Another sync into the replica at {self.root} has run for more than {self.lock_timeout} s. "
                    "Let it finish, or raise lock_timeout.",
                    path=self.root,
                ) from None
            try:
                yield
            finally:
                self._sync_lock.release()

    def replica_info(self) -> dict[str, Any] | None:
        with self._guard:
            self._refresh_settings()
            return None if self.replica is None else dict(self.replica)

    def read_policy(self) -> StagePolicy:
        with self._guard:
            self._refresh_settings()
            return self.policy

    def _refresh_settings(self) -> None:
        """Read registry.json again if another process replaced it (a stat when it did not)."""
        with os_errors(self.root, "read the registry's settings", writing=False):
            st = os.stat(self._path(_SETTINGS))
            if (st.st_size, st.st_mtime_ns) != self._settings_key:
                self.policy = self._read_settings()

    # -- loading and catching up ----------------------------------------------------------------------------------

    def _load(self) -> None:
        """Cold start: the checkpoint and the journal after it, or the whole journal. Writes nothing."""
        self._damage = None
        try:
            self._load_now()
        except CorruptRegistry as exc:
            self._refuse(exc)

    def _load_now(self) -> None:
        checkpoint = None
        try:
            checkpoint = Checkpoint.read(self.view_path)
        except CorruptRegistry as exc:
            log.warning("registry: replaying the whole journal of %s (%s)", self.root, exc)
        if checkpoint is None:
            self._install(self._new_state(), 0, 0, checkpoint_seq=0)
            self._fold_tail()
            return
        problem = self.checkpoint_problem(checkpoint)
        if problem is not None:
            # The checkpoint names a journal position the journal does not have: events it reflects are gone
            # from the journal (truncated, or replaced by an older copy). Never serve the shorter journal as if
            # nothing happened: every read and write says so until 'check --fix' accepts the journal as it is.
            raise CorruptRegistry(
                f"{problem} Events may be lost. Restore journal/journal.log from a backup, or run 'registry check "
                "--fix' to accept the journal as it is and rebuild the view from it.",
                path=self.root,
            )
        # A cold search loads only the models the checkpoint's index names for its condition.
        state = self._new_state(hint=checkpoint.index.model_ids if checkpoint.index is not None else None)
        state.seq = checkpoint.seq
        for model_id, (seq, name) in checkpoint.models.items():
            # Nothing is read yet: a model's document is read when something first reads the model.
            state.add_pending(model_id, name, seq)
        self._install(state, checkpoint.offset, checkpoint.start, checkpoint.seq)
        self._fold_tail()

    def _refuse(self, exc: CorruptRegistry) -> None:
        """Serve nothing rather than a state between two positions: every read and write raises ``exc`` until
        the journal changes (restored from a backup) or ``check --fix`` repairs what can be repaired."""
        log.warning("registry: %s cannot be served: %s", self.root, exc)
        self._damage = exc
        self._install(self._new_state(), 0, 0, checkpoint_seq=0)
        try:
            self._damage_key = self._stat_journal()
        except OSError:
            self._damage_key = None

    def checkpoint_problem(self, checkpoint: Checkpoint) -> str | None:
        """Why ``checkpoint`` does not describe a position of this journal, or ``None`` when it does."""
        where = f"The checkpoint of {self.root} (view.json) is at event {checkpoint.seq}, byte {checkpoint.offset}"
        size = self._journal.size()
        if checkpoint.offset > size:
            return f"{where}, but the journal has only {size} bytes."
        if checkpoint.seq == 0:
            return None if checkpoint.offset == 0 else f"{where}, which is not a record boundary."
        chunk = self._journal.read_chunk(checkpoint.start, checkpoint.offset)
        if (
            chunk.end != checkpoint.offset
            or len(chunk.records) != 1
            or chunk.last_start != checkpoint.start
            or chunk.records[0].get("seq") != checkpoint.seq
        ):
            return f"{where}, but the journal has no record of event {checkpoint.seq} there."
        return None

    def _new_state(self, hint: Callable[[PostingKey], list[str] | None] | None = None) -> RegistryState:
        return RegistryState(self.artifact_root, loader=self._materialize, hint=hint)

    def _materialize(self, pending: PendingModel) -> ModelState:
        """Load a pending model at its state's position (see `registry.domain.state.materialize()`)."""
        with os_errors(self.root, f"read model {pending.name!r} of the registry at {self.root}", writing=False):
            return materialize(pending, self.read_document(pending.id), self._history, self.artifact_root)

    def read_document(self, model_id: str) -> ModelState | None:
        """The model's document as it is on disk now, or ``None`` if it is missing or unreadable."""
        path = self.document_path(model_id)
        try:
            return ModelState.from_doc(read_json(path), self.artifact_root)
        except FileNotFoundError:
            return None
        except (OSError, CorruptRegistry, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("registry: not using the model document %s (%s)", path, exc)
            return None

    def _history(self) -> Iterator[Event]:
        records, _end, _torn = self._journal.read(0)
        for record in records:
            yield Event.from_dict(record)

    def _install(self, state: RegistryState, offset: int, last_start: int, checkpoint_seq: int) -> None:
        with self._guard:
            self._state = state
            self._offset = offset
            self._last_start = last_start
            self._checkpoint_seq = checkpoint_seq
            self._journal_key = None

    def _fold_tail(self) -> None:
        """Fold the records after ``self._offset`` into the state (on an error the caller drops the state)."""
        chunk = self._journal.read_chunk(self._offset)
        for record in chunk.records:
            self._state.apply(Event.from_dict(record))
        if chunk.records:
            self._last_start = chunk.last_start
        self._offset = chunk.end
        self._torn_tail = chunk.torn

    def _stat_journal(self) -> tuple[int, int, int]:
        st = os.stat(self._journal.path)
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def _catch_up(self, *, writing: bool) -> None:
        with os_errors(self.root, f"read the registry at {self.root}", writing=False):
            self._catch_up_now(writing=writing)

    def _catch_up_now(self, *, writing: bool) -> None:
        if self._needs_reload:
            self._needs_reload = False
            self._load()
        if self._damage is not None:
            try:
                unchanged = self._stat_journal() == self._damage_key
            except OSError:
                unchanged = self._damage_key is None
            if unchanged:
                raise self._damage
            self._load()  # the journal changed (restored from a backup?): look again
            if self._damage is not None:
                raise self._damage
        # The cheap path of every read: one stat. Another process's commit changes size and mtime.
        try:
            key = self._stat_journal()
        except FileNotFoundError:
            raise CorruptRegistry(
                f"The journal of {self.root} is missing; the folder is not a usable registry.", path=self.root
            ) from None
        if key != self._journal_key:
            if self._journal_key is not None and (key[2] != self._journal_key[2] or key[0] < self._offset):
                self._load()  # the journal was replaced (restored from a backup): start over
                if self._damage is not None:
                    raise self._damage
                key = self._stat_journal()
            try:
                self._fold_tail()
            except CorruptRegistry as exc:
                self._refuse(exc)  # part of the chunk may be folded: never serve a state between positions
                raise
            self._journal_key = key
        if writing:
            self._writer_catch_up()

    def _writer_catch_up(self) -> None:
        if self._torn_tail:
            # Only a crashed append leaves a torn tail, and only the lock holder may cut it off.
            self._journal.truncate(self._offset)
            self._torn_tail = False
            self._journal_key = self._stat_journal()
        st = os.stat(self._path(_SETTINGS))
        if (st.st_size, st.st_mtime_ns) != self._settings_key:
            self.policy = self._read_settings()

    def _reset_state(self) -> None:
        # After a write that failed between changing the state and committing: start over on the next look
        # (lazily, so a failure here cannot leave a half-built state behind).
        self._needs_reload = True
        self._journal_key = None

    # -- writing ------------------------------------------------------------------------------------------------

    def _ensure_writable(self, doing: str) -> None:
        # Opening the lock file for writing is the cheapest proof that this process may write here (once).
        with os_errors(self.root, doing, writing=True):
            self._lock.open()

    @contextlib.contextmanager
    def _process_lock(self, timeout: float | None = None):  # type: ignore[no-untyped-def]
        try:
            self._lock.acquire(timeout=self.lock_timeout if timeout is None else timeout)
        except LockTimeout:
            raise RegistryLockTimeout(
                f"Another process has held the write lock of the registry at {self.root} for more than "
                f"{self.lock_timeout if timeout is None else timeout} s. Retry, or raise lock_timeout (a lock "
                "is released when its process exits, so one is never stale; do not delete the .lock file).",
                path=self.root,
            ) from None
        log.debug("registry: lock acquired on %s", self.root)
        try:
            yield
        finally:
            self._lock.release()
            log.debug("registry: lock released on %s", self.root)

    def _persist(self, events: list[Event]) -> None:
        self._offset, self._last_start = self._journal.append([e.to_dict() for e in events], durable=self.durable)
        self._journal_key = self._stat_journal()

    def _after_commit(self, events: list[Event]) -> None:
        super()._after_commit(events)
        if self._state.seq - self._checkpoint_seq >= CHECKPOINT_EVERY:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the documents of models changed since the last checkpoint, then the checkpoint.

        Must run under the lock, caught up with the whole journal (so no document is ever written ahead of the
        journal). Pending models with events since their document are loaded first; the rest stand.
        """
        self.check_writable("write a checkpoint")
        previous = Checkpoint.read(self.view_path) if os.path.exists(self.view_path) else None
        written = {k: v[0] for k, v in previous.models.items()} if previous is not None else {}
        # The index gets a level for the models changed since the previous checkpoint (registry.store.index_files);
        # without a previous index, every model is loaded once so the first level can list them all.
        old_index = previous.index if previous is not None else None
        models = {}
        changed: list[ModelState] = []
        for model_id, entry in self._state.models.raw_items():
            if isinstance(entry, PendingModel) and (
                entry.events or old_index is None or written.get(model_id) != entry.seq
            ):
                entry = self._state.models[model_id]
            if isinstance(entry, ModelState) and written.get(model_id) != entry.seq:
                folder = self._path("models", model_id)
                os.makedirs(folder, exist_ok=True)
                atomic_write_json(os.path.join(folder, "model.json"), entry.to_doc(), durable=self.durable)
            if isinstance(entry, ModelState) and (old_index is None or written.get(model_id) != entry.seq):
                changed.append(entry)
            models[model_id] = [entry.seq, entry.name]
        removed = [model_id for model_id in written if model_id not in models]
        index_folder = self._path(INDEX_FOLDER)
        index = write_index_files(index_folder, old_index, changed, removed, durable=self.durable)
        if index is None:  # a level of the previous index is unreadable: list every model afresh
            everything = [self._state.models[model_id] for model_id in models]
            index = write_index_files(index_folder, None, everything, [], durable=self.durable)
        assert index is not None
        view = {
            "seq": self._state.seq,
            "offset": self._offset,
            "start": self._last_start,
            "models": models,
            "index": index.to_view(),
        }
        atomic_write_json(self.view_path, view, durable=self.durable)
        remove_unlisted_index_files(self._path(INDEX_FOLDER), index)
        self._checkpoint_seq = self._state.seq
        log.debug("registry: checkpoint at seq %d (%d models)", self._state.seq, len(models))

    def repair(self) -> None:
        """Rebuild the state from the whole journal and rewrite every document and the checkpoint (under the
        lock): what ``check --fix`` does. It also accepts a journal shorter than its old checkpoint."""
        self.check_writable("repair the registry")
        with self._guard, self._writing("repair the registry"), self._process_lock():
            state = self._new_state()
            self._install(state, 0, 0, checkpoint_seq=-1)
            self._damage = None
            self._fold_tail()
            self._journal_key = self._stat_journal()
            self._writer_catch_up()
            try:
                os.remove(self.view_path)  # every document is rewritten, not only those the old one says changed
            except FileNotFoundError:
                pass
            self.checkpoint()

    def read_events(self, since: int = 0, limit: int | None = None) -> list[Event]:
        events = []
        with os_errors(self.root, "read the journal", writing=False):
            records, _end, _torn = self._journal.read(0)
        for record in records:
            event = Event.from_dict(record)
            if event.seq > since:
                events.append(event)
                if limit is not None and len(events) >= limit:
                    break
        return events

    def tail_events(self, since: int, offset: int = 0) -> tuple[list[Event], int]:
        """Committed events with ``seq > since``, reading the journal from byte ``offset`` on.

        ``offset`` must be 0 or an offset an earlier call returned (the end of a complete record); the second
        value returned is the offset to pass next time. Followers poll with it, so each look reads only what
        was appended since (``read_events`` reads the whole journal). An offset past the end (the journal was
        replaced by a shorter one) starts again from the beginning; the ``seq`` filter keeps results exact.
        """
        with os_errors(self.root, "read the journal", writing=False):
            if offset > self._journal.size():
                offset = 0
            records, end, _torn = self._journal.read(offset)
        events = [Event.from_dict(r) for r in records]
        return [e for e in events if e.seq > since], end

    def close(self) -> None:
        """Checkpoint if this process has seen changes since the last one and the lock is free."""
        with self._guard:
            if not self.read_only and self._damage is None and self._state.seq > self._checkpoint_seq:
                try:
                    with self._process_lock(timeout=0):
                        self._catch_up(writing=True)
                        self.checkpoint()
                except (RegistryError, OSError) as exc:
                    log.debug("registry: no checkpoint on closing %s (%s)", self.root, exc)
            self._lock.close()
            self._sync_lock.close()

    def describe_damage(self) -> CorruptRegistry | None:
        """Why this store refuses to serve (its checkpoint names a position the journal lacks), if it does."""
        return self._damage

    def journal_records(self) -> tuple[list[dict[str, Any]], int, bool]:
        """Every complete record of the journal, the offset after them and whether a torn line follows."""
        with os_errors(self.root, "read the journal", writing=False):
            return self._journal.read(0)
