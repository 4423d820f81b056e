"""``Registry.check``: verify every version's files and find what a crash or a hand edit left behind.

What it looks for:

* **corrupt versions**: a version whose files no longer match the sha256 manifest recorded at registration
  (missing, added or changed files). These are reported, never "fixed": the registry cannot know the right
  bytes. Re-register the model, or delete the version.
* **orphan folders** under ``models/``: a model folder whose model no longer exists, or a version folder no live
  version owns (a crash between publishing a version's files and committing its event leaves one, by design:
  files are published before the event that references them).
* **leftovers** under ``tmp/``: staged copies whose registration never committed.

With ``fix=True`` the orphans and leftovers are removed and the folder store's checkpoint (the model documents
and ``view.json``) is rebuilt from the journal. The scan runs under the registry's write lock, so a version
being published by another process at that moment is never mistaken for an orphan; staged copies younger than
``tmp_grace`` seconds are left alone, because staging happens outside the lock (a writer may be copying).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import attrs

from registry.domain.entities import ModelVersion
from registry.domain.state import RegistryState
from registry.errors import ArtifactVerificationError
from registry.store.artifacts import verify_artifacts
from registry.store.base import Store
from registry.store.folder import FolderStore

__all__ = ["CheckProblem", "CheckReport", "check_registry", "verify_version"]

TMP_GRACE_SECONDS = 3600.0


@attrs.frozen
class CheckProblem:
    """One finding: ``kind`` is ``corrupt_version``, ``orphan_model_folder``, ``orphan_version_folder`` or
    ``staging_leftover``; ``path`` the folder concerned; ``fixed`` whether ``fix=True`` removed it."""

    kind: str
    path: str
    detail: str
    name: str | None = None
    version: int | None = None
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class CheckReport:
    """The result of :func:`check_registry`: how many versions' files were verified, and what was found."""

    versions_checked: int
    problems: list[CheckProblem] = attrs.field(factory=list)
    rebuilt: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is left to worry about (every problem found was fixed)."""
        return all(p.fixed for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "versions_checked": self.versions_checked,
            "rebuilt": self.rebuilt,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_version(mv: ModelVersion) -> None:
    """Check a version's own copy of its files against its recorded digest (a no-op for a version whose
    source was recorded as given, with no copy).

    Raises:
        ArtifactVerificationError: the files differ from those registered.
    """
    if mv.storage_location is not None and mv.digest is not None:
        verify_artifacts(mv.storage_location, mv.digest)


def check_registry(store: Store, *, fix: bool = False, tmp_grace: float = TMP_GRACE_SECONDS) -> CheckReport:
    """Verify the registry behind ``store`` (see the module docstring). Called as ``Registry.check(fix=...)``."""
    problems: list[CheckProblem] = []
    checked = 0
    with store.reading() as state:
        versions = [mv for name in sorted(state.names()) for mv in state.model_versions(name)]
    for mv in versions:
        if mv.storage_location is None or mv.digest is None:
            continue
        checked += 1
        try:
            verify_artifacts(mv.storage_location, mv.digest)
        except ArtifactVerificationError as exc:
            problems.append(CheckProblem("corrupt_version", mv.storage_location, str(exc), mv.name, mv.version))
    found: list[CheckProblem] = []

    def scan(state: RegistryState) -> list[Any]:
        # Runs inside the write funnel, under the lock and on fresh state: no version can be published
        # between this scan and the removals, so a folder judged orphan really is one. It commits nothing.
        found.extend(_scan_folders(state, store.artifact_root, store.staging_root, tmp_grace, fix))
        if fix and isinstance(store, FolderStore):
            # The checkpoint rewrites only documents it believes stale; dropping view.json (a cache, never the
            # truth) makes the rebuild below rewrite every model document from the journal.
            try:
                os.remove(os.path.join(store.root, "view.json"))
            except FileNotFoundError:
                pass
        return []

    store.write(scan)
    problems.extend(found)
    rebuilt = False
    if fix and isinstance(store, FolderStore):
        store.rebuild()  # replays the journal and writes a fresh checkpoint when no writer holds the lock
        rebuilt = True
    return CheckReport(versions_checked=checked, problems=problems, rebuilt=rebuilt)


def _scan_folders(
    state: RegistryState, artifact_root: str, staging_root: str, tmp_grace: float, fix: bool
) -> list[CheckProblem]:
    problems = []
    if os.path.isdir(artifact_root):
        for model_id in sorted(os.listdir(artifact_root)):
            folder = os.path.join(artifact_root, model_id)
            if not os.path.isdir(folder):
                continue
            model = state.models.get(model_id)
            if model is None:
                problems.append(_found("orphan_model_folder", folder, "no registered model owns this folder", fix))
                continue
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
            problems.append(_found("staging_leftover", path, detail, fix and age >= tmp_grace))
    return problems


def _found(kind: str, path: str, detail: str, fix: bool, name: str | None = None) -> CheckProblem:
    if fix:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    return CheckProblem(kind, path, detail, name=name, fixed=fix and not os.path.lexists(path))
