"""``Registry.check``: verify the caches against the journal and every version's files, and find what a crash
or a hand edit left behind.

Problems (``report.problems``; ``report.ok`` is False while one is left unfixed):

* **journal_damaged**: the journal cannot be replayed (a damaged record before the last, or a record that is
  not an event this registry can apply). Never "fixed": restore the folder from a backup.
* **checkpoint_mismatch**: ``view.json`` names a journal position the journal does not have (the journal was
  truncated or replaced by an older copy), or its models differ from the journal's fold there.
* **document_mismatch**: a model document differs from the journal's fold at the event it claims, or claims an
  event that is not one of its model's (a hand edit: a forged tag, a raised ``seq``).
* **view_mismatch**: this handle's own view differs from the fold of the journal at its position.
* **history_mismatch**: a journal record does not match the hash chain (registry.domain.chain): it was edited,
  or records were removed or reordered. ``path`` is the journal's location, ``detail`` names the first record
  that does not match. Never "fixed": the registry cannot know the original records; restore from a backup.
* **corrupt_version**: a version's files no longer match the sha256 manifest recorded at registration. Never
  "fixed": the registry cannot know the right bytes. Re-register the model, or delete the version.

Leftovers (``report.leftovers``): garbage a crash leaves by design, which never makes ``ok`` False:

* **orphan_model_folder** / **orphan_version_folder** under ``models/``: a folder no live model or version owns
  (files are published before the event that references them, so a crash between the two leaves one).
* **staging_leftover** under ``tmp/``: a staged copy whose registration never committed. Copies younger than
  ``tmp_grace`` seconds are left alone even by ``fix``: staging happens outside the lock, a writer may be
  copying right now.
* **stray_temp_file**: a ``*.tmp`` file an atomic replace left in the folder, ``journal/`` or ``models/<id>/``.

With ``fix=True`` the folder store's documents and checkpoint are rebuilt from the journal (which also accepts a
journal shorter than its checkpoint, once the loss is known), and leftovers are removed. The folder scan runs
under the registry's write lock, so a version being published at that moment is never mistaken for an orphan;
a read-only registry is checked without the lock (and an orphan is reported only if it is still one after a
second look), and ``fix=True`` raises `ReadOnlyRegistry` there.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import attrs

from registry.domain.chain import ChainReport, verify_chain
from registry.domain.entities import ModelVersion
from registry.domain.progress import ProgressCallback
from registry.domain.state import RegistryState
from registry.errors import ArtifactVerificationError, CorruptRegistry, ReadOnlyRegistry, RegistryError
from registry.store.artifacts import stored_size, verify_artifacts
from registry.store.audit import audit_bucket, audit_folder
from registry.store.base import Store
from registry.store.bucket import BucketStore
from registry.store.files import os_errors
from registry.store.folder import FolderStore
from registry.store.progress import ProgressMeter

__all__ = ["CheckProblem", "CheckReport", "check_registry", "verify_version"]

TMP_GRACE_SECONDS = 3600.0


@attrs.frozen
class CheckProblem:
    """One finding: ``kind`` as in the module docstring; ``path`` the file or folder concerned; ``fixed``
    whether ``fix=True`` repaired or removed it; ``fixable`` whether ``fix=True`` would (so a report can
    suggest it only where it helps)."""

    kind: str
    path: str
    detail: str
    name: str | None = None
    version: int | None = None
    fixed: bool = False
    fixable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class CheckReport:
    """The result of `check_registry()`: how many versions' files were verified, the problems found, and
    the leftovers (garbage, never a failure)."""

    versions_checked: int
    problems: list[CheckProblem] = attrs.field(factory=list)
    rebuilt: bool = False
    leftovers: list[CheckProblem] = attrs.field(factory=list)
    history: ChainReport | None = None
    """What verifying the journal's hash chain found (None when the journal could not be read)."""

    @property
    def ok(self) -> bool:
        """True when the registry is sound: every problem found was fixed (leftovers do not count)."""
        return all(p.fixed for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "versions_checked": self.versions_checked,
            "rebuilt": self.rebuilt,
            "problems": [p.to_dict() for p in self.problems],
            "leftovers": [p.to_dict() for p in self.leftovers],
            "history": self.history.to_dict() if self.history is not None else None,
        }


def verify_version(mv: ModelVersion) -> None:
    """Check a version's own copy of its files against its recorded digest (a no-op for a version whose
    source was recorded as given, with no copy).

    Raises:
        ArtifactVerificationError: the files differ from those registered.
    """
    if mv.storage_location is not None and mv.digest is not None:
        verify_artifacts(mv.storage_location, mv.digest)


def check_registry(
    store: Store,
    *,
    fix: bool = False,
    tmp_grace: float = TMP_GRACE_SECONDS,
    progress: ProgressCallback | None = None,
) -> CheckReport:
    """Check the registry behind ``store`` (see the module docstring). Called as ``Registry.check(fix=...)``.
    ``progress`` is told the files and bytes of the versions verified so far (task ``check``).

    Raises:
        ReadOnlyRegistry: ``fix=True`` on a registry that is read-only.
    """
    if not isinstance(fix, bool):
        raise RegistryError(f"fix must be True or False, got {fix!r}.")
    if fix:
        store.check_writable("fix the registry")
    problems: list[CheckProblem] = []
    fold: RegistryState | None = None
    rebuilt = False
    # The chain first: a reordered or removed record can also make the journal unreplayable (journal_damaged),
    # and the chain is what names the first record that does not match.
    chain = _verify_history(store)
    chained = [] if chain is None or chain.ok else [CheckProblem("history_mismatch", store.location, chain.describe())]
    if isinstance(store, FolderStore | BucketStore):
        findings, fold = audit_folder(store) if isinstance(store, FolderStore) else audit_bucket(store)
        # The caches are rebuilt from the journal: a fix repairs them whenever the journal can be replayed.
        repairable = fold is not None
        problems += [CheckProblem(f.kind, f.path, f.detail, name=f.name, fixable=repairable) for f in findings]
        if fix and fold is not None:
            store.repair()
            rebuilt = True
            problems = [attrs.evolve(p, fixed=True) for p in problems]
        if fold is None:
            return CheckReport(versions_checked=0, problems=problems + chained, history=chain)
    problems += chained
    damaged = isinstance(store, FolderStore) and store.describe_damage() is not None
    if damaged:
        leftovers = []
    elif isinstance(store, BucketStore):
        leftovers = _scan_bucket(store, fix=fix, tmp_grace=tmp_grace)
    else:
        leftovers = _scan(store, fix=fix, tmp_grace=tmp_grace)
    # Versions' files, as the registry serves them (or as the journal has them, if the view refuses to serve).
    state = fold if damaged else None
    checked = 0
    with os_errors(store.location, "verify the versions' files", writing=False):
        if state is None:
            with store.reading() as live:
                versions = list(live.all_model_versions())
        else:
            versions = list(state.all_model_versions())
        stored = [
            mv
            for mv in sorted(versions, key=lambda v: (v.name, v.version))
            if mv.storage_location is not None and mv.digest is not None
        ]
        meter = ProgressMeter("check", *_totals(stored), progress)
        meter.start()
        for mv in stored:
            assert mv.storage_location is not None and mv.digest is not None
            checked += 1
            meter.current = f"{mv.name}/{mv.version}"
            try:
                store.ensure_local(mv)  # a bucket registry's versions are verified as downloaded
                verify_artifacts(mv.storage_location, mv.digest, meter)
            except ArtifactVerificationError as exc:
                problems.append(CheckProblem("corrupt_version", mv.storage_location, str(exc), mv.name, mv.version))
        meter.finish()
    return CheckReport(versions_checked=checked, problems=problems, rebuilt=rebuilt, leftovers=leftovers, history=chain)


def _totals(versions: list[ModelVersion]) -> tuple[int, int]:
    """Files and bytes to verify, for progress: from the manifests where they can be read (a bucket version not
    downloaded yet, or a damaged one, counts as nothing; verifying it reports it)."""
    files = size = 0
    for mv in versions:
        assert mv.storage_location is not None and mv.digest is not None
        try:
            n, b = stored_size(mv.storage_location, mv.digest)
        except (ArtifactVerificationError, OSError):
            continue
        files, size = files + n, size + b
    return files, size


def _verify_history(store: Store) -> ChainReport | None:
    try:
        with os_errors(store.location, "read the journal", writing=False):
            return verify_chain(store.read_events(0))
    except CorruptRegistry:
        return None  # a record that is not an event: journal_damaged says so


def _scan(store: Store, *, fix: bool, tmp_grace: float) -> list[CheckProblem]:
    found: list[CheckProblem] = []
    writable = not store.read_only
    if writable:
        try:
            store.check_writable("check the registry's folders under its lock")
        except ReadOnlyRegistry:
            writable = False

    def scan(state: RegistryState) -> list[Any]:
        # Runs inside the write funnel, under the lock and on fresh state: no version can be published
        # between this scan and the removals, so a folder judged orphan really is one. It commits nothing.
        found.extend(_scan_folders(state, store, tmp_grace, fix, locked=True))
        return []

    if writable:
        store.write(scan)
        return found
    # Read-only: no lock. A writer elsewhere may publish a version's files just before committing its event,
    # so a folder is reported as an orphan only if it still is one after catching up again.
    with os_errors(store.location, "check the registry's folders", writing=False):
        with store.reading() as state:
            first = _scan_folders(state, store, tmp_grace, fix=False, locked=False)
        with store.reading() as state:
            second = {p.path for p in _scan_folders(state, store, tmp_grace, fix=False, locked=False)}
    return [p for p in first if p.path in second]


def _scan_bucket(store: BucketStore, *, fix: bool, tmp_grace: float) -> list[CheckProblem]:
    """Uploaded version folders no live version owns, and local staging leftovers. There is no lock to hold
    writers off: an upload younger than ``tmp_grace`` may belong to a commit in flight, so it is never listed
    (as Delta Lake's VACUUM keeps files younger than its retention period)."""
    found: list[CheckProblem] = []
    with store.reading() as state:
        remote = store.remote_leftovers(state, tmp_grace)
        for prefix, age in remote:
            kind = "orphan_version_folder" if "/versions/" in prefix else "orphan_model_folder"
            detail = f"uploaded {age:.0f} s ago; no live version owns it (a writer stopped before its commit)"
            if fix:
                store.remove_prefix(prefix)
            found.append(CheckProblem(kind, f"{store.location}/{prefix}", detail, fixed=fix, fixable=True))
        found += [p for p in _scan_folders(state, store, tmp_grace, fix, locked=False) if p.kind == "staging_leftover"]
    return found


def _scan_folders(state: RegistryState, store: Store, tmp_grace: float, fix: bool, locked: bool) -> list[CheckProblem]:
    artifact_root, staging_root = store.artifact_root, store.staging_root
    problems = []
    if os.path.isdir(artifact_root):
        for model_id in sorted(os.listdir(artifact_root)):
            folder = os.path.join(artifact_root, model_id)
            if not os.path.isdir(folder):
                continue
            problems += _stray_temp_files(folder, fix and locked)
            if model_id not in state.models:
                problems.append(_found("orphan_model_folder", folder, "no registered model owns this folder", fix))
                continue
            model = state.models[model_id]
            versions_dir = os.path.join(folder, "versions")
            if not os.path.isdir(versions_dir):
                continue
            for entry in sorted(os.listdir(versions_dir)):
                if entry.isdigit() and int(entry) in model.versions:
                    continue
                path = os.path.join(versions_dir, entry)
                detail = f"model '{model.name}' has no live version {entry}"
                problems.append(_found("orphan_version_folder", path, detail, fix, name=model.name))
    if os.path.isdir(staging_root):
        now = time.time()
        for entry in sorted(os.listdir(staging_root)):
            path = os.path.join(staging_root, entry)
            try:
                age = now - os.stat(path).st_mtime
            except FileNotFoundError:
                continue  # a writer published or discarded it just now
            detail = f"staged {age:.0f} s ago and never registered"
            if age < tmp_grace:
                detail += f" (younger than {tmp_grace:.0f} s: a writer may still be copying it, so it is kept)"
            young = age < tmp_grace
            problems.append(_found("staging_leftover", path, detail, fix and not young, fixable=not young))
    if isinstance(store, FolderStore):
        for folder in (store.root, os.path.dirname(store.journal_path)):
            problems += _stray_temp_files(folder, fix and locked)
    return problems


def _stray_temp_files(folder: str, fix: bool) -> list[CheckProblem]:
    # Atomic replaces write '.<random>.tmp' next to their target, under the lock; one seen under the lock is
    # what a crash left.
    found = []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if entry.endswith(".tmp") and os.path.isfile(path):
            found.append(_found("stray_temp_file", path, "a temporary file an interrupted write left", fix))
    return found


def _found(
    kind: str, path: str, detail: str, fix: bool, name: str | None = None, *, fixable: bool = True
) -> CheckProblem:
    if fix:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    return CheckProblem(kind, path, detail, name=name, fixed=fix and not os.path.lexists(path), fixable=fixable)
