"""MLflow's ``python_function`` format: `PyFuncModel`, loading any allowed flavor's directory, saving.

The public face is `registry.pyfunc` (MLflow's module name), which adds the default registry for
``models:/`` URIs; here a registry is always passed in. Only the loaders of the flavors registered
in `registry.flavors` are used; a ``loader_module`` named in a model directory is never imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidParameterValue
from registry.flavors import python_model as _python_model
from registry.flavors.loading import load_pyfunc_dir, save_flavor
from registry.flavors.model_api import PythonModel, PythonModelContext
from registry.models import model_dir
from registry.models.enforcement import enforce_params, enforce_schema
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.resolve import local_path_of, resolve_local_model, resolve_model_version
from registry.models.signature import ModelSignature
from registry.store.files import os_errors, path_text

if TYPE_CHECKING:
    from registry.domain.entities import ModelVersion
    from registry.models.resolve import ModelResolver

__all__ = ["PyFuncModel", "PythonModel", "PythonModelContext", "load_model", "save_model"]


class PyFuncModel:
    """A loaded model: ``predict(data, params=None)`` checks ``data`` and ``params`` against the signature
    (naming the column at fault when they do not fit) and calls the model.

    Attributes:
        metadata: the model's `MLmodel` document (``metadata.signature``, ...).
        path: the local directory it was loaded from.
        model_version: the registered `ModelVersion`, for a ``models:/`` URI.
    """

    def __init__(self, metadata: MLmodel, impl: Any, path: Path, model_version: ModelVersion | None = None) -> None:
        self.metadata = metadata
        self.path = path
        self.model_version = model_version
        self._impl = impl

    def __repr__(self) -> str:
        flavor = self.metadata.flavors.get(PYFUNC_FLAVOR, {}).get("loader_module")
        return f"<PyFuncModel loader_module={flavor!r} path={str(self.path)!r}>"

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict. ``data`` is passed on in the shape given (a DataFrame stays one, a list of row dicts stays
        one), after the signature's checks and safe conversions.

        Raises:
            InvalidParameterValue: ``data`` or ``params`` do not fit the signature; the message names the
                column, tensor or parameter.
        """
        signature = self.metadata.signature
        if signature is not None:
            data = enforce_schema(data, signature.inputs)
        return self._impl.predict(data, enforce_params(params, signature.params if signature is not None else None))

    def unwrap_python_model(self) -> PythonModel:
        """The `PythonModel` instance inside a custom model.

        Raises:
            InvalidParameterValue: for other flavors (use `get_raw_model()`).
        """
        if not isinstance(self._impl, _python_model.PythonModelImpl):
            raise InvalidParameterValue(
                "unwrap_python_model() only applies to models saved from a PythonModel; this one is a "
                f"{type(self._impl.unwrap()).__name__}; use get_raw_model() to get it."
            )
        return self._impl.unwrap()

    def get_raw_model(self) -> Any:
        """The underlying object: the PythonModel instance, the estimator of an ``sklearn`` model, the onnxruntime
        session of an ``onnx`` model, the booster of an ``xgboost`` or ``lightgbm`` model."""
        return self._impl.unwrap()

    @property
    def input_example(self) -> Any:
        """The input example saved with the model, or ``None``."""
        return model_dir.load_input_example(self.path, self.metadata)


def _load_dir(path: Path, model_config: Mapping[str, Any] | None, model_version: ModelVersion | None) -> PyFuncModel:
    mlmodel, impl = load_pyfunc_dir(path, model_config)
    return PyFuncModel(mlmodel, impl, path, model_version)


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    registry: ModelResolver | None = None,
    model_config: Mapping[str, Any] | None = None,
) -> PyFuncModel:
    """Load a model for prediction.

    Args:
        model_uri: a local path, a ``file:`` URI, or a ``models:/`` URI (``/3``, ``/Production``, ``/latest``,
            ``@champion``).
        registry: the registry ``models:/`` URIs refer to (required for them).
        model_config: handed to the model as ``context.model_config``.

    **Runs code**: the model is unpickled. A registered version's files are verified against their recorded
    digests first.

    Raises:
        ArtifactVerificationError: a registered version's files were changed after registration.
        ResourceDoesNotExist: no such model, version, alias or directory.
        InvalidParameterValue: a malformed URI, a ``runs:/`` URI, or a loader no registered flavor answers to.
        MissingDependency: the flavor's library is not installed.
    """
    text = path_text(model_uri, "Model URI")
    with os_errors(text, f"load the model {text!r}", writing=False):
        if local_path_of(text) is None:  # models:/
            mv = resolve_model_version(text, registry)
            version_dir = resolve_local_model(f"models:/{mv.name}/{mv.version}", registry=registry)
            return _load_dir(version_dir, model_config, mv)
        return _load_dir(resolve_local_model(text, registry=registry), model_config, None)


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel | None = None,
    *,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    sk_model: Any = None,
    serialization_format: str = "cloudpickle",
) -> MLmodel:
    """Save a model directory at ``path`` (a new or empty folder) in MLflow's format; returns its MLmodel.

    Exactly one of ``python_model`` (a `PythonModel`, saved in the ``python_function`` flavor with its
    ``artifacts`` copied alongside) and ``sk_model`` (any object with ``.predict``, saved in MLflow's
    ``sklearn`` layout) is given. Without a ``signature``, one is inferred from ``input_example``.

    Raises:
        ResourceAlreadyExists: ``path`` exists and is not empty.
        InvalidParameterValue: neither or both models given, or an argument of the wrong kind.
    """
    if (python_model is None) == (sk_model is None):
        raise InvalidParameterValue("Pass exactly one of python_model= (a PythonModel) or sk_model=.")
    if sk_model is not None:
        if artifacts or code_paths:
            raise InvalidParameterValue("artifacts= and code_paths= go with python_model=, not sk_model=.")
        return save_flavor(
            path,
            "sklearn",
            sk_model,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            metadata=metadata,
        )
    return save_flavor(
        path,
        PYFUNC_FLAVOR,
        python_model,
        artifacts=artifacts,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        metadata=metadata,
    )
