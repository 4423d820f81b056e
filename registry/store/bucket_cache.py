"""The local cache of a bucket registry: versions' files downloaded once, verified, and never half-installed.

A version's files are downloaded into a temporary folder next to the cache, every file checked against the
version's digest (`registry.store.artifacts.verify_artifacts()`), and only then renamed into place, so a
download that fails midway, or files in the bucket that differ from those registered, never become a folder a
loader could open. The cache is shared by every process of the user on the machine; folders are replaced by
renames only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import uuid

from registry.domain.entities import ModelVersion
from registry.errors import ArtifactVerificationError
from registry.store.artifacts import MANIFEST_NAME, verify_artifacts
from registry.store.objects import ObjectStorage

__all__ = ["default_cache_dir", "download_version", "install_folder", "manifest_matches"]

log = logging.getLogger(__name__)


def default_cache_dir(url: str) -> str:
    """The local cache of a bucket registry: ``$REGISTRY_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlregistry``,
    else ``~/.cache/mlregistry``; one folder per registry URL (its sha256, so no URL text becomes a path)."""
    base = os.environ.get("REGISTRY_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "mlregistry")
    return os.path.join(os.path.abspath(base), hashlib.sha256(url.encode()).hexdigest()[:32])


def manifest_matches(path: str, digest: str) -> bool:
    """Whether the folder ``path`` holds a manifest with sha256 ``digest`` (a cached copy of that version; the
    loader verifies every file against it before loading)."""
    try:
        with open(os.path.join(path, MANIFEST_NAME), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest() == digest
    except OSError:
        return False


def install_folder(source: str, target: str) -> None:
    """Move the folder ``source`` to ``target`` (replacing what is there) by renames only, so no reader ever
    sees a half-written folder at ``target``."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    old = None
    if os.path.exists(target):
        old = f"{target}.old-{uuid.uuid4().hex}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(target, old)
    try:
        os.rename(source, target)
    except OSError:
        if not os.path.isdir(target):
            raise
        shutil.rmtree(source, ignore_errors=True)  # another process installed a copy just now
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def download_version(objects: ObjectStorage, prefix: str, mv: ModelVersion, target: str, staging: str) -> None:
    """Download the objects under ``prefix`` (version ``mv``'s files) into ``target``, through a temporary
    folder under ``staging``, verified against ``mv.digest`` before it is renamed into place.

    Raises:
        ArtifactVerificationError: the files are missing, have an unsafe name, or differ from those registered.
        ObjectStorageError: the bucket could not be read.
    """
    assert mv.digest is not None
    keys = objects.list(prefix)
    if prefix + MANIFEST_NAME not in keys:
        raise ArtifactVerificationError(
            f"Version {mv.version} of '{mv.name}' has no files in {objects.url} ({prefix} is missing or "
            "incomplete). Re-register the model, or restore the files from a backup.",
            name=mv.name,
            version=mv.version,
        )
    os.makedirs(staging, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="download-", dir=staging)
    try:
        for key in keys:
            rel = key[len(prefix) :]
            parts = rel.split("/")
            if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                # A key is user-controlled text as far as this machine knows: it never becomes a path outside.
                raise ArtifactVerificationError(
                    f"The bucket holds an unsafe file name {rel!r} under version {mv.version} of '{mv.name}'; "
                    "it was not downloaded.",
                    name=mv.name,
                    version=mv.version,
                )
            local = os.path.join(scratch, *parts)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as f:
                f.write(objects.get(key))
        verify_artifacts(scratch, mv.digest)
        install_folder(scratch, target)
        log.debug("registry: downloaded version %d of %r into %s", mv.version, mv.name, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
