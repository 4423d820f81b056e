"""registry: an embedded, file-backed ML model registry with MLflow Model Registry semantics and no server.

>>> from registry import Registry
>>> reg = Registry("memory://")
>>> reg.create_registered_model("fraud").name
'fraud'
"""

import importlib
import typing

if typing.TYPE_CHECKING:
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

# ``import registry`` stays cheap (an edge device pays for every import at start-up): names load on first use.
_LAZY: dict[str, tuple[str, str | None]] = {
    "ArtifactVerificationError": ("registry.errors", "ArtifactVerificationError"),
    "CorruptRegistry": ("registry.errors", "CorruptRegistry"),
    "default_registry": ("registry.client", "default_registry"),
    "DEFAULT_REGISTRY_FOLDER": ("registry.client", "DEFAULT_REGISTRY_FOLDER"),
    "Event": ("registry.state", "Event"),
    "EventType": ("registry.state", "EventType"),
    "get_registry_uri": ("registry.client", "get_registry_uri"),
    "IllegalStageTransition": ("registry.errors", "IllegalStageTransition"),
    "infer_signature": ("registry.signature", "infer_signature"),
    "InvalidParameterValue": ("registry.errors", "InvalidParameterValue"),
    "LIFECYCLE": ("registry.stages", "LIFECYCLE"),
    "MLFLOW": ("registry.stages", "MLFLOW"),
    "MlflowClient": ("registry.client", "MlflowClient"),
    "MLmodel": ("registry.mlmodel", "MLmodel"),
    "ModelSignature": ("registry.signature", "ModelSignature"),
    "ModelVersion": ("registry.entities", "ModelVersion"),
    "ModelVersionStatus": ("registry.entities", "ModelVersionStatus"),
    "PagedList": ("registry.search", "PagedList"),
    "pyfunc": ("registry.pyfunc", None),
    "register_model": ("registry.model_registration", "register_model"),
    "RegisteredModel": ("registry.entities", "RegisteredModel"),
    "Registry": ("registry.client", "Registry"),
    "RegistryError": ("registry.errors", "RegistryError"),
    "RegistryLockTimeout": ("registry.errors", "RegistryLockTimeout"),
    "ResourceAlreadyExists": ("registry.errors", "ResourceAlreadyExists"),
    "ResourceDoesNotExist": ("registry.errors", "ResourceDoesNotExist"),
    "set_registry_uri": ("registry.client", "set_registry_uri"),
    "Stage": ("registry.stages", "Stage"),
    "StageGuard": ("registry.stages", "StageGuard"),
    "StagePolicy": ("registry.stages", "StagePolicy"),
}


def __getattr__(name: str) -> typing.Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'registry' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
