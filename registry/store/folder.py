"""The folder store: a registry that lives in a directory, safe for many processes at once.

Layout::

    <root>/registry.json            format version, stage policy, creation time
    <root>/journal/journal.log      append-only, checksummed events: the source of truth and the commit point
    <root>/view.json                checkpoint: the journal position the model documents reflect
    <root>/models/<id>/model.json   materialized state of one model as of the checkpoint
    <root>/models/<id>/versions/<n> the immutable files of version n, with MANIFEST.sha256
    <root>/tmp/                     staging, on the same filesystem so publishing is a rename
    <root>/.lock                    the writers' lock

A write costs one append and one fsync of the journal. Model documents are a cache for fast cold starts: they
are rewritten at checkpoints (every ``CHECKPOINT_EVERY`` events, on ``close``, after a rebuild), not on every
write, because rewriting a model with 10,000 versions on each tag change would cost far more than the fsync.
A process opening the folder loads the documents the checkpoint names and replays the journal after it.

Directory keys are ids assigned at creation, never model names: user text never becomes a path.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os

from registry.domain.stages import StagePolicy
from registry.domain.state import Event, EventType, ModelState, PendingModel, RegistryState
from registry.errors import CorruptRegistry, InvalidParameterValue, RegistryLockTimeout
from registry.store.base import Clock, Store
from registry.store.files import atomic_write_json, fsync_dir, read_json
from registry.store.journal import Journal
from registry.store.locking import LockTimeout, ProcessLock

__all__ = ["CHECKPOINT_EVERY", "FORMAT_VERSION", "FolderStore"]

log = logging.getLogger("registry")

FORMAT_VERSION = 1
CHECKPOINT_EVERY = 1000

_SETTINGS = "registry.json"
_VIEW = "view.json"


class FolderStore(Store):
    """A registry folder.

    Args:
        root: the folder (created on first use; an existing non-empty folder that is not a registry is refused).
        policy: a stage policy the folder must use; ``None`` accepts the folder's own.
        default_policy: the policy a new folder is created with when ``policy`` is ``None``.
        lock_timeout: seconds to wait for another process's write before raising RegistryLockTimeout.
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
    ) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.location = self.root
        self.lock_timeout = lock_timeout
        self._journal = Journal(os.path.join(self.root, "journal", "journal.log"))
        self._journal_key: tuple[int, int, int] | None = None
        self._settings_key: tuple[int, int] | None = None
        self._offset = 0
        self._torn_tail = False
        self._checkpoint_seq = 0
        self.durable = durable  # needed by _create, before Store.__init__ runs
        self._lock = ProcessLock(os.path.join(self.root, ".lock"))
        stored = self._open_or_create(policy or default_policy, clock)
        if policy is not None and policy != stored:
            raise InvalidParameterValue(
                f"The registry at {self.root} uses the '{stored.name}' stage policy, not '{policy.name}'. Open it "
                "without a policy to use its own, or change it with set_stage_policy().",
                path=self.root,
            )
        super().__init__(policy=stored, clock=clock, actor=actor, durable=durable)
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

    # -- opening ------------------------------------------------------------------------------------------------

    def _open_or_create(self, policy: StagePolicy, clock: Clock) -> StagePolicy:
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise InvalidParameterValue(f"Registry location {self.root} is a file, not a folder.", path=self.root)
        settings_path = self._path(_SETTINGS)
        if not os.path.exists(settings_path):
            if os.path.isdir(self.root) and set(os.listdir(self.root)) - {
                ".lock",
                "journal",
                "models",
                "tmp",
            }:
                raise InvalidParameterValue(
                    f"{self.root} is a non-empty folder that is not a registry (it has no {_SETTINGS}). Point "
                    "the registry at an empty or new folder.",
                    path=self.root,
                )
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
        return StagePolicy.from_dict(settings["stage_policy"])

    def save_policy(self, policy: StagePolicy) -> None:
        """Store a new stage policy in the folder (under the lock), for every process to enforce."""
        with self._guard, self._process_lock():
            path = self._path(_SETTINGS)
            settings = read_json(path)
            settings["stage_policy"] = policy.to_dict()
            atomic_write_json(path, settings, durable=self.durable)
            self.policy = self._read_settings()

    # -- loading and catching up ----------------------------------------------------------------------------------

    def _load(self) -> None:
        """Cold start: the checkpoint's documents plus the journal after it, or a full replay if needed."""
        try:
            self._load_from_checkpoint()
        except CorruptRegistry as exc:
            log.warning("registry: rebuilding %s from its journal (%s)", self.root, exc)
            self.rebuild()

    def _load_from_checkpoint(self) -> None:
        view_path = self._path(_VIEW)
        if not os.path.exists(view_path):
            self.rebuild()
            return
        view = read_json(view_path)
        try:
            offset, checkpoint_seq = int(view["offset"]), int(view["seq"])
            entries = {str(k): (int(v[0]), str(v[1])) for k, v in view["models"].items()}
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise CorruptRegistry(f"{view_path} is malformed.", path=view_path) from None
        if offset > self._journal.size():
            raise CorruptRegistry(f"{view_path} points past the end of the journal.", path=view_path)
        records, end, _torn = self._journal.read(offset)
        tail = [Event.from_dict(r) for r in records]
        deleted_in_tail = {e.model_id for e in tail if e.type == EventType.REGISTERED_MODEL_DELETED}
        state = RegistryState(self.artifact_root)
        state.seq = checkpoint_seq
        for model_id, (seq, name) in entries.items():
            if model_id in deleted_in_tail:
                continue  # deleted after the checkpoint (its document may be gone): its events are skipped below
            # Nothing is read yet: a model's document is loaded when something first reads the model.
            state.add_model(PendingModel(model_id, name, seq, functools.partial(self._load_model, model_id, seq)))
        for event in tail:
            if event.model_id in deleted_in_tail and event.model_id not in state.models:
                if event.type == EventType.REGISTERED_MODEL_CREATED:
                    state.apply(event)  # created and deleted after the checkpoint: replay its whole life
                else:
                    state.seq = max(state.seq, event.seq)
            else:
                state.apply(event)
        self._install(state, end, checkpoint_seq)

    def _load_model(self, model_id: str, seq: int) -> ModelState:
        """Load one model's document for a state being read (its checkpoint said the model was at ``seq``)."""
        doc_path = self._path("models", model_id, "model.json")
        try:
            model = ModelState.from_doc(read_json(doc_path), self.artifact_root)
            if model.id != model_id or model.seq < seq:
                raise CorruptRegistry(f"{doc_path} is older than the checkpoint.", path=doc_path)
            return model
        except (OSError, CorruptRegistry, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("registry: rebuilding model %s of %s from the journal (%s)", model_id, self.root, exc)
        # The journal holds the truth: fold this model's events, up to where the state being read has got.
        upto = self._state.seq if model_id in self._state.models else seq
        replay = RegistryState(self.artifact_root)
        records, _end, _torn = self._journal.read(0)
        for record in records:
            if record.get("model_id") == model_id and record["seq"] <= upto:
                replay.apply(Event.from_dict(record))
        if model_id not in replay.models:
            raise CorruptRegistry(
                f"The checkpoint of {self.root} lists model {model_id}, which its journal does not have. Run "
                "'registry check --fix' to rebuild the checkpoint.",
                path=self.root,
            )
        return replay.models[model_id]

    def rebuild(self) -> None:
        """Rebuild the state from the whole journal (and rewrite the documents if the lock is free)."""
        state = RegistryState(self.artifact_root)
        records, end, _torn = self._journal.read(0)
        for record in records:
            state.apply(Event.from_dict(record))
        self._install(state, end, checkpoint_seq=-1)
        try:
            with self._process_lock(timeout=0):
                self._catch_up(writing=True)
                self.checkpoint()
        except RegistryLockTimeout:
            pass  # a writer is busy; it or a later one will checkpoint

    def _install(self, state: RegistryState, offset: int, checkpoint_seq: int) -> None:
        with self._guard:
            self._state = state
            self._offset = offset
            self._checkpoint_seq = checkpoint_seq
            self._journal_key = None

    def _stat_journal(self) -> tuple[int, int, int]:
        st = os.stat(self._journal.path)
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def _catch_up(self, *, writing: bool) -> None:
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
                key = self._stat_journal()
            records, end, torn = self._journal.read(self._offset)
            for record in records:
                event = Event.from_dict(record)
                if event.seq > self._state.seq:
                    self._state.apply(event)
            self._offset = end
            self._torn_tail = torn
            self._journal_key = key
        if writing and self._torn_tail:
            # Only a crashed append leaves a torn tail, and only the lock holder may cut it off.
            self._journal.truncate(self._offset)
            self._torn_tail = False
            self._journal_key = self._stat_journal()
        if writing:
            st = os.stat(self._path(_SETTINGS))
            if (st.st_size, st.st_mtime_ns) != self._settings_key:
                self.policy = self._read_settings()

    # -- writing ------------------------------------------------------------------------------------------------

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
        self._offset = self._journal.append([e.to_dict() for e in events], durable=self.durable)
        self._journal_key = self._stat_journal()

    def _after_commit(self, events: list[Event]) -> None:
        super()._after_commit(events)
        if self._state.seq - self._checkpoint_seq >= CHECKPOINT_EVERY:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the documents of models changed since the last checkpoint, then the checkpoint (under lock)."""
        view_path = self._path(_VIEW)
        try:
            written = {str(k): int(v[0]) for k, v in read_json(view_path)["models"].items()}
        except (OSError, CorruptRegistry, KeyError, TypeError, ValueError, AttributeError, IndexError):
            written = {}
        models = {}
        for model_id, model in self._state.models.raw_items():
            # A model never loaded here is unchanged since the checkpoint it came from: its document stands.
            if not isinstance(model, PendingModel) and written.get(model_id) != model.seq:
                folder = self._path("models", model_id)
                os.makedirs(folder, exist_ok=True)
                atomic_write_json(os.path.join(folder, "model.json"), model.to_doc(), durable=self.durable)
            models[model_id] = [model.seq, model.name]
        view = {"seq": self._state.seq, "offset": self._offset, "models": models}
        atomic_write_json(view_path, view, durable=self.durable)
        self._checkpoint_seq = self._state.seq
        log.debug("registry: checkpoint at seq %d (%d models)", self._state.seq, len(models))

    def read_events(self, since: int = 0, limit: int | None = None) -> list[Event]:
        events = []
        records, _end, _torn = self._journal.read(0)
        for record in records:
            if record["seq"] > since:
                events.append(Event.from_dict(record))
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
        if offset > self._journal.size():
            offset = 0
        records, end, _torn = self._journal.read(offset)
        return [Event.from_dict(r) for r in records if r["seq"] > since], end

    def close(self) -> None:
        """Checkpoint if this process has seen changes since the last one and the lock is free."""
        with self._guard:
            if self._state.seq > self._checkpoint_seq:
                try:
                    with self._process_lock(timeout=0):
                        self._catch_up(writing=True)
                        self.checkpoint()
                except (RegistryLockTimeout, OSError):
                    pass
            self._lock.close()
