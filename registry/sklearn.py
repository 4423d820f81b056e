"""scikit-learn (and any object with ``.predict``) in MLflow's ``sklearn`` layout (MLflow's ``mlflow.sklearn``).

``save_model(sk_model, path)`` writes a model directory that MLflow loads too; ``log_model(sk_model, name=...)``
saves and registers it as a new version (in the default registry, or ``registry=``) and returns a ``ModelInfo``;
``load_model(uri)`` gives the object back from a path, a ``file:`` URI or a ``models:/`` URI. scikit-learn itself
is never required. **Loading runs the pickle**: load only models you trust; a registered version's files are
verified against their digests first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from registry.defaults import registry_for, registry_for_uri
from registry.flavors import pyfunc as _pyfunc
from registry.flavors import sklearn as _impl
from registry.flavors.model_info import ModelInfo, logged_name
from registry.models.mlmodel import MLmodel
from registry.models.signature import ModelSignature

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = ["ModelInfo", "load_model", "log_model", "save_model"]


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write ``sk_model`` (anything with ``.predict``) to ``path`` (a new or empty folder) as MLflow does.

    ``serialization_format`` is ``cloudpickle`` (MLflow's default) or ``pickle``. Returns the MLmodel written.
    """
    return _pyfunc.save_model(
        path,
        sk_model=sk_model,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=[*(pip_requirements or ()), *(extra_pip_requirements or ())] or None,
        metadata=metadata,
    )


def log_model(
    sk_model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    await_registration_for: int | None = None,
    tags: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> ModelInfo:
    """Save ``sk_model`` and register it as a new version, as ``mlflow.sklearn.log_model`` does.

    ``name`` (MLflow 3) or ``artifact_path`` (MLflow 2) names the logged model; ``registered_model_name`` is the
    registered model the version goes to (default: ``name``, since there is no run to log it into here).
    ``await_registration_for`` is accepted and ignored: registration is done when this returns.
    """
    del await_registration_for  # registration is synchronous here
    logged = logged_name(name, artifact_path, registered_model_name)
    _mv, info = registry_for(registry).log_model_info(
        sk_model=sk_model,
        name=logged,
        registered_model_name=registered_model_name or logged,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=[*(pip_requirements or ()), *(extra_pip_requirements or ())] or None,
        metadata=metadata,
        tags=tags,
    )
    return info  # type: ignore[no-any-return]


def load_model(model_uri: str | os.PathLike[str], *, registry: Registry | None = None) -> Any:
    """Load the model object itself (an estimator, or whatever was saved) from a model directory or URI.

    Accepts what `registry.pyfunc.load_model()` accepts; a registered version's digests are verified first.
    Runs the pickle: load only models you trust.
    """
    return _impl.load_model(model_uri, registry=registry_for_uri(model_uri, registry))
