"""A version's own copy of its files, and the sha256 manifest that lets a loader prove they are unchanged.

``MANIFEST.sha256`` sits at the top of the copy, in ``sha256sum`` format (``<hex>  <posix path>``, sorted by
path), listing every other file. The version records the sha256 of the manifest itself as its ``digest``, so
one recorded value pins every byte: :func:`verify_artifacts` checks the manifest against the digest, then every
file against the manifest, and refuses missing, extra or changed files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid

import attrs

from registry.errors import ArtifactVerificationError, InvalidParameterValue
from registry.store.files import fsync_dir

__all__ = [
    "MANIFEST_NAME",
    "StagedArtifacts",
    "build_manifest",
    "read_manifest",
    "stage_directory",
    "verify_artifacts",
]

MANIFEST_NAME = "MANIFEST.sha256"


def _sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _walk_files(root: str) -> list[str]:
    """Relative POSIX paths of every regular file under ``root``, except the manifest at the top."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel != MANIFEST_NAME:
                found.append(rel)
    return sorted(found)


def build_manifest(root: str) -> bytes:
    """The manifest text for the files under ``root``."""
    lines = [f"{_sha256_file(os.path.join(root, rel))}  {rel}\n" for rel in _walk_files(root)]
    return "".join(lines).encode()


@attrs.frozen
class StagedArtifacts:
    """A copy made under the registry's staging folder, waiting to be published as a version's files."""

    path: str
    digest: str


def stage_directory(source: str, staging_root: str, *, durable: bool) -> StagedArtifacts:
    """Copy the folder ``source`` under ``staging_root`` and write its manifest.

    Symbolic links are followed, so the copy holds real files and owes nothing to the source afterwards.
    """
    if not os.path.isdir(source):
        raise InvalidParameterValue(f"Model source {source!r} is not a folder.", source=source)
    target = os.path.join(staging_root, f"stage-{uuid.uuid4().hex}")
    try:
        shutil.copytree(source, target, symlinks=False, ignore=_ignore_top_manifest(source))
        manifest = build_manifest(target)
        with open(os.path.join(target, MANIFEST_NAME), "wb") as f:
            f.write(manifest)
        if durable:
            _fsync_tree(target)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidParameterValue(f"Cannot copy model source {source!r}: {exc}", source=source) from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return StagedArtifacts(path=target, digest=hashlib.sha256(manifest).hexdigest())


def _ignore_top_manifest(source: str):  # type: ignore[no-untyped-def]
    top = os.path.abspath(source)

    def ignore(folder: str, names: list[str]) -> list[str]:
        # A manifest inside the source is recomputed, never trusted.
        return [MANIFEST_NAME] if os.path.abspath(folder) == top and MANIFEST_NAME in names else []

    return ignore


def _fsync_tree(root: str) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(folder)


def read_manifest(path: str, digest: str) -> dict[str, str]:
    """The manifest of the files under ``path`` (posix path -> sha256), after checking it against ``digest``.

    Only the manifest is read and checked, not the files it lists (:func:`verify_artifacts` reads those too).

    Raises:
        ArtifactVerificationError: the manifest is missing, malformed or does not match ``digest``.
    """
    manifest_path = os.path.join(path, MANIFEST_NAME)
    try:
        with open(manifest_path, "rb") as f:
            manifest = f.read()
    except OSError:
        raise ArtifactVerificationError(
            f"Model files at {path} have no {MANIFEST_NAME}; they cannot be verified. Re-register the model.",
            path=path,
        ) from None
    if hashlib.sha256(manifest).hexdigest() != digest:
        raise ArtifactVerificationError(
            f"The manifest of the model files at {path} was changed after registration (its sha256 differs "
            "from the digest the registry recorded). Do not load these files; re-register the model.",
            path=path,
        )
    expected: dict[str, str] = {}
    for line in manifest.decode("utf-8", "replace").splitlines():
        hexdigest, _, rel = line.partition("  ")
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise ArtifactVerificationError(f"Malformed manifest line {line!r} in {manifest_path}.", path=path)
        expected[rel] = hexdigest
    return expected


def verify_artifacts(path: str, digest: str) -> None:
    """Check that the files under ``path`` are exactly those recorded under ``digest``.

    Raises:
        ArtifactVerificationError: the manifest is missing or does not match ``digest``, or a file is missing,
            added or changed. The message names the file.
    """
    expected = read_manifest(path, digest)
    present = _walk_files(path)
    for rel in present:
        if rel not in expected:
            raise ArtifactVerificationError(
                f"Model files at {path} contain '{rel}', which was not there at registration. Do not load "
                "them; remove the file or re-register the model.",
                path=path,
                file=rel,
            )
    for rel, hexdigest in expected.items():
        full = os.path.join(path, rel)
        if not os.path.isfile(full):
            raise ArtifactVerificationError(f"Model file '{rel}' is missing from {path}.", path=path, file=rel)
        if _sha256_file(full) != hexdigest:
            raise ArtifactVerificationError(
                f"Model file '{rel}' in {path} was changed after registration (sha256 mismatch). Do not load "
                "it; re-register the model.",
                path=path,
                file=rel,
            )
