"""What ``log_model`` returns: MLflow's ``ModelInfo``, for the version a logged model became."""

from __future__ import annotations

from typing import Any

import attrs

from registry.domain.entities import ModelVersion
from registry.errors import InvalidParameterValue
from registry.models.mlmodel import MLmodel
from registry.models.signature import ModelSignature

__all__ = ["ModelInfo", "logged_name", "model_info"]


@attrs.frozen
class ModelInfo:
    """A logged model, as MLflow's ``ModelInfo`` describes it.

    Attributes:
        name: the name it was logged under (MLflow 3's ``name``, MLflow 2's ``artifact_path``).
        artifact_path: the same name (MLflow 2 code reads this one).
        model_uri: the ``models:/<name>/<version>`` URI of the registered version (load it with
            ``registry.pyfunc.load_model``).
        registered_model_version: the new version's number.
        flavors: the MLmodel's flavors (``python_function`` and, for scikit-learn, ``sklearn``).
        signature: the model's signature (given or inferred from the input example), or ``None``.
        metadata: the user metadata stored in the MLmodel, or ``None``.
        model_uuid: the MLmodel's UUID.
        utc_time_created: when the model directory was written (MLflow's time string).
        run_id: always ``None``: there are no runs here.
    """

    name: str
    artifact_path: str
    model_uri: str
    registered_model_version: int
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    metadata: dict[str, Any] | None
    model_uuid: str | None
    utc_time_created: str | None
    run_id: None = None


def model_info(name: str, mv: ModelVersion, mlmodel: MLmodel) -> ModelInfo:
    """The ModelInfo of ``mv``, logged under ``name`` from the model directory ``mlmodel`` describes."""
    return ModelInfo(
        name=name,
        artifact_path=name,
        model_uri=f"models:/{mv.name}/{mv.version}",
        registered_model_version=mv.version,
        flavors={k: dict(v) for k, v in mlmodel.flavors.items()},
        signature=mlmodel.signature,
        metadata=dict(mlmodel.metadata) if mlmodel.metadata is not None else None,
        model_uuid=mlmodel.model_uuid,
        utc_time_created=mlmodel.utc_time_created,
    )


def logged_name(name: str | None, artifact_path: str | None, registered_model_name: str | None) -> str:
    """The name a model is logged under: MLflow 3's ``name`` or MLflow 2's ``artifact_path`` (the same thing),
    else the registered model's name.

    Raises:
        InvalidParameterValue: none of them given, or ``name`` and ``artifact_path`` that disagree.
    """
    if name is not None and artifact_path is not None and name != artifact_path:
        raise InvalidParameterValue(
            f"name={name!r} and artifact_path={artifact_path!r} are the same thing (MLflow 3 and MLflow 2 "
            "spellings): pass one."
        )
    chosen = name if name is not None else artifact_path if artifact_path is not None else registered_model_name
    if not isinstance(chosen, str) or not chosen:
        raise InvalidParameterValue(
            "log_model needs name= (or MLflow 2's artifact_path=) or registered_model_name=: the model is "
            "registered as a new version of registered_model_name (default: name)."
        )
    return chosen
