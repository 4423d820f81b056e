"""registry: an embedded, file-backed ML model registry with MLflow Model Registry semantics and no server.

>>> from registry import Registry
>>> reg = Registry("memory://")
>>> reg.create_registered_model("fraud").name
'fraud'
"""

from registry import pyfunc
from registry.client import (
    DEFAULT_REGISTRY_FOLDER,
    MlflowClient,
    Registry,
    default_registry,
    get_registry_uri,
    set_registry_uri,
)
from registry.entities import ModelVersion, ModelVersionStatus, RegisteredModel
from registry.errors import (
    ArtifactVerificationError,
    CorruptRegistry,
    IllegalStageTransition,
    InvalidParameterValue,
    RegistryError,
    RegistryLockTimeout,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.mlmodel import MLmodel
from registry.model_registration import register_model
from registry.search import PagedList
from registry.signature import ModelSignature, infer_signature
from registry.stages import LIFECYCLE, MLFLOW, Stage, StageGuard, StagePolicy
from registry.state import Event, EventType

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_REGISTRY_FOLDER",
    "LIFECYCLE",
    "MLFLOW",
    "ArtifactVerificationError",
    "CorruptRegistry",
    "Event",
    "EventType",
    "IllegalStageTransition",
    "InvalidParameterValue",
    "MLmodel",
    "MlflowClient",
    "ModelSignature",
    "ModelVersion",
    "ModelVersionStatus",
    "PagedList",
    "RegisteredModel",
    "Registry",
    "RegistryError",
    "RegistryLockTimeout",
    "ResourceAlreadyExists",
    "ResourceDoesNotExist",
    "Stage",
    "StageGuard",
    "StagePolicy",
    "__version__",
    "default_registry",
    "get_registry_uri",
    "infer_signature",
    "pyfunc",
    "register_model",
    "set_registry_uri",
]
