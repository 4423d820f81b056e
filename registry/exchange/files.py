"""A registered version's files, each checked against its manifest (and the manifest against the version's
digest) before they leave the registry in a bundle or for an MLflow server."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from registry.domain.entities import ModelVersion
from registry.errors import ArtifactVerificationError

__all__ = ["MANIFEST_NAME", "verified_files"]

MANIFEST_NAME = "MANIFEST.sha256"
_MANIFEST = MANIFEST_NAME


def _sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verified_files(mv: ModelVersion) -> list[dict[str, Any]]:
    """The version's files as listed by its manifest, each checked against it (and the manifest against the
    version's digest) before it goes into a bundle."""
    assert mv.storage_location is not None and mv.digest is not None
    manifest_path = os.path.join(mv.storage_location, _MANIFEST)
    try:
        with open(manifest_path, "rb") as f:
            manifest = f.read()
    except OSError:
        raise ArtifactVerificationError(
            f"'{mv.name}' version {mv.version} has no {_MANIFEST}; run 'registry check'.", name=mv.name
        ) from None
    if hashlib.sha256(manifest).hexdigest() != mv.digest:
        raise ArtifactVerificationError(
            f"The manifest of '{mv.name}' version {mv.version} differs from its digest; run 'registry check'.",
            name=mv.name,
            version=mv.version,
        )
    files = []
    for line in manifest.decode().splitlines():
        digest, _, rel = line.partition("  ")
        full = os.path.join(mv.storage_location, *rel.split("/"))
        if _sha256_file(full) != digest:
            raise ArtifactVerificationError(
                f"File '{rel}' of '{mv.name}' version {mv.version} was changed after registration; run "
                "'registry check'.",
                name=mv.name,
                version=mv.version,
                file=rel,
            )
        files.append({"path": rel, "size": os.path.getsize(full), "sha256": digest})
    return files
