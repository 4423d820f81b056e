"""What the exchange code needs of a registry: the client's public reads and its import method."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.governance import Comment, TransitionRequest
from registry.domain.imports import ImportedModel, ImportReport
from registry.domain.state import Event

__all__ = ["RegistryLike"]


class RegistryLike(Protocol):
    """The part of `registry.Registry` that bundles, replica syncs and the MLflow border use."""

    def list_registered_models(self) -> list[RegisteredModel]: ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def list_model_versions(self, name: str) -> list[ModelVersion]: ...

    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    def resolve_model_uri(self, uri: str) -> ModelVersion: ...

    def fetch_version_files(self, name: str, version: int | str) -> ModelVersion: ...

    def history(self, name: str, version: int | str | None = None) -> list[Event]: ...

    def list_transition_requests(
        self, name: str, version: int | str, include_closed: bool = False
    ) -> list[TransitionRequest]: ...

    def list_comments(self, name: str, version: int | str) -> list[Comment]: ...

    def import_models(
        self,
        models: Sequence[ImportedModel],
        files: Mapping[tuple[str, int], str | os.PathLike[str]] | None = None,
        *,
        origin: str | None = None,
    ) -> ImportReport: ...
