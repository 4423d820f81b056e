"""registry: an embedded, file-backed ML model registry with MLflow Model Registry semantics and no server.

>>> from registry import Registry
>>> reg = Registry("memory://")
>>> reg.create_registered_model("fraud").name
'fraud'
"""

import importlib

# `typing` costs a few milliseconds to import, and `from registry import Registry` is meant to cost little more
# than Python's own start (tests/test_import_set.py): the modules it loads name typing's names only for the type
# checker, which takes any constant called TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from registry import lightgbm, onnx, pyfunc, sklearn, xgboost
    from registry.client import (
        DEFAULT_REGISTRY_FOLDER,
        MlflowClient,
        Registry,
        get_registry_uri,
        set_registry_uri,
    )
    from registry.client.sync_report import SyncReport
    from registry.defaults import default_registry, register_model
    from registry.domain.chain import ChainReport
    from registry.domain.entities import ModelVersion, ModelVersionFile, ModelVersionStatus, RegisteredModel
    from registry.domain.governance import Comment, RequestStatus, TransitionRequest
    from registry.domain.imports import ImportedModel, ImportedVersion, ImportReport
    from registry.domain.stages import LIFECYCLE, MLFLOW, Stage, StageGuard, StagePolicy
    from registry.domain.state import Event, EventType
    from registry.errors import (
        ApprovalRequired,
        ArtifactVerificationError,
        CorruptBundle,
        CorruptRegistry,
        IllegalStageTransition,
        ImportConflict,
        InvalidParameterValue,
        MissingDependency,
        MlflowServerError,
        ReadOnlyRegistry,
        RegistryError,
        RegistryIOError,
        RegistryLockTimeout,
        ReplicaReadOnly,
        ResourceAlreadyExists,
        ResourceDoesNotExist,
    )
    from registry.flavors.model_info import ModelInfo
    from registry.flavors.plugin import Flavor
    from registry.models.mlmodel import MLmodel
    from registry.models.signature import ModelSignature, infer_signature
    from registry.search import PagedList

# ``import registry`` stays cheap (an edge device pays for every import at start-up): names load on first use.
_LAZY: dict[str, tuple[str, str | None]] = {
    "ApprovalRequired": ("registry.errors", "ApprovalRequired"),
    "ChainReport": ("registry.domain.chain", "ChainReport"),
    "Comment": ("registry.domain.governance", "Comment"),
    "RequestStatus": ("registry.domain.governance", "RequestStatus"),
    "TransitionRequest": ("registry.domain.governance", "TransitionRequest"),
    "ArtifactVerificationError": ("registry.errors", "ArtifactVerificationError"),
    "CorruptBundle": ("registry.errors", "CorruptBundle"),
    "CorruptRegistry": ("registry.errors", "CorruptRegistry"),
    "default_registry": ("registry.defaults", "default_registry"),
    "DEFAULT_REGISTRY_FOLDER": ("registry.client", "DEFAULT_REGISTRY_FOLDER"),
    "Event": ("registry.domain.state", "Event"),
    "EventType": ("registry.domain.state", "EventType"),
    "Flavor": ("registry.flavors.plugin", "Flavor"),
    "get_registry_uri": ("registry.client", "get_registry_uri"),
    "IllegalStageTransition": ("registry.errors", "IllegalStageTransition"),
    "ImportConflict": ("registry.errors", "ImportConflict"),
    "ImportedModel": ("registry.domain.imports", "ImportedModel"),
    "ImportedVersion": ("registry.domain.imports", "ImportedVersion"),
    "ImportReport": ("registry.domain.imports", "ImportReport"),
    "infer_signature": ("registry.models.signature", "infer_signature"),
    "InvalidParameterValue": ("registry.errors", "InvalidParameterValue"),
    "LIFECYCLE": ("registry.domain.stages", "LIFECYCLE"),
    "MLFLOW": ("registry.domain.stages", "MLFLOW"),
    "MlflowClient": ("registry.client", "MlflowClient"),
    "MissingDependency": ("registry.errors", "MissingDependency"),
    "MlflowServerError": ("registry.errors", "MlflowServerError"),
    "MLmodel": ("registry.models.mlmodel", "MLmodel"),
    "ModelInfo": ("registry.flavors.model_info", "ModelInfo"),
    "ModelSignature": ("registry.models.signature", "ModelSignature"),
    "ModelVersion": ("registry.domain.entities", "ModelVersion"),
    "ModelVersionFile": ("registry.domain.entities", "ModelVersionFile"),
    "ModelVersionStatus": ("registry.domain.entities", "ModelVersionStatus"),
    "PagedList": ("registry.search", "PagedList"),
    "lightgbm": ("registry.lightgbm", None),
    "onnx": ("registry.onnx", None),
    "pyfunc": ("registry.pyfunc", None),
    "sklearn": ("registry.sklearn", None),
    "xgboost": ("registry.xgboost", None),
    "register_model": ("registry.defaults", "register_model"),
    "ReadOnlyRegistry": ("registry.errors", "ReadOnlyRegistry"),
    "RegisteredModel": ("registry.domain.entities", "RegisteredModel"),
    "Registry": ("registry.client", "Registry"),
    "RegistryError": ("registry.errors", "RegistryError"),
    "RegistryIOError": ("registry.errors", "RegistryIOError"),
    "RegistryLockTimeout": ("registry.errors", "RegistryLockTimeout"),
    "SyncReport": ("registry.client.sync_report", "SyncReport"),
    "ReplicaReadOnly": ("registry.errors", "ReplicaReadOnly"),
    "ResourceAlreadyExists": ("registry.errors", "ResourceAlreadyExists"),
    "ResourceDoesNotExist": ("registry.errors", "ResourceDoesNotExist"),
    "set_registry_uri": ("registry.client", "set_registry_uri"),
    "Stage": ("registry.domain.stages", "Stage"),
    "StageGuard": ("registry.domain.stages", "StageGuard"),
    "StagePolicy": ("registry.domain.stages", "StagePolicy"),
}

del TYPE_CHECKING  # not part of the package's namespace


_DISTRIBUTION = "mlregistry"
"""The name this package is installed under (``pip install mlregistry``); it is imported as ``registry``."""


def _version() -> str:
    from importlib import metadata  # costs milliseconds: only when someone asks for the version

    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        version = globals()[name] = _version()
        return version
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


__all__ = [
    "DEFAULT_REGISTRY_FOLDER",
    "LIFECYCLE",
    "MLFLOW",
    "ApprovalRequired",
    "ArtifactVerificationError",
    "ChainReport",
    "Comment",
    "CorruptBundle",
    "CorruptRegistry",
    "Event",
    "EventType",
    "Flavor",
    "IllegalStageTransition",
    "ImportConflict",
    "ImportReport",
    "ImportedModel",
    "ImportedVersion",
    "InvalidParameterValue",
    "MLmodel",
    "MissingDependency",
    "MlflowClient",
    "MlflowServerError",
    "ModelInfo",
    "ModelSignature",
    "ModelVersion",
    "ModelVersionFile",
    "ModelVersionStatus",
    "PagedList",
    "ReadOnlyRegistry",
    "RegisteredModel",
    "Registry",
    "RegistryError",
    "RegistryIOError",
    "RegistryLockTimeout",
    "ReplicaReadOnly",
    "RequestStatus",
    "ResourceAlreadyExists",
    "ResourceDoesNotExist",
    "Stage",
    "StageGuard",
    "StagePolicy",
    "SyncReport",
    "TransitionRequest",
    "__version__",
    "default_registry",
    "get_registry_uri",
    "infer_signature",
    "lightgbm",
    "onnx",
    "pyfunc",
    "register_model",
    "set_registry_uri",
    "sklearn",
    "xgboost",
]
