"""The source side of a replica sync: what the source holds, and its versions' files fetched verified.

`describe_source()` reads the selected models of a source registry (anything with the client's public
reads) into `ImportedModel` values, each version with the manifest of its own
files. `fetch_version()` copies one version's files into a folder of the destination's staging area,
checking the manifest against the version's digest first and every file against the manifest as it is copied,
so nothing unverified is ever published. The copies are keyed by digest and kept across interruptions:
``<cache>/sync-<digest>`` is a complete, verified copy (a manifest included, ready to be renamed into place),
``<cache>/sync-<digest>.partial/`` holds the files copied so far, each renamed there only once verified, so
a sync started again re-reads (locally) what it has instead of fetching it again.

The destination side (one ``registered_model.synced`` record per model, the replica marker) is the client's:
`registry.Registry.sync_from()`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable

import attrs

from registry.domain.entities import ModelVersion
from registry.domain.governance import Comment, TransitionRequest
from registry.domain.imports import ImportedModel, ImportedVersion
from registry.errors import ArtifactVerificationError
from registry.exchange.bundle import allocated_top
from registry.exchange.files import MANIFEST_NAME
from registry.exchange.protocol import RegistryLike
from registry.exchange.selection import select_versions

__all__ = [
    "SourceVersion",
    "SyncProgress",
    "cache_path",
    "describe_governance",
    "describe_source",
    "fetch_version",
    "read_manifest_entries",
    "source_version",
]

_CHUNK = 1024 * 1024


@attrs.frozen
class SyncProgress:
    """How far a sync's file transfer is: files and bytes done out of the total to fetch, the bytes that were
    already here (verified copies from an interrupted sync), and the seconds since it started."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    bytes_reused: int
    elapsed: float
    current: str = ""
    finished: bool = False


@attrs.frozen
class SourceVersion:
    """Where a source version's files are and what they must be: its manifest's entries (path, sha256, size)."""

    name: str
    version: int
    location: str
    digest: str
    manifest: bytes
    entries: tuple[tuple[str, str, int], ...]

    @property
    def size(self) -> int:
        return sum(size for _, _, size in self.entries)


def _source_text(mv: ModelVersion) -> str | None:
    # The version's own copy as its source is a path in the source registry: meaningless in the replica.
    return None if mv.storage_location is not None and mv.source == mv.storage_location else mv.source


def read_manifest_entries(mv: ModelVersion) -> tuple[bytes, tuple[tuple[str, str, int], ...]]:
    """The manifest of a version's own copy, checked against its digest, and its entries with their sizes.

    Raises:
        ArtifactVerificationError: no manifest, a manifest that differs from the digest, or a listed file
            missing or unsafe.
    """
    assert mv.storage_location is not None and mv.digest is not None
    try:
        with open(os.path.join(mv.storage_location, MANIFEST_NAME), "rb") as f:
            manifest = f.read()
    except OSError:
        raise ArtifactVerificationError(
            f"'{mv.name}' version {mv.version} at the source has no {MANIFEST_NAME}; run 'registry check' there.",
            name=mv.name,
            version=mv.version,
        ) from None
    if hashlib.sha256(manifest).hexdigest() != mv.digest:
        raise ArtifactVerificationError(
            f"The manifest of '{mv.name}' version {mv.version} at the source differs from its digest; run "
            "'registry check' there.",
            name=mv.name,
            version=mv.version,
        )
    entries = []
    for line in manifest.decode("utf-8", "replace").splitlines():
        digest, _, rel = line.partition("  ")
        parts = rel.split("/")
        if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or len(digest) != 64:
            raise ArtifactVerificationError(
                f"The manifest of '{mv.name}' version {mv.version} lists an unsafe entry {line!r:.80}.",
                name=mv.name,
                version=mv.version,
            )
        try:
            size = os.path.getsize(os.path.join(mv.storage_location, *parts))
        except OSError:
            raise ArtifactVerificationError(
                f"File '{rel}' of '{mv.name}' version {mv.version} is missing at the source; run 'registry check'.",
                name=mv.name,
                version=mv.version,
                file=rel,
            ) from None
        entries.append((rel, digest, size))
    return manifest, tuple(entries)


def source_version(src: RegistryLike, name: str, version: int) -> SourceVersion:
    """Where the files of one source version are on this machine (a bucket registry downloads them into its
    verified cache first) and what they must be.

    Raises:
        ArtifactVerificationError: the version's manifest is damaged or a listed file is missing.
    """
    mv = src.fetch_version_files(name, version)
    manifest, entries = read_manifest_entries(mv)
    assert mv.storage_location is not None and mv.digest is not None
    return SourceVersion(name, version, mv.storage_location, mv.digest, manifest, entries)


def describe_source(
    src: RegistryLike, selections: Iterable[str] | None
) -> tuple[list[ImportedModel], dict[tuple[str, int], str]]:
    """The selected models of ``src`` as the replica is to hold them, and the digest of each version that has
    its own files (`source_version()` tells where they are, only for those the replica lacks). A whole
    model keeps its counter (numbers deleted at the source stay unused in the replica).

    Raises:
        ResourceDoesNotExist: a selection names nothing at the source.
        ArtifactVerificationError: a source version's manifest is damaged.
    """
    chosen = select_versions(src, selections)
    models: list[ImportedModel] = []
    files: dict[tuple[str, int], str] = {}
    for name in sorted(chosen):
        rm = src.get_registered_model(name)
        numbers = chosen[name]
        versions = [mv for mv in src.list_model_versions(name) if numbers is None or mv.version in numbers]
        kept = {mv.version for mv in versions}
        imported = []
        for mv in versions:
            own = mv.digest is not None
            imported.append(
                ImportedVersion(
                    version=mv.version,
                    source=_source_text(mv),
                    run_id=mv.run_id,
                    run_link=mv.run_link,
                    description=mv.description,
                    tags=dict(mv.tags),
                    stage=mv.current_stage,
                    digest=mv.digest if own else None,
                    user_id=mv.user_id,
                    creation_timestamp=mv.creation_timestamp,
                    last_updated_timestamp=mv.last_updated_timestamp,
                )
            )
            if own:
                assert mv.digest is not None
                files[(name, mv.version)] = mv.digest
        top = max(kept, default=0)
        counter = allocated_top(src.history(name)) + 1 if numbers is None else top + 1
        models.append(
            ImportedModel(
                name=name,
                description=rm.description,
                tags=dict(rm.tags),
                aliases={a: v for a, v in rm.aliases.items() if v in kept},
                versions=imported,
                creation_timestamp=rm.creation_timestamp,
                last_updated_timestamp=rm.last_updated_timestamp,
                next_version=max(counter, top + 1),
            )
        )
    return models, files


def describe_governance(
    src: RegistryLike, models: Iterable[ImportedModel]
) -> dict[str, tuple[list[TransitionRequest], list[Comment]]]:
    """Each model's transition requests (closed ones included) and comments at the source, on the versions the
    replica is to hold (requests on versions deleted at the source are not brought: there is no version to
    list them by)."""
    out: dict[str, tuple[list[TransitionRequest], list[Comment]]] = {}
    for m in models:
        requests: list[TransitionRequest] = []
        comments: list[Comment] = []
        for v in m.versions:
            requests.extend(src.list_transition_requests(m.name, v.version, include_closed=True))
            comments.extend(src.list_comments(m.name, v.version))
        if requests or comments:
            out[m.name] = (requests, comments)
    return out


def cache_path(cache: str, digest: str) -> str:
    """Where the verified copy of the files with ``digest`` is kept in the destination's staging area."""
    return os.path.join(cache, f"sync-{digest}")


def _hash_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Transfer:
    """Counts files and bytes across the versions of one sync and reports them to ``progress``, at most every
    ``every`` seconds (and once at the end)."""

    def __init__(
        self, files_total: int, bytes_total: int, progress: Callable[[SyncProgress], None] | None, every: float = 0.1
    ) -> None:
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done = self.bytes_done = self.bytes_reused = 0
        self.files_fetched = self.bytes_fetched = 0
        self._progress, self._every = progress, every
        self._start = time.monotonic()
        self._last = 0.0
        self.current = ""

    def report(self, *, finished: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if not finished and now - self._last < self._every:
            return
        self._last = now
        self._progress(
            SyncProgress(
                files_done=self.files_done,
                files_total=self.files_total,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total,
                bytes_reused=self.bytes_reused,
                elapsed=now - self._start,
                current=self.current,
                finished=finished,
            )
        )


def _copy_verified(source: str, target: str, digest: str, transfer: Transfer, durable: bool) -> bool:
    """Copy ``source`` to ``target`` through a temporary name, hashing as it goes; rename only when it matches."""
    part = f"{target}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # never shared, even by a concurrent sync
    h = hashlib.sha256()
    with open(source, "rb") as src, open(part, "wb") as out:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            out.write(chunk)
            transfer.bytes_done += len(chunk)
            transfer.bytes_fetched += len(chunk)
            transfer.report()
        if durable:
            out.flush()
            os.fsync(out.fileno())
    if h.hexdigest() != digest:
        os.unlink(part)
        return False
    os.replace(part, target)
    return True


def _drop_unlisted(root: str, listed: set[str]) -> None:
    """Remove what an interruption left that is not a listed file (a ``.part`` copy cut short), so the folder
    holds exactly the version's files."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            if os.path.relpath(full, root).replace(os.sep, "/") not in listed:
                os.unlink(full)


def fetch_version(sv: SourceVersion, cache: str, transfer: Transfer, *, durable: bool = True) -> str:
    """A complete, verified copy of ``sv``'s files (with its manifest) under ``cache``: the one kept from an
    earlier sync if it is there, else fetched (reusing what an interrupted fetch verified). Returns its path.

    Raises:
        ArtifactVerificationError: a source file does not match its manifest (it changed after registration).
    """
    done = cache_path(cache, sv.digest)
    transfer.current = f"{sv.name}/{sv.version}"
    if os.path.isdir(done):
        transfer.files_done += len(sv.entries)
        transfer.bytes_done += sv.size
        transfer.bytes_reused += sv.size
        transfer.report()
        return done
    partial = done + ".partial"
    os.makedirs(partial, exist_ok=True)
    for rel, digest, size in sv.entries:
        parts = rel.split("/")
        target = os.path.join(partial, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # A file an interrupted fetch left here was renamed into place only once verified; check it again
        # locally (cheaper than fetching it) in case the disk lost it.
        if os.path.isfile(target) and os.path.getsize(target) == size and _hash_file(target) == digest:
            transfer.bytes_done += size
            transfer.bytes_reused += size
        elif not _copy_verified(os.path.join(sv.location, *parts), target, digest, transfer, durable):
            raise ArtifactVerificationError(
                f"File '{rel}' of '{sv.name}' version {sv.version} at the source does not match its manifest (it "
                "changed after registration); nothing was synced. Run 'registry check' at the source.",
                name=sv.name,
                version=sv.version,
                file=rel,
            )
        else:
            transfer.files_fetched += 1
        transfer.files_done += 1
        transfer.report()
    _drop_unlisted(partial, {rel for rel, _, _ in sv.entries})
    with open(os.path.join(partial, MANIFEST_NAME), "wb") as f:
        f.write(sv.manifest)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    if durable:
        for folder, _dirs, _files in os.walk(partial):
            _fsync(folder)
    if os.path.exists(done):  # another sync of the same digest finished first
        shutil.rmtree(partial)
    else:
        os.replace(partial, done)
    if durable:
        _fsync(cache)
    return done
