"""registry: an embedded, file-backed ML model registry with MLflow Model Registry semantics and no server.

>>> from registry import Registry
>>> reg = Registry("memory://")
>>> reg.create_registered_model("fraud").name
'fraud'
"""

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
from registry.search import PagedList
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
    "MlflowClient",
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
    "set_registry_uri",
]
