"""MLflow's client class name and constructor over `registry.Registry`."""

from __future__ import annotations

from registry.client.registry import Registry

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

__all__ = ["MlflowClient"]


class MlflowClient(Registry):
    """`Registry` under MLflow's constructor (new registries get the permissive ``mlflow`` policy, as with
    `Registry`).

    ``registry_uri`` (else ``tracking_uri``) may be a folder, a ``file:`` URI or ``memory://``; server and
    database URIs raise `InvalidParameterValue`, because this library has no server.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None, **options: Any) -> None:
        super().__init__(registry_uri or tracking_uri, **options)
