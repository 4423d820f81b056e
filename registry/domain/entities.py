"""The registry's value objects, with MLflow's field names.

They are frozen: a change is a new object (``attrs.evolve``), so an entity a caller holds never changes under
it, and the store can hand out the same object to many readers without copying.
"""

from __future__ import annotations

from typing import Any

import attrs

from registry.domain.stages import Stage

__all__ = ["ModelVersion", "ModelVersionFile", "ModelVersionStatus", "RegisteredModel"]


class ModelVersionStatus:
    """MLflow's version statuses. Versions here are registered synchronously, so every version is READY."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


def _frozen_dict(value: Any) -> dict[str, Any]:
    # A dict is kept as given (no copy: loading 100,000 versions would copy 100,000 dicts). Nothing in the
    # registry mutates an entity's dict after handing it over; changes build new dicts (see RegistryState).
    if type(value) is dict:
        return value
    return dict(value or {})


def _str_list(value: Any) -> list[str]:
    return value if type(value) is list else list(value or ())


def _version_list(value: Any) -> list[ModelVersion]:
    return list(value or ())


@attrs.frozen(slots=True)
class ModelVersion:
    """One version of a registered model.

    ``version`` is an ``int``; ``current_stage`` is a `Stage` (a ``str`` subclass, so
    ``mv.current_stage == "Production"`` holds). ``aliases`` lists the aliases that point at this version.
    ``storage_location`` is the folder holding the version's own copy of its files when the registry copied
    them (``None`` when ``source`` was recorded as given), and ``digest`` is the sha256 of its manifest.
    """

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    current_stage: Stage = Stage.NONE
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = attrs.field(factory=dict, converter=_frozen_dict)
    run_link: str | None = None
    aliases: list[str] = attrs.field(factory=list, converter=_str_list)
    storage_location: str | None = None
    digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stage as its MLflow spelling)."""
        data = attrs.asdict(self, recurse=False)
        data["current_stage"] = self.current_stage.value
        data["tags"] = dict(self.tags)
        data["aliases"] = list(self.aliases)
        return data


@attrs.frozen(slots=True)
class ModelVersionFile:
    """One file of a version's own copy in the registry, as its manifest records it.

    ``path`` is relative to the version's folder (POSIX separators), ``sha256`` the digest recorded at
    registration, and ``size`` the file's size in bytes now (``None`` when the file is missing).
    """

    path: str
    sha256: str
    size: int | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@attrs.frozen(slots=True)
class RegisteredModel:
    """A registered model: a name with versions, tags, aliases and a description.

    ``latest_versions`` holds the highest version in each stage that has one (as MLflow returns it);
    ``aliases`` maps each alias to its version number.
    """

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    latest_versions: list[ModelVersion] = attrs.field(factory=list, converter=_version_list)
    tags: dict[str, str] = attrs.field(factory=dict, converter=_frozen_dict)
    aliases: dict[str, int] = attrs.field(factory=dict, converter=_frozen_dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``latest_versions`` as dicts."""
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "latest_versions": [mv.to_dict() for mv in self.latest_versions],
            "tags": dict(self.tags),
            "aliases": dict(self.aliases),
        }
