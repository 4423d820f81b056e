"""Replicas: a registry kept equal to another (a folder, any registry URI, or a bundle file) by ``sync_from``
(a mixin of `registry.Registry`; the source side is `registry.exchange.sync`, the rules the pure
command `registry.domain.replicas.plan_sync()`).

A sync, in order:

1. **Incremental**: the source's journal position (a bundle's size and time) is compared with the one the
   replica recorded at its last sync; when it has not moved (and the selections are the same), nothing is read.
2. **Verified, resumable**: each version the replica lacks has its files copied into the replica's ``tmp/``,
   every file checked against the source's manifest and the manifest against the version's digest. Verified
   copies are kept by digest, so an interrupted sync started again fetches only what it had not verified.
3. **Atomic for readers**: one write, one ``registered_model.synced`` record per model that changed, holding its
   whole state with its versions' transition requests and comments (or ``registered_model.deleted`` for one the
   source no longer offers), all of them one commit: a folder journal's commit is seen whole or not at all
   (`registry.store.journal`), a bucket's is one object. A reader of the replica sees every model before
   or every model after, never a mixture. The files are renamed into place before the records.
4. The source's stage policy comes along (a bundle carries none: the replica keeps its own); it is part of the
   position, so a policy changed at the source is synced even when its journal did not move.
5. The replica marker in ``registry.json`` (a folder's or a bucket's) records the source and the position
   reached; ordinary writes to the replica are refused (`ReplicaReadOnly`), by every
   handle and after a reopen, until `ReplicasMixin.detach_replica()`.

The source is always opened read-only, so a sync never writes to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from registry.errors import InvalidParameterValue, RegistryError

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    import threading
    from typing import Any

    from registry.client.sync_report import SyncReport
    from registry.domain.commands import Change
    from registry.domain.state import RegistryState
    from registry.exchange.sync import (
        SyncProgress,
    )
    from registry.store.artifacts import CopyLimits
    from registry.store.base import Store

__all__ = ["ReplicasMixin"]


class _Source:
    """An open source: a registry (opened read-only) or a bundle file (verified and read into a scratch
    in-memory registry, only when its position moved)."""

    def __init__(self, opener: Callable[..., Any], source: Any) -> None:
        from registry.exchange.arguments import path_argument

        self._opener = opener
        self._registry: Any = None
        self._owned = False
        self.bundle: str | None = None
        if hasattr(source, "last_event_seq") and hasattr(source, "list_registered_models"):
            self._registry, self.uri = source, str(source.uri)
            return
        text = path_argument(source, "sync source")
        if os.path.isfile(text):
            self.bundle = self.uri = os.path.abspath(text)
        else:
            self._registry = opener(text, read_only=True)
            self._owned = True
            self.uri = str(self._registry.uri)

    def position(self) -> Any:
        if self.bundle is not None:
            st = os.stat(self.bundle)
            return {"bundle_size": st.st_size, "bundle_mtime_ns": st.st_mtime_ns}
        assert self._registry is not None
        # The policy is not in the journal (registry.json holds it): a change of it alone moves the position too.
        return {"seq": self._registry.last_event_seq(), "policy": self._registry.stage_policy.to_dict()}

    def registry(self) -> Any:
        if self._registry is None:
            assert self.bundle is not None
            scratch = self._opener("memory://", durable=False)
            scratch.import_bundle(self.bundle)
            self._registry, self._owned = scratch, True
        return self._registry

    def close(self) -> None:
        if self._owned and self._registry is not None:
            self._registry.close()
        self._registry = None


def _clear(cache: str, *, keep_verified: bool) -> None:
    """Remove sync leftovers from the staging area: copies cut short (``sync-copy-*``, probes), and with
    ``keep_verified=False`` the verified copies and partial fetches kept for a resumed sync too. Only a holder of
    the sync lock calls this, so no other sync is using them; other writers' staged copies are not touched."""
    import shutil

    for entry in os.listdir(cache):
        if not entry.startswith("sync-"):
            continue
        if keep_verified and not entry.startswith(("sync-copy-", "sync-probe-")):
            continue
        shutil.rmtree(os.path.join(cache, entry), ignore_errors=True)


class ReplicasMixin:
    if TYPE_CHECKING:  # what the client provides
        _store: Store
        uri: str
        _clock: Callable[[], int]
        _copy_limits: CopyLimits

        def new_id(self) -> str: ...

        def _open_source(self, uri: str, **options: Any) -> Any: ...

    @property
    def replica_source(self) -> str | None:
        """The source this registry is a replica of (``None`` when it is not a replica)."""
        info = self._store.replica_info()
        return None if info is None else str(info["source"])

    def detach_replica(self) -> None:
        """Make this replica an ordinary registry: it keeps its models and accepts writes; it is no longer
        synced (a later ``sync_from`` into it is refused, as into any registry that holds models).

        Raises:
            InvalidParameterValue: the registry is not a replica.
        """
        if self._store.replica_info() is None:
            raise InvalidParameterValue(f"The registry at {self.uri} is not a replica; there is nothing to detach.")
        self._store.set_replica(None)

    def sync_from(
        self,
        source: Any,
        models: Iterable[str] | str | None = None,
        *,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Bring this registry up to date with ``source`` (see the module docstring), making it a replica of it.

        Args:
            source: a registry folder or URI (opened read-only), a bundle file, or an open `Registry`.
            models: selections (``NAME``, ``NAME@alias``, ``NAME/3``, ``NAME/Production``; ``None``: every
                model). Only the selected versions are held, with their metadata, stages and the aliases that
                point at them; what is no longer selected (or no longer exists at the source) is removed.
            progress: called with a `SyncProgress` as files are fetched.

        Returns:
            A `SyncReport`.

        Raises:
            InvalidParameterValue: this registry holds models and is not a replica, or is a replica of another
                source.
            ResourceDoesNotExist: the source, or a selection at the source, does not exist.
            ArtifactVerificationError: a source version's files do not match their digest; nothing was synced.
            ReadOnlyRegistry: this registry was opened read-only.
        """
        from registry.exchange.arguments import selections_argument

        selections = selections_argument(models)
        if progress is not None and not callable(progress):
            raise InvalidParameterValue(f"progress must be a callable or None, got {progress!r:.80}.")
        opened = _Source(self._open_source, source)
        try:
            with self._store.sync_lock():
                return self._sync(opened, selections, progress)
        finally:
            opened.close()

    def follow_sync(
        self,
        source: Any,
        models: Iterable[str] | str | None = None,
        *,
        interval: float = 5.0,
        stop: threading.Event | None = None,
        progress: Callable[[SyncProgress], None] | None = None,
        on_sync: Callable[[SyncReport], None] | None = None,
        on_error: Callable[[RegistryError], None] | None = None,
    ) -> None:
        """Keep this replica current: sync, then poll the source's journal every ``interval`` seconds and sync
        when it moved, until ``stop`` is set. A failed sync (the source unreachable, a damaged file) is handed
        to ``on_error`` (raised when none is given) and retried at the next poll; the replica keeps what it had.
        """
        import threading

        from registry.exchange.arguments import selections_argument

        if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
            raise InvalidParameterValue(f"The interval must be a positive number of seconds, got {interval!r:.80}.")
        selections = selections_argument(models)
        if stop is not None and not isinstance(stop, threading.Event):
            raise InvalidParameterValue(f"stop must be a threading.Event or None, got {stop!r:.80}.")
        for what, value in (("progress", progress), ("on_sync", on_sync), ("on_error", on_error)):
            if value is not None and not callable(value):
                raise InvalidParameterValue(f"{what} must be a callable or None, got {value!r:.80}.")
        stop = stop or threading.Event()
        opened: _Source | None = None
        try:
            while not stop.is_set():
                try:
                    if opened is None:
                        opened = _Source(self._open_source, source)
                    with self._store.sync_lock():
                        report = self._sync(opened, selections, progress)
                except RegistryError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
                    if opened is not None:
                        opened.close()
                    opened = None  # open the source afresh next time (it may have been restored)
                else:
                    if on_sync is not None:
                        on_sync(report)
                stop.wait(interval)
        finally:
            if opened is not None:
                opened.close()

    # -- one sync -------------------------------------------------------------------------------------------------

    def _sync(
        self, source: _Source, selections: list[str] | None, progress: Callable[[SyncProgress], None] | None
    ) -> SyncReport:
        import shutil

        from registry.client.sync_report import SyncReport
        from registry.domain.replicas import plan_sync
        from registry.domain.stages import StagePolicy
        from registry.domain.state import EventType
        from registry.exchange.sync import (
            Transfer,
            cache_path,
            describe_governance,
            describe_source,
            fetch_version,
            source_version,
        )
        from registry.store.artifacts import StagedArtifacts

        store = self._store
        store.check_writable("sync the registry")
        if source.uri == self.uri:
            raise InvalidParameterValue(f"A registry cannot be a replica of itself ({self.uri}).", path=self.uri)
        info = store.replica_info()
        if info is not None and info.get("source") != source.uri:
            raise InvalidParameterValue(
                f"The registry at {self.uri} is a replica of {info.get('source')}, not of {source.uri}. Sync it from "
                "its own source, or detach it first ('registry sync --detach').",
                path=self.uri,
            )
        if info is None:
            with store.reading() as state:
                if state.names():
                    raise InvalidParameterValue(
                        f"The registry at {self.uri} holds models and is not a replica: a sync would replace them. "
                        "Sync into an empty or new folder.",
                        path=self.uri,
                    )
        position = source.position()
        if info is not None and info.get("position") == position and info.get("models") == selections:
            return SyncReport(source=source.uri, up_to_date=True, position=position)
        src = source.registry()
        wanted, files = describe_source(src, selections)
        governance = describe_governance(src, wanted)
        with store.reading() as state:
            held = [mv for name in state.names() for mv in state.model(name).versions.values()]
        have = {(mv.name, mv.version): mv.digest for mv in held}
        local = {mv.digest: mv.storage_location for mv in held if mv.digest and mv.storage_location}
        lacking = {digest: key for key, digest in files.items() if have.get(key) != digest}
        needed = [source_version(src, name, number) for name, number in lacking.values()]
        limits = self._copy_limits
        for sv in needed:  # the same limits as any copy into this registry, checked before anything is fetched
            if sv.size > limits.max_bytes or len(sv.entries) > limits.max_files:
                raise InvalidParameterValue(
                    f"'{sv.name}' version {sv.version} at the source holds {sv.size} bytes in {len(sv.entries)} "
                    f"files, beyond this registry's limits ({limits.max_bytes} bytes, {limits.max_files} files); "
                    "nothing was synced. Open the replica with larger max_version_bytes / max_version_files.",
                    name=sv.name,
                    version=sv.version,
                )
        transfer = Transfer(sum(len(sv.entries) for sv in needed), sum(sv.size for sv in needed), progress)
        # The staging area exists once the store has made a folder there (the memory store makes it lazily).
        probe = store.staging_directory("sync-probe-")
        cache = os.path.dirname(probe)
        os.rmdir(probe)
        _clear(cache, keep_verified=True)  # what a killed sync left mid-copy (we hold the sync lock)
        fetched = {sv.digest: fetch_version(sv, cache, transfer, durable=store.durable) for sv in needed}
        transfer.report(finished=True)
        if info is None or info.get("models") != selections:
            # The marker first: from now on other writers are refused, and a crash leaves a replica to sync again.
            store.set_replica({"source": source.uri, "models": selections, "position": None})
        new_ids = {m.name: self.new_id() for m in wanted}
        now = self._clock()
        result: list[list[Change]] = []

        def decide(state: RegistryState) -> list[Change]:
            result[:] = [plan_sync(state, wanted, new_ids, now=now, origin=source.uri, governance=governance)]
            return result[0]

        def publish(changes: list[Change]) -> None:
            published: dict[str, str] = {}
            for change in changes:
                if change.type != EventType.REGISTERED_MODEL_SYNCED:
                    continue
                for v in change.data["versions"]:
                    digest, number = v.get("digest"), int(v["version"])
                    if digest is None or (have.get((change.name, number)) == digest and not change.data["created"]):
                        continue
                    copy_of = published.get(digest) or (None if digest in fetched else local.get(digest))
                    if copy_of is not None:
                        # Files already in the replica (two versions with the same files, or a model made again
                        # under a new id): each version gets its own copy.
                        path = store.staging_directory("sync-copy-")
                        os.rmdir(path)
                        shutil.copytree(copy_of, path)
                    else:
                        path = fetched.get(digest) or cache_path(cache, digest)
                        if not os.path.isdir(path):
                            raise RegistryError(
                                f"The verified files of '{change.name}' version {number} are gone from {cache} "
                                "(removed while the sync ran?); nothing was synced. Sync again.",
                                name=change.name,
                                version=number,
                            )
                    published[digest] = store.publish_artifacts(StagedArtifacts(path, digest), change.model_id, number)

        events = store.write(decide, publish=publish, as_replica=True)
        policy_synced = None
        if "policy" in position:  # a registry source (a bundle carries no policy: the replica keeps its own)
            policy = StagePolicy.from_dict(position["policy"])
            if policy != store.read_policy():
                store.save_policy(policy, as_replica=True)
                policy_synced = policy.name
        # The position last: a crash before this line only makes the next sync compare again (and find nothing).
        store.set_replica({"source": source.uri, "models": selections, "position": position})
        # Published copies were renamed away; what is left of this or earlier syncs' copies (versions found here
        # after all, digests the source no longer offers) is garbage now.
        _clear(cache, keep_verified=False)
        synced_events = [e for e in events if e.type == EventType.REGISTERED_MODEL_SYNCED]
        created = [e.name for e in synced_events if e.data.get("created")]
        synced = [e.name for e in synced_events if not e.data.get("created")]
        deleted = [e.name for e in events if e.type == EventType.REGISTERED_MODEL_DELETED and e.name not in created]
        return SyncReport(
            source=source.uri,
            created_models=[n for n in created if n is not None],
            synced_models=[n for n in synced if n is not None],
            deleted_models=[n for n in deleted if n is not None],
            files_fetched=transfer.files_fetched,
            bytes_fetched=transfer.bytes_fetched,
            bytes_reused=transfer.bytes_reused,
            position=position,
            policy=policy_synced,
        )
