"""The bucket store: a registry on object storage (S3 and its compatibles), many writers on many machines, no
server and no lock.

Layout (keys under the registry's prefix)::

    registry.json                          format version, stage policy, creation time
    journal/<seq, 20 digits>.json          one immutable object per commit, named by its first event's seq:
                                           {"format", "commit" (a unique id), "events": [...]}
    checkpoints/<seq, 20 digits>.json      the whole state at that seq (model documents): a cache
    _last_checkpoint                       {"seq": N}: where a cold open starts (a hint, also a cache)
    models/<id>/versions/<n>/<digest>/...  version n's files with MANIFEST.sha256 (digest: the manifest's sha256)

**The commit protocol** is Delta Lake's. A writer catches up (lists the journal after its position and folds
each new object whole), decides with the same pure commands as the folder store, uploads the version's files,
then *creates* ``journal/<next seq>.json`` with put-if-absent. If another writer created that key first, the
write funnel (`registry.store.base.Store.write()`) forgets the uncommitted state, catches up and decides
again (bounded retries with jitter). Because the next key is determined by the caught-up state, two commits can
never both succeed at one position: version numbers are unique and never reused, and a promotion with
``archive_existing_versions`` is one object, so readers see it whole or not at all.

A put whose response was lost (obstore retried it and now hears "already exists", or gave up on a timeout) is
ambiguous; the commit id inside each object settles it: the writer reads the key back, and an object with its
own id is its own commit (never a lost race, never a duplicate).

**Files** are uploaded under the version number *and* the digest before the commit. A writer that loses the
race for number ``n`` has uploaded under ``versions/n/<its digest>``, which never overwrites the winner's files
(another digest) or changes them (the same digest is the same bytes); its upload is garbage that ``check``
reports and ``check --fix`` removes after a grace period (a writer may be uploading right now).

**Reading a version's files**: the state's ``storage_location`` of a version is a folder in a local cache
(default ``~/.cache/mlregistry/<hash of the bucket URL>/models/<id>/versions/<n>``; ``$REGISTRY_CACHE_DIR``
moves it). `BucketStore.ensure_local()` downloads a version into a temporary folder, verifies every digest,
and renames it into place, so a partial download is never used; a cached copy is reused while its manifest
matches the recorded digest (the loader verifies every file again before loading).

**Checkpoints** are written by the writer whose commit crosses a multiple of ``checkpoint_every``; a cold open
reads ``registry.json``, ``_last_checkpoint``, that checkpoint, and lists the journal after it: a few requests,
not a replay. A checkpoint that is missing or unreadable only costs a longer replay.

The one assumption: the object store honours conditional creates (``If-None-Match: *``). S3, MinIO, R2, GCS and
Azure do; a store that ignored it would let two writers both "win" one position.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from typing import Any

from registry.domain.entities import ModelVersion
from registry.domain.stages import StagePolicy
from registry.domain.state import Event, ModelState, RegistryState
from registry.errors import CorruptRegistry, InvalidParameterValue, ResourceDoesNotExist
from registry.store.artifacts import MANIFEST_NAME, StagedArtifacts
from registry.store.base import Clock, CommitConflict, Store
from registry.store.bucket_cache import default_cache_dir, download_version, install_folder, manifest_matches
from registry.store.objects import ObjectExists, ObjectNotFound, ObjectStorage, ObjectStorageError, open_objects

__all__ = [
    "CHECKPOINT_EVERY",
    "FORMAT_VERSION",
    "BucketStore",
    "default_cache_dir",
    "journal_key",
    "version_prefix",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHECKPOINT_EVERY = 100
MAX_COMMIT_ATTEMPTS = 40

SETTINGS_KEY = "registry.json"
JOURNAL = "journal/"
CHECKPOINTS = "checkpoints/"
LAST_CHECKPOINT_KEY = "_last_checkpoint"
MODELS = "models/"
_DIGITS = 20


def journal_key(seq: int) -> str:
    """The key of the journal object whose first event is ``seq``."""
    return f"{JOURNAL}{seq:0{_DIGITS}d}.json"


def checkpoint_key(seq: int) -> str:
    return f"{CHECKPOINTS}{seq:0{_DIGITS}d}.json"


def version_prefix(model_id: str, version: int, digest: str) -> str:
    """Where version ``version`` of model ``model_id`` keeps the files whose manifest has sha256 ``digest``."""
    return f"{MODELS}{model_id}/versions/{version}/{digest}/"


def seq_of_key(key: str, folder: str) -> int | None:
    """The seq a ``journal/`` or ``checkpoints/`` key names (``None`` for any other key)."""
    stem = key[len(folder) :]
    if not stem.endswith(".json") or len(stem) != _DIGITS + 5 or not stem[:_DIGITS].isdigit():
        return None
    return int(stem[:_DIGITS])


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


class BucketStore(Store):
    """A registry in a bucket (see the module docstring).

    Args:
        url: the bucket URL (``s3://bucket/prefix``, ``gs://...``, ``az://...``); credentials come from the
            environment (see `registry.store.objects`).
        objects: the object storage to use instead of opening ``url`` (tests pass a
            `MemoryObjects` or a wrapper that injects faults).
        cache_dir: the local folder for downloaded versions and staging (default `default_cache_dir()`).
        checkpoint_every: write a checkpoint when a commit crosses a multiple of this many events (default
            `CHECKPOINT_EVERY`).
        read_only: refuse every write and never write to the bucket at all (the local cache is still used).
    """

    max_commit_attempts = MAX_COMMIT_ATTEMPTS

    def __init__(
        self,
        url: str,
        *,
        policy: StagePolicy | None,
        default_policy: StagePolicy,
        clock: Clock,
        actor: str | None,
        read_only: bool = False,
        objects: ObjectStorage | None = None,
        cache_dir: str | None = None,
        checkpoint_every: int | None = None,
    ) -> None:
        self._objects = objects if objects is not None else open_objects(url)
        self.location = self._objects.url
        self.read_only = read_only
        self.checkpoint_every = checkpoint_every or CHECKPOINT_EVERY
        self._cache = cache_dir or default_cache_dir(self.location)
        self._base: tuple[int, list[dict[str, Any]]] = (0, [])  # the checkpoint loaded: (seq, model documents)
        self._events: list[Event] = []  # every event after the base, oldest first
        self._needs_reload = False
        # This write's staged copies: uploaded copy -> its cache folder, digest -> copy, prefixes uploaded.
        self._published: dict[str, str] = {}
        self._staged: dict[str, str] = {}
        self._uploaded: set[str] = set()
        stored = self._open_or_create(policy or default_policy, clock)
        if policy is not None and policy != stored:
            raise InvalidParameterValue(
                f"The registry at {self.location} uses the '{stored.name}' stage policy, not '{policy.name}'. "
                "Open it without a policy to use its own, or change it with set_stage_policy().",
                uri=self.location,
            )
        super().__init__(policy=stored, clock=clock, actor=actor, durable=True, read_only=read_only)
        self._load()

    def __repr__(self) -> str:
        return f"BucketStore({self.location!r})"

    # -- layout -------------------------------------------------------------------------------------------------

    @property
    def objects(self) -> ObjectStorage:
        return self._objects

    @property
    def cache_dir(self) -> str:
        return self._cache

    @property
    def artifact_root(self) -> str:
        return os.path.join(self._cache, "models")

    @property
    def staging_root(self) -> str:
        return os.path.join(self._cache, "tmp")

    def _process_lock(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()  # no lock: the create-only put of the journal object is the arbiter

    # -- settings -----------------------------------------------------------------------------------------------

    def _open_or_create(self, policy: StagePolicy, clock: Clock) -> StagePolicy:
        try:
            return self._read_settings()
        except ObjectNotFound:
            pass
        if self.read_only:
            raise ResourceDoesNotExist(
                f"There is no registry at {self.location} (no {SETTINGS_KEY}), and a registry opened read-only is "
                "never created. Check the URL, or open it without read_only to create it.",
                uri=self.location,
            )
        if self._objects.list(""):
            raise InvalidParameterValue(
                f"{self.location} holds objects but is not a registry (it has no {SETTINGS_KEY}). Point the "
                "registry at an empty bucket or a new prefix.",
                uri=self.location,
            )
        settings = {"format_version": FORMAT_VERSION, "stage_policy": policy.to_dict(), "created": clock()}
        try:
            self._objects.put(SETTINGS_KEY, _dumps(settings), create_only=True)
            log.debug("registry: created %s with the %s policy", self.location, policy.name)
        except ObjectExists:
            pass  # another process created it meanwhile: use theirs
        return self._read_settings()

    def _read_settings(self) -> StagePolicy:
        data = self._objects.get(SETTINGS_KEY)
        try:
            settings = json.loads(data)
        except ValueError:
            settings = None
        if not isinstance(settings, dict) or "stage_policy" not in settings:
            raise CorruptRegistry(f"{self.location}/{SETTINGS_KEY} is not a registry settings file.", uri=self.location)
        if settings.get("format_version") != FORMAT_VERSION:
            raise CorruptRegistry(
                f"{self.location} has registry format {settings.get('format_version')!r}; this version of the "
                f"library reads format {FORMAT_VERSION}. Upgrade the library.",
                uri=self.location,
            )
        replica = settings.get("replica")
        if replica is not None and not (isinstance(replica, dict) and isinstance(replica.get("source"), str)):
            raise CorruptRegistry(
                f"{self.location}/{SETTINGS_KEY} holds a malformed replica marker {replica!r:.200}.", uri=self.location
            )
        # Read with the policy, so a writer that re-reads the settings before it decides (every write round)
        # also sees a replica marker another machine set or removed.
        self.replica = replica
        try:
            return StagePolicy.from_dict(settings["stage_policy"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptRegistry(f"{self.location} holds a malformed stage policy ({exc!r}).") from None

    def _update_settings(self, change: str, key: str, value: Any) -> None:
        """Set (or with ``None`` remove) one field of ``registry.json``. A read-modify-write without a lock:
        two machines changing the settings at the same moment can lose one change (the policy and the replica
        marker change rarely, and by hand or by the one sync into a replica)."""
        self.check_writable(change)
        with self._guard:
            settings = json.loads(self._objects.get(SETTINGS_KEY))
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
            self._objects.put(SETTINGS_KEY, _dumps(settings))
            self.policy = self._read_settings()

    def save_policy(self, policy: StagePolicy, *, as_replica: bool = False) -> None:
        """Store a new stage policy in ``registry.json``; every writer reads it again before it decides."""
        self.check_writable("change the stage policy")
        with self._guard:
            self.policy = self._read_settings()
            if not as_replica:
                self.refuse_replica_write("change the stage policy")
            self._update_settings("change the stage policy", "stage_policy", policy.to_dict())

    def read_policy(self) -> StagePolicy:
        with self._guard:
            self.policy = self._read_settings()
            return self.policy

    def set_replica(self, replica: dict[str, Any] | None) -> None:
        """Record (or with ``None`` remove) the replica marker in ``registry.json``, so every handle on every
        machine refuses ordinary writes from its next write on (writers read the settings before deciding)."""
        self._update_settings("mark the registry as a replica", "replica", None if replica is None else dict(replica))

    def replica_info(self) -> dict[str, Any] | None:
        with self._guard:
            self.policy = self._read_settings()
            return None if self.replica is None else dict(self.replica)

    # -- loading and catching up ----------------------------------------------------------------------------------

    def read_checkpoint(self) -> tuple[int, list[dict[str, Any]]] | None:
        """The checkpoint ``_last_checkpoint`` names: ``(seq, model documents)``; ``None`` if there is none or it
        cannot be read (a cold open then replays the journal from the start)."""
        try:
            hint = json.loads(self._objects.get(LAST_CHECKPOINT_KEY))
            seq = hint["seq"]
            body = json.loads(self._objects.get(checkpoint_key(seq)))
            if body.get("format") != FORMAT_VERSION or body.get("seq") != seq or not isinstance(body["models"], list):
                raise ValueError("not a checkpoint of this format")
            return seq, body["models"]
        except ObjectNotFound:
            return None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("registry: ignoring the checkpoint of %s (%s); replaying the journal", self.location, exc)
            return None

    def _load(self) -> None:
        """Cold start: the last checkpoint and the journal after it."""
        checkpoint = self.read_checkpoint()
        self._base = checkpoint if checkpoint is not None else (0, [])
        self._events = []
        try:
            self._state = self._base_state()
        except (CorruptRegistry, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("registry: ignoring the checkpoint of %s (%s); replaying the journal", self.location, exc)
            self._base = (0, [])
            self._state = self._base_state()
        self._fold_new()

    def _base_state(self) -> RegistryState:
        seq, docs = self._base
        state = RegistryState(self.artifact_root)
        for doc in docs:
            state.add_model(ModelState.from_doc(doc, self.artifact_root))
        state.seq = seq
        return state

    def read_commit(self, key: str) -> tuple[str | None, list[Event]]:
        """The commit id and events of one journal object.

        Raises:
            CorruptRegistry: the object is not a commit this format writes, or its events do not start at the
                seq its key names.
        """
        try:
            body = json.loads(self._objects.get(key))
            records = body["events"]
        except ObjectNotFound:
            raise CorruptRegistry(
                f"The journal object {key} of {self.location} disappeared after it was listed. Restore it from a "
                "backup (versioned buckets keep old copies).",
                uri=self.location,
                key=key,
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError):
            records = None
        try:
            if not isinstance(records, list):
                raise TypeError("no events")
            events = [Event.from_dict(r) for r in records]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CorruptRegistry(
                f"The journal object {key} of {self.location} is not a commit of this registry. Restore it from a "
                "backup (versioned buckets keep old copies).",
                uri=self.location,
                key=key,
            ) from None
        first = seq_of_key(key, JOURNAL)
        if not events or any(e.seq != first + i for i, e in enumerate(events)):  # type: ignore[operator]
            raise CorruptRegistry(
                f"The journal object {key} of {self.location} holds events that do not start at its number.",
                uri=self.location,
                key=key,
            )
        commit = body.get("commit")
        return (commit if isinstance(commit, str) else None), events

    def new_commits(self, after: int) -> list[str]:
        """The journal keys after position ``after``, in order (each must name the seq that comes next)."""
        keys = []
        for key in self._objects.list(JOURNAL, after=journal_key(after)):
            if seq_of_key(key, JOURNAL) is not None:
                keys.append(key)
        return keys

    def _fold_new(self) -> None:
        """Fold every commit after the state's position, each object whole (a reader never sees part of one)."""
        for key in self.new_commits(self._state.seq):
            if seq_of_key(key, JOURNAL) != self._state.seq + 1:
                raise CorruptRegistry(
                    f"The journal of {self.location} jumps from event {self._state.seq} to {key}: an object is "
                    "missing. Restore it from a backup.",
                    uri=self.location,
                    key=key,
                )
            _commit, events = self.read_commit(key)
            try:
                for event in events:
                    self._state.apply(event)
            except CorruptRegistry:
                self._needs_reload = True  # part of the object may be folded: start over on the next look
                raise
            self._events.extend(events)

    def _catch_up(self, *, writing: bool) -> None:
        if self._needs_reload:
            self._needs_reload = False
            self._load()
        self._fold_new()
        if writing:
            try:
                self.policy = self._read_settings()  # another machine may have changed it
            except ObjectNotFound:
                raise CorruptRegistry(
                    f"{self.location} has lost its {SETTINGS_KEY}; restore it from a backup.", uri=self.location
                ) from None

    def _reset_state(self) -> None:
        # The state holds events that never committed: rebuild it from the base and the committed events
        # (both in memory: no request).
        self._needs_reload = False
        state = self._base_state()
        for event in self._events:
            state.apply(event)
        self._state = state

    # -- committing -------------------------------------------------------------------------------------------------

    def _persist(self, events: list[Event]) -> None:
        self._upload_missing(events)
        key = journal_key(events[0].seq)
        commit = uuid.uuid4().hex
        body = _dumps({"format": FORMAT_VERSION, "commit": commit, "events": [e.to_dict() for e in events]})
        try:
            self._objects.put(key, body, create_only=True)
        except ObjectExists:
            # Either another writer took this position, or our own put landed and its response was lost (the
            # client retried and now hears "exists"): the commit id tells them apart.
            if not self._is_own_commit(key, commit):
                log.debug("registry: lost the race for %s; catching up", key)
                raise CommitConflict(key) from None
        except ObjectStorageError:
            # The put failed after its retries, maybe after it landed: look before giving up.
            try:
                own = self._is_own_commit(key, commit)
            except (ObjectNotFound, ObjectStorageError):
                raise  # the original error: not committed (as far as anyone can tell now)
            if not own:
                raise CommitConflict(key) from None
        self._events.extend(events)

    def _is_own_commit(self, key: str, commit: str) -> bool:
        """Whether the journal object at ``key`` is the commit with id ``commit``.

        Raises:
            ObjectNotFound: there is no object at ``key``.
        """
        self._objects.get(key)  # ObjectNotFound when nothing landed
        found, _events = self.read_commit(key)
        return found == commit

    def _after_commit(self, events: list[Event]) -> None:
        super()._after_commit(events)  # the local cache's copies of deleted models and versions
        published, self._published = self._published, {}
        self._staged, self._uploaded = {}, set()
        for staged_path, target in published.items():
            install_folder(staged_path, target)
        for event in events:
            if event.type == "registered_model.deleted" and event.model_id:
                self._delete_prefix(f"{MODELS}{event.model_id}/")
            elif event.type == "model_version.deleted" and event.model_id:
                self._delete_prefix(f"{MODELS}{event.model_id}/versions/{event.data['version']}/")
        first = events[0].seq
        if (first - 1) // self.checkpoint_every != self._state.seq // self.checkpoint_every:
            self.checkpoint()

    def _delete_prefix(self, prefix: str) -> None:
        for key in self._objects.list(prefix):
            self._objects.delete(key)

    def checkpoint(self) -> None:
        """Write the state at this handle's position as a checkpoint, then point ``_last_checkpoint`` at it."""
        self.check_writable("write a checkpoint")
        with self._guard:
            seq = self._state.seq
            if seq == 0:
                return
            docs = [model.to_doc() for model in self._state.models.values()]
            body = {"format": FORMAT_VERSION, "seq": seq, "models": docs}
            # A checkpoint's content is the journal's fold at its seq, so a second writer of the same key writes
            # the same bytes: overwriting is harmless. The hint may go backwards under a race: a longer replay.
            self._objects.put(checkpoint_key(seq), _dumps(body))
            self._objects.put(LAST_CHECKPOINT_KEY, _dumps({"seq": seq}))
            self._base, self._events = (seq, docs), []
            log.debug("registry: checkpoint of %s at seq %d (%d models)", self.location, seq, len(docs))

    def repair(self) -> None:
        """Rebuild the state from the whole journal and write a checkpoint of it (what ``check --fix`` does)."""
        self.check_writable("repair the registry")
        with self._guard:
            self._base, self._events = (0, []), []
            self._state = self._base_state()
            self._fold_new()
            self.checkpoint()

    def read_events(self, since: int = 0, limit: int | None = None) -> list[Event]:
        with self._guard:
            self._catch_up(writing=False)
            if since >= self._base[0]:
                chosen = [e for e in self._events if e.seq > since]
            else:
                chosen = [e for key in self.new_commits(0) for e in self.read_commit(key)[1] if e.seq > since]
        return chosen if limit is None else chosen[:limit]

    def journal_events(self) -> list[Event]:
        """Every committed event, read from the bucket (what ``check`` folds)."""
        return [event for key in self.new_commits(0) for event in self.read_commit(key)[1]]

    def close(self) -> None:
        pass  # nothing held open: obstore's connections close with the process

    # -- artifacts ----------------------------------------------------------------------------------------------

    def publish_artifacts(self, staged: StagedArtifacts, model_id: str, version: int) -> str:
        """Upload a staged copy as ``version``'s files (before the commit; again, under another number, when the
        commit lost a race). After the commit the copy becomes this machine's cached copy of the version."""
        self._staged[staged.digest] = staged.path
        self._upload(staged.path, model_id, version, staged.digest)
        return os.path.join(self.artifact_root, model_id, "versions", str(version))

    def _upload(self, source: str, model_id: str, version: int, digest: str) -> None:
        prefix = version_prefix(model_id, version, digest)
        files = []
        for folder, dirs, names in os.walk(source):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(folder, name)
                files.append((os.path.relpath(full, source).replace(os.sep, "/"), full))
        files.sort(key=lambda item: item[0] == MANIFEST_NAME)  # the manifest last
        for rel, full in files:
            with open(full, "rb") as f:
                self._objects.put(prefix + rel, f.read())
        self._uploaded.add(prefix)
        # Installed in the cache only once committed: the cache is shared by every process on this machine,
        # and a copy under a number this commit may still lose would be another version's folder meanwhile.
        self._published[source] = os.path.join(self.artifact_root, model_id, "versions", str(version))

    def _upload_missing(self, events: list[Event]) -> None:
        """Before a commit: every version it records with a digest this write staged has its files uploaded
        where the version says. A caller that publishes each copy once (a retry after a lost race may give the
        same files another number, or the model another id) is covered here, so no commit references a place
        that holds no files."""
        for model_id, version, digest in _versions_with_files(events):
            source = self._staged.get(digest)
            if source is not None and version_prefix(model_id, version, digest) not in self._uploaded:
                self._upload(source, model_id, version, digest)

    def discard_artifacts(self, staged: StagedArtifacts) -> None:
        self._published.pop(staged.path, None)
        if self._staged.get(staged.digest) == staged.path:
            del self._staged[staged.digest]
        self._uploaded = {p for p in self._uploaded if not p.endswith(f"/{staged.digest}/")}
        shutil.rmtree(staged.path, ignore_errors=True)

    def ensure_local(self, mv: ModelVersion) -> None:
        """Download version ``mv``'s files into the local cache unless a copy with the recorded manifest is
        there (see `registry.store.bucket_cache.download_version()`).

        Raises:
            ArtifactVerificationError: the bucket's files differ from those registered.
            ObjectStorageError: the bucket could not be read.
        """
        path, digest = mv.storage_location, mv.digest
        if path is None or digest is None or manifest_matches(path, digest):
            return
        model_id = os.path.basename(os.path.dirname(os.path.dirname(path)))
        prefix = version_prefix(model_id, mv.version, digest)
        download_version(self._objects, prefix, mv, path, self.staging_root)

    def remote_leftovers(self, state: RegistryState, grace: float) -> list[tuple[str, float]]:
        """Uploaded version folders no live version owns, older than ``grace`` seconds: ``(prefix, age)``.

        A writer uploads before it commits, so a folder younger than ``grace`` may belong to a commit in flight
        and is never listed."""
        now = time.time()
        newest: dict[str, float] = {}
        for key, modified in self._objects.list_times(MODELS):
            parts = key[len(MODELS) :].split("/")
            model = state.models.raw(parts[0])
            if not isinstance(model, ModelState):
                folder = f"{MODELS}{parts[0]}/"
            elif len(parts) >= 5 and parts[1] == "versions":
                folder = f"{MODELS}{parts[0]}/versions/{parts[2]}/{parts[3]}/"
                mv = model.versions.get(int(parts[2])) if parts[2].isdigit() else None
                if mv is not None and mv.digest == parts[3]:
                    continue
            else:
                folder = key  # not a place this library writes to
            newest[folder] = max(newest.get(folder, 0.0), modified)
        return [(folder, now - modified) for folder, modified in sorted(newest.items()) if now - modified >= grace]

    def remove_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix`` (``check --fix`` removing a leftover)."""
        self.check_writable("remove leftovers")
        self._delete_prefix(prefix)


def _versions_with_files(events: list[Event]) -> list[tuple[str, int, str]]:
    """``(model id, version, digest)`` of every version the events create with files of their own."""
    found = []
    for event in events:
        if not event.model_id:
            continue
        if event.type == "model_version.created":
            entries = [event.data]
        elif event.type == "registered_model.imported":
            entries = [v for v in event.data.get("versions") or [] if isinstance(v, dict)]
        else:
            continue
        for entry in entries:
            digest, number = entry.get("digest"), entry.get("version")
            if isinstance(digest, str) and isinstance(number, int):
                found.append((event.model_id, number, digest))
    return found
