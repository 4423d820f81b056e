"""XGBoost models in MLflow's ``xgboost`` layout, as XGBoost's own model file (MLflow's ``mlflow.xgboost``).

``save_model(xgb_model, path)`` writes a model directory in MLflow's layout (``mlflow.xgboost.load_model`` and
``mlflow.pyfunc.load_model`` load it), ``log_model(xgb_model, name=...)`` saves and registers it as a new version
(in the default registry, or ``registry=``) and returns a ``ModelInfo``, and ``load_model(uri)`` gives the XGBoost
model (a ``Booster`` or the scikit-learn model that was saved) back. Saving and loading need ``xgboost``. Without it
these raise `MissingDependency` naming the extra: ``pip install 'mlregistry[xgboost]'``.
``registry.pyfunc.load_model`` loads the same directories for prediction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from registry.defaults import registry_for, registry_for_uri
from registry.flavors.loading import load_flavor_model, save_flavor
from registry.flavors.model_info import ModelInfo, logged_name
from registry.flavors.xgboost import FLAVOR_NAME
from registry.models.mlmodel import MLmodel
from registry.models.signature import ModelSignature

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = ["ModelInfo", "load_model", "log_model", "save_model"]


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    *,
    model_format: str = "ubj",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write ``xgb_model`` to ``path`` (a new or empty folder) as ``mlflow.xgboost.save_model`` does; returns the
    MLmodel written.

    ``model_format`` is ``ubj`` (MLflow's default), ``json`` or ``deprecated``.

    Raises:
        MissingDependency: ``xgboost`` is not installed (nothing is written).
        ResourceAlreadyExists: ``path`` exists and is not empty.
        InvalidParameterValue: ``xgb_model`` is not a model this flavor saves, or an option is wrong.
    """
    return save_flavor(
        path,
        FLAVOR_NAME,
        xgb_model,
        model_format=model_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=[*(pip_requirements or ()), *(extra_pip_requirements or ())] or None,
        metadata=metadata,
    )


def log_model(
    xgb_model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    await_registration_for: int | None = None,
    tags: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> ModelInfo:
    """Save ``xgb_model`` and register it as a new version, as ``mlflow.xgboost.log_model`` does.

    ``name`` (MLflow 3) or ``artifact_path`` (MLflow 2) names the logged model; ``registered_model_name`` is the
    registered model the version goes to (default: ``name``). ``await_registration_for`` is accepted and
    ignored: registration is done when this returns. Options as `save_model()`.
    """
    del await_registration_for  # registration is synchronous here
    logged = logged_name(name, artifact_path, registered_model_name)
    _mv, info = registry_for(registry).log_model_info(
        xgb_model,
        name=logged,
        registered_model_name=registered_model_name or logged,
        flavor=FLAVOR_NAME,
        flavor_options={"model_format": model_format},
        signature=signature,
        input_example=input_example,
        pip_requirements=[*(pip_requirements or ()), *(extra_pip_requirements or ())] or None,
        metadata=metadata,
        tags=tags,
    )
    return info  # type: ignore[no-any-return]


def load_model(model_uri: str | os.PathLike[str], *, registry: Registry | None = None) -> Any:
    """Load the XGBoost model (a ``Booster`` or the scikit-learn model that was saved) from a model directory
    (a path or ``file:`` URI) or a ``models:/`` URI.

    A registered version's files are verified against their digests first. Needs ``xgboost``.

    Raises:
        MissingDependency: ``xgboost`` is not installed (``pip install 'mlregistry[xgboost]'``).
        InvalidParameterValue: the directory holds no ``xgboost`` flavor.
    """
    return load_flavor_model(model_uri, FLAVOR_NAME, registry=registry_for_uri(model_uri, registry))
