"""Resolving a model URI to a local model directory, verifying a registered version's files first.

Accepted: ``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``,
``models:/<name>@<alias>`` (against the registry the caller passes: this layer never picks a default), a
local path, and a ``file:`` URI. ``runs:/`` URIs belong to an MLflow tracking server, which this library does not
have; the error says what to pass instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from registry.domain.uris import is_models_uri, local_path
from registry.errors import InvalidParameterValue, ResourceDoesNotExist
from registry.store.artifacts import verify_artifacts
from registry.store.files import path_text

if TYPE_CHECKING:
    from registry.domain.entities import ModelVersion

__all__ = ["ModelResolver", "local_path_of", "resolve_local_model", "resolve_model_version", "resolve_version_dir"]


class ModelResolver(Protocol):
    """What resolving ``models:/`` URIs needs of a registry (`registry.Registry` is one)."""

    def resolve_model_uri(self, uri: str) -> ModelVersion: ...


def _runs_error(uri: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Cannot use {uri!r}: runs:/ URIs need an MLflow tracking server, which this registry does not have. "
        "Pass the local model directory (a path or file: URI), or a models:/<name>/<version> URI of a "
        "registered version.",
        uri=uri,
    )


def local_path_of(uri: str | os.PathLike[str]) -> Path | None:
    """The filesystem path a path or ``file:`` URI names; ``None`` for ``models:/``.

    Raises:
        InvalidParameterValue: for ``runs:/`` and for remote schemes (``s3:``, ``http:``, ...).
    """
    text = path_text(uri, "Model URI")
    if is_models_uri(text):
        return None
    if text.startswith("runs:"):
        raise _runs_error(text)
    path = local_path(text)  # the same reading of paths and file: URIs as registry locations get
    if path is None:
        raise InvalidParameterValue(
            f"Cannot load {text!r}: only local paths, file: URIs and models:/ URIs are supported. "
            "Download the model directory first and pass its path.",
            uri=text,
        )
    return Path(path).expanduser()


def resolve_model_version(uri: str, registry: ModelResolver | None) -> ModelVersion:
    """The registered version a ``models:/`` URI names in ``registry``.

    Raises:
        InvalidParameterValue: no registry was given to resolve it against.
    """
    if registry is None:
        raise InvalidParameterValue(
            f"Cannot resolve {uri!r} without a registry: pass registry= (or use registry.pyfunc.load_model, "
            "which resolves models:/ URIs against the default registry).",
            uri=uri,
        )
    return registry.resolve_model_uri(uri)


def _check_dir(path: Path, uri: str) -> Path:
    if not path.is_dir():
        raise ResourceDoesNotExist(f"Model directory {str(path)!r} (from {uri!r}) does not exist.", path=str(path))
    return path


def resolve_local_model(uri: str | os.PathLike[str], *, registry: ModelResolver | None = None) -> Path:
    """A local model directory for ``uri``; a registered version's files are verified before it is returned.

    Raises:
        ArtifactVerificationError: a registered version's files differ from the digests recorded at registration.
        ResourceDoesNotExist: no such model, version, alias, stage or directory.
        InvalidParameterValue: a malformed or unsupported URI (``runs:/``, ``s3://``, ...).
    """
    text = os.fspath(uri)
    path = local_path_of(text)
    if path is not None:
        return _check_dir(path, text)
    return resolve_version_dir(resolve_model_version(text, registry), registry=registry)


def resolve_version_dir(mv: ModelVersion, *, registry: ModelResolver | None = None) -> Path:
    """The local directory of a registered version, its files verified against the recorded digest first."""
    if mv.storage_location:
        if mv.digest:
            verify_artifacts(mv.storage_location, mv.digest)
        return _check_dir(Path(mv.storage_location), f"models:/{mv.name}/{mv.version}")
    # The version was registered from a source the registry did not copy; it can only be loaded if that
    # source is a local folder, and then there is nothing recorded to verify it against.
    source = mv.source or ""
    if is_models_uri(source):
        return resolve_local_model(source, registry=registry)
    try:
        source_path = local_path_of(source) if source else None
    except InvalidParameterValue:
        source_path = None
    if source_path is None:
        raise InvalidParameterValue(
            f"Version {mv.version} of {mv.name!r} points at {source!r}, which is not a local directory; "
            "download it and load the path instead.",
            name=mv.name,
            version=mv.version,
        )
    return _check_dir(source_path, source)
