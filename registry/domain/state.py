"""The registry's state as a pure projection of its events (no IO, no clock).

Every change is an :class:`Event`; :meth:`RegistryState.apply` folds one into the state. The store persists
events and calls ``apply``; the commands in :mod:`registry.domain.commands` decide which events a request makes. Because
state is a function of the event sequence, any process that has read the same journal holds the same state, and
a damaged view on disk can always be rebuilt from the journal.

Models are keyed internally by an id assigned at creation, not by name: renames do not move anything, and a
re-created name is a new model that starts again at version 1 while the old one's history stays intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.stages import Stage
from registry.errors import CorruptRegistry, ResourceDoesNotExist

__all__ = ["Event", "EventType", "ModelState", "RegistryState", "model_not_found", "version_not_found"]


class EventType:
    """The event type names (MLflow's webhook names where they exist, the same ``entity.action`` style else)."""

    REGISTERED_MODEL_CREATED = "registered_model.created"
    REGISTERED_MODEL_RENAMED = "registered_model.renamed"
    REGISTERED_MODEL_UPDATED = "registered_model.updated"
    REGISTERED_MODEL_DELETED = "registered_model.deleted"
    REGISTERED_MODEL_TAG_SET = "registered_model_tag.set"
    REGISTERED_MODEL_TAG_DELETED = "registered_model_tag.deleted"
    MODEL_VERSION_CREATED = "model_version.created"
    MODEL_VERSION_UPDATED = "model_version.updated"
    MODEL_VERSION_DELETED = "model_version.deleted"
    MODEL_VERSION_STAGE_TRANSITIONED = "model_version.stage_transitioned"
    MODEL_VERSION_TAG_SET = "model_version_tag.set"
    MODEL_VERSION_TAG_DELETED = "model_version_tag.deleted"
    MODEL_VERSION_ALIAS_CREATED = "model_version_alias.created"
    MODEL_VERSION_ALIAS_DELETED = "model_version_alias.deleted"


@attrs.frozen
class Event:
    """One committed change: its place in the journal (``seq``), when and by whom, and what changed.

    ``model_id`` is the registry's internal key of the model the event concerns and ``name`` its name at the
    time; ``data`` holds the event's payload (JSON types only).
    """

    seq: int
    timestamp: int
    type: str
    actor: str | None
    model_id: str | None
    name: str | None
    data: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "type": self.type,
            "actor": self.actor,
            "model_id": self.model_id,
            "name": self.name,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Event:
        return cls(
            seq=int(record["seq"]),
            timestamp=int(record["timestamp"]),
            type=str(record["type"]),
            actor=record.get("actor"),
            model_id=record.get("model_id"),
            name=record.get("name"),
            data=dict(record.get("data") or {}),
        )


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
    _entity: RegisteredModel | None = None

    def touch(self, seq: int) -> None:
        self.seq = seq
        self._entity = None

    def latest(self, stage: Stage) -> ModelVersion | None:
        members = self.by_stage[stage]
        return self.versions[max(members)] if members else None

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
            latest = [mv for stage in Stage if (mv := self.latest(stage)) is not None]
            self._entity = RegisteredModel(
                name=self.name,
                creation_timestamp=self.creation_timestamp,
                last_updated_timestamp=self.last_updated_timestamp,
                description=self.description,
                latest_versions=sorted(latest, key=lambda mv: mv.version),
                tags=dict(self.tags),
                aliases=dict(self.aliases),
            )
        return self._entity

    def put_version(self, mv: ModelVersion) -> None:
        old = self.versions.get(mv.version)
        if old is not None:
            self.by_stage[old.current_stage].discard(mv.version)
        self.versions[mv.version] = mv
        self.by_stage[mv.current_stage].add(mv.version)

    def drop_version(self, number: int) -> ModelVersion:
        mv = self.versions.pop(number)
        self.by_stage[mv.current_stage].discard(number)
        return mv

    # -- documents: the materialized view the store writes for fast cold starts -------------------------------

    def to_doc(self) -> dict[str, Any]:
        return {
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
            location = _location(artifact_root, model.id, number, digest) if digest else None
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
    # The version's own copy as its source is stored as None (see _location), never as an absolute path.
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


def _location(artifact_root: str | None, model_id: str, version: int, digest: str | None) -> str | None:
    # A version has its own copy of its files exactly when the registry recorded a digest for them.
    if digest is None or artifact_root is None:
        return None
    return f"{artifact_root}/{model_id}/versions/{version}"


@attrs.frozen
class PendingModel:
    """A model known by id, name and the ``seq`` of its last change, whose state ``load`` builds on first use.

    A store opening a large registry installs these instead of reading every model's document, so a process
    that reads one model (an edge device resolving ``models:/fraud@champion``) never reads the others.
    """

    id: str
    name: str
    seq: int
    load: Callable[[], ModelState] = attrs.field(repr=False)


class ModelTable(dict[str, "ModelState | PendingModel"]):
    """Models by id, where an entry may be a :class:`PendingModel` until something reads it.

    Every read (``[]``, ``get``, ``values``, ``items``) hands out loaded models; ``pending`` and ``raw_items``
    look without loading.
    """

    def __getitem__(self, model_id: str) -> ModelState:  # type: ignore[override]
        entry = dict.__getitem__(self, model_id)
        if isinstance(entry, PendingModel):
            entry = entry.load()
            dict.__setitem__(self, model_id, entry)
        return entry

    def get(self, model_id: str, default: ModelState | None = None) -> ModelState | None:  # type: ignore[override]
        return self[model_id] if model_id in self else default  # noqa: SIM401 - self.get is this method

    def values(self) -> list[ModelState]:  # type: ignore[override]
        return [self[model_id] for model_id in list(dict.keys(self))]

    def items(self) -> list[tuple[str, ModelState]]:  # type: ignore[override]
        return [(model_id, self[model_id]) for model_id in list(dict.keys(self))]

    def raw_items(self) -> list[tuple[str, ModelState | PendingModel]]:
        return list(dict.items(self))

    def is_pending(self, model_id: str) -> bool:
        return model_id in self and isinstance(dict.__getitem__(self, model_id), PendingModel)


class RegistryState:
    """All registered models, folded from the event sequence.

    Args:
        artifact_root: the folder under which versions' own copies live (``<root>/<model id>/versions/<n>``);
            it only turns recorded digests into ``storage_location`` paths.
    """

    def __init__(self, artifact_root: str | None = None) -> None:
        self.artifact_root = artifact_root
        self.models = ModelTable()
        self.ids_by_name: dict[str, str] = {}
        self.seq = 0

    # -- reads ------------------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self.ids_by_name)

    def has_model(self, name: str) -> bool:
        return name in self.ids_by_name

    def model(self, name: str) -> ModelState:
        try:
            return self.models[self.ids_by_name[name]]
        except KeyError:
            raise model_not_found(name) from None

    def registered_model(self, name: str) -> RegisteredModel:
        return self.model(name).registered_model()

    def model_versions(self, name: str) -> list[ModelVersion]:
        versions = self.model(name).versions
        return [versions[n] for n in sorted(versions)]

    def all_model_versions(self) -> Iterator[ModelVersion]:
        for model in self.models.values():
            yield from model.versions.values()

    # -- folding events ---------------------------------------------------------------------------------------

    def add_model(self, model: ModelState | PendingModel) -> None:
        """Install a model loaded from its document, or one to load on first use (the store's cold start)."""
        dict.__setitem__(self.models, model.id, model)
        self.ids_by_name[model.name] = model.id

    def apply(self, event: Event) -> None:
        """Fold one event into the state. Unknown event types (extensions' own records) are skipped.

        Raises:
            CorruptRegistry: the event refers to a model or version the state does not have, so the events
                and the state disagree (the store then rebuilds from the whole journal).
        """
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            model = self.models.get(event.model_id or "")
            if model is not None and event.seq <= model.seq:
                # Already folded in: a model loaded on first use may come from a document written after this
                # process last caught up, so events it already reflects must not be applied twice.
                self.seq = max(self.seq, event.seq)
                return
            if model is None and event.type != EventType.REGISTERED_MODEL_CREATED:
                raise CorruptRegistry(
                    f"Event {event.seq} ({event.type}) refers to model id {event.model_id}, which is unknown.",
                    seq=event.seq,
                )
            try:
                handler(self, model, event)
            except (KeyError, ValueError, TypeError) as exc:
                raise CorruptRegistry(
                    f"Event {event.seq} ({event.type}) cannot be applied: {exc!r}.", seq=event.seq
                ) from None
        self.seq = max(self.seq, event.seq)

    def _on_model_created(self, _model: ModelState | None, e: Event) -> None:
        assert e.model_id is not None and e.name is not None
        self.add_model(
            ModelState(
                id=e.model_id,
                name=e.name,
                creation_timestamp=e.timestamp,
                last_updated_timestamp=e.timestamp,
                description=e.data.get("description"),
                tags=dict(e.data.get("tags") or {}),
                seq=e.seq,
            )
        )

    def _on_model_renamed(self, m: ModelState, e: Event) -> None:
        new_name = e.data["new_name"]
        del self.ids_by_name[m.name]
        self.ids_by_name[new_name] = m.id
        m.name = new_name
        m.last_updated_timestamp = e.timestamp
        for number, mv in list(m.versions.items()):
            m.versions[number] = attrs.evolve(mv, name=new_name, last_updated_timestamp=e.timestamp)
        m.touch(e.seq)

    def _on_model_updated(self, m: ModelState, e: Event) -> None:
        m.description = e.data["description"]
        m.last_updated_timestamp = e.timestamp
        m.touch(e.seq)

    def _on_model_deleted(self, m: ModelState, _e: Event) -> None:
        del self.models[m.id]
        del self.ids_by_name[m.name]

    def _on_model_tag_set(self, m: ModelState, e: Event) -> None:
        m.tags[e.data["key"]] = e.data["value"]
        m.touch(e.seq)

    def _on_model_tag_deleted(self, m: ModelState, e: Event) -> None:
        del m.tags[e.data["key"]]
        m.touch(e.seq)

    def _on_version_created(self, m: ModelState, e: Event) -> None:
        d = e.data
        number = int(d["version"])
        location = _location(self.artifact_root, m.id, number, d.get("digest"))
        m.put_version(
            ModelVersion(
                name=m.name,
                version=number,
                creation_timestamp=e.timestamp,
                last_updated_timestamp=e.timestamp,
                description=d.get("description"),
                user_id=e.actor,
                current_stage=Stage.NONE,
                source=d.get("source") or location,
                run_id=d.get("run_id"),
                tags=dict(d.get("tags") or {}),  # its own dict: the event (handed to subscribers) keeps its own
                run_link=d.get("run_link"),
                storage_location=location,
                digest=d.get("digest"),
            )
        )
        m.next_version = max(m.next_version, number + 1)
        m.last_updated_timestamp = e.timestamp
        m.touch(e.seq)

    def _on_version_updated(self, m: ModelState, e: Event) -> None:
        number = int(e.data["version"])
        mv = m.versions[number]
        m.put_version(attrs.evolve(mv, description=e.data["description"], last_updated_timestamp=e.timestamp))
        m.touch(e.seq)

    def _on_version_deleted(self, m: ModelState, e: Event) -> None:
        number = int(e.data["version"])
        m.drop_version(number)
        for alias in [a for a, v in m.aliases.items() if v == number]:
            del m.aliases[alias]
        m.last_updated_timestamp = e.timestamp
        m.touch(e.seq)

    def _on_stage_transitioned(self, m: ModelState, e: Event) -> None:
        moves = [(int(e.data["version"]), Stage(e.data["to_stage"]))]
        moves += [(int(a["version"]), Stage.ARCHIVED) for a in e.data.get("archived", ())]
        for number, stage in moves:
            mv = m.versions[number]
            m.put_version(attrs.evolve(mv, current_stage=stage, last_updated_timestamp=e.timestamp))
        m.last_updated_timestamp = e.timestamp
        m.touch(e.seq)

    def _on_version_tag_set(self, m: ModelState, e: Event) -> None:
        mv = m.versions[int(e.data["version"])]
        m.put_version(attrs.evolve(mv, tags={**mv.tags, e.data["key"]: e.data["value"]}))
        m.touch(e.seq)

    def _on_version_tag_deleted(self, m: ModelState, e: Event) -> None:
        mv = m.versions[int(e.data["version"])]
        tags = dict(mv.tags)
        del tags[e.data["key"]]
        m.put_version(attrs.evolve(mv, tags=tags))
        m.touch(e.seq)

    def _on_alias_created(self, m: ModelState, e: Event) -> None:
        alias, number = e.data["alias"], int(e.data["version"])
        previous = m.aliases.get(alias)
        if previous is not None and previous in m.versions:
            old = m.versions[previous]
            m.put_version(attrs.evolve(old, aliases=[a for a in old.aliases if a != alias]))
        m.aliases[alias] = number
        mv = m.versions[number]
        m.put_version(attrs.evolve(mv, aliases=sorted({*mv.aliases, alias})))
        m.touch(e.seq)

    def _on_alias_deleted(self, m: ModelState, e: Event) -> None:
        alias = e.data["alias"]
        number = m.aliases.pop(alias)
        mv = m.versions.get(number)
        if mv is not None:
            m.put_version(attrs.evolve(mv, aliases=[a for a in mv.aliases if a != alias]))
        m.touch(e.seq)


_HANDLERS: dict[str, Callable[[RegistryState, Any, Event], None]] = {
    EventType.REGISTERED_MODEL_CREATED: RegistryState._on_model_created,
    EventType.REGISTERED_MODEL_RENAMED: RegistryState._on_model_renamed,
    EventType.REGISTERED_MODEL_UPDATED: RegistryState._on_model_updated,
    EventType.REGISTERED_MODEL_DELETED: RegistryState._on_model_deleted,
    EventType.REGISTERED_MODEL_TAG_SET: RegistryState._on_model_tag_set,
    EventType.REGISTERED_MODEL_TAG_DELETED: RegistryState._on_model_tag_deleted,
    EventType.MODEL_VERSION_CREATED: RegistryState._on_version_created,
    EventType.MODEL_VERSION_UPDATED: RegistryState._on_version_updated,
    EventType.MODEL_VERSION_DELETED: RegistryState._on_version_deleted,
    EventType.MODEL_VERSION_STAGE_TRANSITIONED: RegistryState._on_stage_transitioned,
    EventType.MODEL_VERSION_TAG_SET: RegistryState._on_version_tag_set,
    EventType.MODEL_VERSION_TAG_DELETED: RegistryState._on_version_tag_deleted,
    EventType.MODEL_VERSION_ALIAS_CREATED: RegistryState._on_alias_created,
    EventType.MODEL_VERSION_ALIAS_DELETED: RegistryState._on_alias_deleted,
}
