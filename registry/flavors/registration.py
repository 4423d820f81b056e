"""Registering model directories: ``Registry.log_model`` and `register_model()`.

``log_model`` saves a model into a temporary staging folder and registers it in one call (creating the
registered model if needed); the registry copies the folder into its own storage with a sha256 manifest, so the
staging folder is removed afterwards. ``register_model`` registers an existing model directory (a path or a
``file:`` URI) or an existing version (``models:/``) under a name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from registry.errors import InvalidParameterValue, ResourceAlreadyExists
from registry.flavors.model_api import PythonModel
from registry.models import model_dir
from registry.models.resolve import local_path_of
from registry.store.files import path_text

if TYPE_CHECKING:
    from registry.domain.entities import ModelVersion, RegisteredModel
    from registry.models.mlmodel import MLmodel
    from registry.models.signature import ModelSignature

__all__ = ["Registrar", "log_model", "register_model"]


class Registrar(Protocol):
    """What registering needs of a registry (`registry.Registry` is one)."""

    def create_registered_model(self, name: str) -> RegisteredModel: ...

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion: ...

    def create_model_version_from_files(
        self,
        name: str,
        files: str,
        *,
        source: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion: ...

    def resolve_model_uri(self, uri: str) -> ModelVersion: ...


def _ensure_registered_model(reg: Registrar, name: str) -> None:
    try:
        reg.create_registered_model(name)
    except ResourceAlreadyExists:
        pass


def log_model(reg: Registrar, python_model: Any = None, **kwargs: Any) -> ModelVersion:
    """Save a model and create a version of ``registered_model_name`` from it (see ``Registry.log_model``)."""
    return log_model_with_mlmodel(reg, python_model, **kwargs)[0]


def log_model_with_mlmodel(
    reg: Registrar,
    python_model: Any = None,
    *,
    registered_model_name: str,
    sk_model: Any = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    serialization_format: str = "cloudpickle",
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    staging: Callable[[str], str] | None = None,
    flavor: str | None = None,
    flavor_options: Mapping[str, Any] | None = None,
) -> tuple[ModelVersion, MLmodel]:
    """Save a model and create a version of ``registered_model_name`` from it; also returns the saved MLmodel.

    A model object passed positionally goes where it belongs: a `PythonModel` is saved as one, anything
    else with a callable ``.predict`` in MLflow's ``sklearn`` layout (as ``sk_model=``).

    ``flavor`` names a registered flavor (``"onnx"``, ``"xgboost"``, ...) to save the positional model with
    instead, with ``flavor_options`` (its own ``save`` arguments: ``model_format=``, ...).

    ``staging(prefix)`` makes the folder the model is saved in first (the client passes its store's, inside the
    registry's ``tmp/``, so a crash leaves it where ``check`` finds it); the folder is removed afterwards.
    """
    from registry.flavors import pyfunc
    from registry.flavors.loading import save_flavor

    if not isinstance(registered_model_name, str) or not registered_model_name:
        raise InvalidParameterValue("log_model needs registered_model_name= (the name to register under).")
    if flavor is not None and (sk_model is not None or artifacts or code_paths):
        raise InvalidParameterValue(f"sk_model=, artifacts= and code_paths= do not go with flavor={flavor!r}.")
    if (
        flavor is None
        and sk_model is None
        and not isinstance(python_model, PythonModel)
        and callable(getattr(python_model, "predict", None))
    ):
        python_model, sk_model = None, python_model
    folder = staging("log-model-") if staging is not None else tempfile.mkdtemp(prefix="registry-log-model-")
    try:
        path = Path(folder) / "model"
        if flavor is not None:
            mlmodel = save_flavor(
                path,
                flavor,
                python_model,
                signature=signature,
                input_example=input_example,
                pip_requirements=pip_requirements,
                metadata=metadata,
                **dict(flavor_options or {}),
            )
        else:
            mlmodel = pyfunc.save_model(
                path,
                python_model,
                sk_model=sk_model,
                artifacts=artifacts,
                signature=signature,
                input_example=input_example,
                pip_requirements=pip_requirements,
                code_paths=code_paths,
                metadata=metadata,
                serialization_format=serialization_format,
            )
        _ensure_registered_model(reg, registered_model_name)
        # The staging folder is gone once this returns, so the version's source is its own copy in the registry.
        mv = reg.create_model_version_from_files(registered_model_name, str(path), tags=tags, description=description)
        return mv, mlmodel
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    *,
    registry: Registrar,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register an existing model as a new version of ``name`` (creating the registered model if needed).

    Args:
        model_uri: a model directory (path or ``file:`` URI) holding an ``MLmodel`` file, or a ``models:/`` URI
            of a registered version (its files are copied to the new version).
        name: the registered model's name.
        registry: where to register.

    Raises:
        InvalidParameterValue: a ``runs:/`` URI (pass the model directory instead) or another unsupported URI.
        ResourceDoesNotExist: the directory has no ``MLmodel`` file, or the ``models:/`` URI names nothing.
    """
    text = path_text(model_uri, "Model URI")
    path = local_path_of(text)  # raises for runs:/ and remote schemes, with what to pass instead
    if path is not None:
        model_dir.read_mlmodel(path)  # refuse a folder that is not a model before creating anything
        source = str(path.resolve())
    else:
        source = text
        registry.resolve_model_uri(text)
    _ensure_registered_model(registry, name)
    return registry.create_model_version(name, source, tags=tags, description=description)
