"""The client's methods on model files: log, register, load and export models (a mixin of
`registry.Registry`; the logic is in `registry.flavors.registration` and `registry.flavors.pyfunc`).
"""

from __future__ import annotations

import os

from registry.errors import InvalidParameterValue, ResourceAlreadyExists

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.domain.entities import ModelVersion, ModelVersionFile
    from registry.domain.progress import ProgressCallback
    from registry.flavors.registration import Registrar
    from registry.store.base import Store

__all__ = ["ModelFilesMixin"]


class ModelFilesMixin:
    if TYPE_CHECKING:  # what the client provides

        def resolve_model_uri(self, uri: str) -> ModelVersion: ...

        _store: Store

        def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

        def fetch_version_files(self, name: str, version: int | str) -> ModelVersion: ...

    def log_model(self, python_model: Any = None, **kwargs: Any) -> ModelVersion:
        """Save a model and register it as a new version in one call, creating the registered model if needed.

        ``reg.log_model(python_model=... or sk_model=..., registered_model_name=..., artifacts=...,
        input_example=..., signature=..., pip_requirements=..., code_paths=..., metadata=..., tags=...,
        description=...)``; see `registry.flavors.registration.log_model()`. A model passed positionally may
        be a ``PythonModel`` or anything with ``.predict`` (saved in the sklearn layout); with ``flavor="onnx"`` (or
        any registered flavor's name) it is saved with that flavor, ``flavor_options=`` being that flavor's own
        save arguments. Returns the new ModelVersion.
        """
        return self.log_model_info(python_model, **kwargs)[0]

    def log_model_info(self, python_model: Any = None, *, name: str | None = None, **kwargs: Any) -> Any:
        """`log_model()`, also returning MLflow's ``ModelInfo``: ``(ModelVersion, ModelInfo)``; ``name`` is
        the name the model was logged under (default: the registered model's). What ``registry.pyfunc.log_model``
        and ``registry.sklearn.log_model`` call."""
        import typing

        from registry.flavors.model_info import model_info
        from registry.flavors.registration import log_model_with_mlmodel

        mv, mlmodel = log_model_with_mlmodel(
            typing.cast("Registrar", self), python_model, staging=self._store.staging_directory, **kwargs
        )
        return mv, model_info(name or mv.name, mv, mlmodel)

    def register_model(self, model_uri: str | os.PathLike[str], name: str, **kwargs: Any) -> ModelVersion:
        """Register a model directory (path or ``file:`` URI) or a ``models:/`` version under ``name``."""
        import typing

        from registry.flavors.registration import register_model

        return register_model(model_uri, name, registry=typing.cast("Registrar", self), **kwargs)

    def load_model(self, model_uri: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Load a model for prediction, resolving ``models:/`` URIs against this registry (verifies digests;
        unpickling runs code). Returns a `registry.pyfunc.PyFuncModel`."""
        from registry.flavors import pyfunc

        return pyfunc.load_model(model_uri, registry=self, **kwargs)

    def export_model_version(
        self, model_uri: str, dest: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> str:
        """Copy a registered version's files into the new or empty folder ``dest``, verified against their
        digests as they are copied (the folder appears only once every file matched: never a copy that differs
        from what was registered). Returns ``dest``, absolute. ``progress`` is told the files and bytes copied
        (task ``export``).

        Raises:
            InvalidParameterValue: the version has no files in the registry (its source was recorded as given).
            ResourceAlreadyExists: ``dest`` exists and is not an empty folder.
            ArtifactVerificationError: the stored files differ from those registered.
        """

        from registry.store.progress import check_callback

        mv = self.resolve_model_uri(model_uri)
        if mv.storage_location is None:
            raise InvalidParameterValue(
                f"'{mv.name}' version {mv.version} has no files in the registry: its source {mv.source!r} was "
                "recorded as given. Copy from there instead.",
                name=mv.name,
                version=mv.version,
            )
        target = os.path.abspath(os.fspath(dest))
        if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
            raise ResourceAlreadyExists(
                f"{target} exists and is not an empty folder; export into a new one.", path=target
            )
        from registry.store.artifacts import copy_verified

        assert mv.digest is not None  # every stored copy has one
        copy_verified(mv.storage_location, mv.digest, target, progress=check_callback(progress))
        return target

    def list_model_version_files(self, name: str, version: int | str) -> list[ModelVersionFile]:
        """The files of a version's own copy in the registry, sorted by path, each with the sha256 its manifest
        recorded at registration and its size now. Empty for a version whose source was recorded as given.

        The manifest itself is checked against the version's digest; the files are not read (``registry check``
        and every load verify them).

        Raises:
            ResourceDoesNotExist: no such model or version.
            ArtifactVerificationError: the manifest is missing or differs from the one registered.
        """
        from registry.domain.entities import ModelVersionFile
        from registry.store.artifacts import read_manifest

        mv = self.fetch_version_files(name, version)
        if mv.storage_location is None or mv.digest is None:
            return []
        manifest = read_manifest(mv.storage_location, mv.digest)
        files = []
        for rel, sha256 in sorted(manifest.items()):
            try:
                size: int | None = os.stat(os.path.join(mv.storage_location, *rel.split("/"))).st_size
            except OSError:
                size = None
            files.append(ModelVersionFile(path=rel, sha256=sha256, size=size))
        return files
