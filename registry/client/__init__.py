"""The public face of the registry: `Registry`, and `MlflowClient` under MLflow's constructor.

`registry.client.registry` holds the registry's models, versions, stages, aliases and URIs; the journal's
methods (events, history, time travel) are `registry.client.journal`, the model-file methods (log,
register, load, export) `registry.client.files`, version creation `registry.client.creation`, the
webhook methods `registry.client.webhooks`, and MLflow's constructor `registry.client.mlflow_client`.
"""

from registry.client.mlflow_client import MlflowClient
from registry.client.registry import (
    DEFAULT_REGISTRY_FOLDER,
    Registry,
    get_registry_uri,
    resolve_registry_uri,
    set_registry_uri,
)

__all__ = [
    "DEFAULT_REGISTRY_FOLDER",
    "MlflowClient",
    "Registry",
    "get_registry_uri",
    "resolve_registry_uri",
    "set_registry_uri",
]
