"""One registered model's mutable state (`ModelState`) and its document, the view a store writes.

The fold (`registry.domain.fold`) changes a model only through `ModelState.put_version()`,
`ModelState.drop_version()` and the plain fields, so the indexes a model reports to
(`registry.domain.indexes`) hear of every change to a version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import attrs

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.governance import Governance
from registry.domain.stages import Stage
from registry.errors import ResourceDoesNotExist

__all__ = ["ModelState", "VersionObserver", "artifact_location", "model_not_found", "version_not_found"]


class VersionObserver(Protocol):
    """What a model reports each version change to (`registry.domain.indexes.Indexes`)."""

    def version_changed(self, model_id: str, old: ModelVersion | None, new: ModelVersion | None) -> None: ...


def model_not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Registered Model with name={name} not found", name=name)


def version_not_found(name: str, version: int) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found", name=name, version=version)


@attrs.define(slots=True, eq=False)
class ModelState:
    """The mutable internal record of one registered model (never handed to callers; entities are)."""

    id: str
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = attrs.field(factory=dict)
    aliases: dict[str, int] = attrs.field(factory=dict)
    versions: dict[int, ModelVersion] = attrs.field(factory=dict)
    next_version: int = 1
    seq: int = 0
    by_stage: dict[Stage, set[int]] = attrs.field(factory=lambda: {s: set() for s in Stage})
    governance: Governance = attrs.field(factory=Governance)
    _entity: RegisteredModel | None = None
    # The indexes of the state holding this model (registry.domain.indexes), told of every version put or dropped.
    observer: VersionObserver | None = attrs.field(default=None, repr=False)

    def cached_entity(self) -> RegisteredModel | None:
        """The entity `registered_model()` built and still holds (``None`` when it holds none)."""
        return self._entity

    def touch(self, seq: int) -> None:
        self.seq = seq
        self._entity = None

    def latest(self, stage: Stage) -> ModelVersion | None:
        members = self.by_stage[stage]
        return self.versions[max(members)] if members else None

    def latest_in(self, stages: Iterable[Stage]) -> list[ModelVersion]:
        """The highest version in each of ``stages`` that has one, in MLflow's order: a stage comes before another
        when its lowest version number is lower (the order MLflow meets them walking the versions up)."""
        wanted = [s for s in dict.fromkeys(stages) if self.by_stage[s]]
        return [self.versions[max(self.by_stage[s])] for s in sorted(wanted, key=lambda s: min(self.by_stage[s]))]

    def latest_version(self) -> ModelVersion | None:
        return self.versions[max(self.versions)] if self.versions else None

    def version(self, number: int) -> ModelVersion:
        try:
            return self.versions[number]
        except KeyError:
            raise version_not_found(self.name, number) from None

    def registered_model(self) -> RegisteredModel:
        # Cached until the next change, so repeated reads of a model with many versions cost nothing.
        if self._entity is None:
            self._entity = RegisteredModel(
                name=self.name,
                creation_timestamp=self.creation_timestamp,
                last_updated_timestamp=self.last_updated_timestamp,
                description=self.description,
                latest_versions=self.latest_in(Stage),
                tags=dict(self.tags),
                aliases=dict(self.aliases),
            )
        return self._entity

    def put_version(self, mv: ModelVersion) -> None:
        """Add or replace a version: the one way the fold changes a version, so indexes hear of it."""
        old = self.versions.get(mv.version)
        if old is not None:
            self.by_stage[old.current_stage].discard(mv.version)
        self.versions[mv.version] = mv
        self.by_stage[mv.current_stage].add(mv.version)
        if self.observer is not None:
            self.observer.version_changed(self.id, old, mv)

    def drop_version(self, number: int) -> ModelVersion:
        mv = self.versions.pop(number)
        self.by_stage[mv.current_stage].discard(number)
        if self.observer is not None:
            self.observer.version_changed(self.id, mv, None)
        return mv

    # -- documents: the materialized view the store writes for fast cold starts -------------------------------

    def to_doc(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "name": self.name,
            "seq": self.seq,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "tags": self.tags,
            "aliases": self.aliases,
            "next_version": self.next_version,
            # One row per version, its columns named once: parsing 100,000 versions on a cold start is a
            # fifth faster than with an object (and its repeated keys) per version.
            "version_columns": list(_VERSION_COLUMNS),
            "versions": [_version_row(mv) for mv in self.versions.values()],
        }
        if self.governance:  # only when there is some, so documents of models without any stay as they were
            doc["governance"] = self.governance.to_doc()
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], artifact_root: str | None) -> ModelState:
        model = cls(
            id=doc["id"],
            name=doc["name"],
            creation_timestamp=doc["creation_timestamp"],
            last_updated_timestamp=doc["last_updated_timestamp"],
            description=doc.get("description"),
            tags=dict(doc.get("tags") or {}),
            aliases=dict(doc.get("aliases") or {}),
            next_version=int(doc["next_version"]),
            seq=int(doc["seq"]),
            governance=Governance.from_doc(doc.get("governance") or {}),
        )
        aliases_by_version: dict[int, list[str]] = {}
        for alias, number in model.aliases.items():
            aliases_by_version.setdefault(number, []).append(alias)
        if doc.get("version_columns") != list(_VERSION_COLUMNS):
            raise ValueError(f"unknown version columns {doc.get('version_columns')!r}")
        # The hot loop of a cold start (100,000 versions): unpacking, no Enum call, no re-sorting.
        stages, versions, by_stage, no_aliases = _STAGE_BY_VALUE, model.versions, model.by_stage, ()
        for row in doc["versions"]:
            number, created, updated, description, user_id, stage_name, source, run_id, tags, run_link, digest = row
            location = artifact_location(artifact_root, model.id, number, digest) if digest else None
            stage = stages[stage_name]
            aliases = aliases_by_version.get(number, no_aliases)
            versions[number] = ModelVersion(
                name=model.name,
                version=number,
                creation_timestamp=created,
                last_updated_timestamp=updated,
                description=description,
                user_id=user_id,
                current_stage=stage,
                source=source or location,
                run_id=run_id,
                tags=tags,
                run_link=run_link,
                aliases=sorted(aliases) if aliases else aliases,
                storage_location=location,
                digest=digest,
            )
            by_stage[stage].add(number)
        return model


_STAGE_BY_VALUE = {stage.value: stage for stage in Stage}

_VERSION_COLUMNS = (
    "version",
    "creation_timestamp",
    "last_updated_timestamp",
    "description",
    "user_id",
    "current_stage",
    "source",
    "run_id",
    "tags",
    "run_link",
    "digest",
)


def _version_row(mv: ModelVersion) -> list[Any]:
    # The version's own copy as its source is stored as None (see artifact_location), never as an absolute path.
    source = None if mv.source is not None and mv.source == mv.storage_location else mv.source
    return [
        mv.version,
        mv.creation_timestamp,
        mv.last_updated_timestamp,
        mv.description,
        mv.user_id,
        mv.current_stage.value,
        source,
        mv.run_id,
        mv.tags,
        mv.run_link,
        mv.digest,
    ]


def artifact_location(artifact_root: str | None, model_id: str, version: int, digest: str | None) -> str | None:
    # A version has its own copy of its files exactly when the registry recorded a digest for them.
    if digest is None or artifact_root is None:
        return None
    return f"{artifact_root}/{model_id}/versions/{version}"
