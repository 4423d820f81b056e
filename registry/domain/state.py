"""The registry's state as a pure projection of its events (no IO, no clock).

Every change is an :class:`Event`; :meth:`RegistryState.apply` folds one into the state. The store persists
events and calls ``apply``; the commands in :mod:`registry.domain.commands` decide which events a request makes. Because
state is a function of the event sequence, any process that has read the same journal holds the same state, and
a damaged view on disk can always be rebuilt from the journal.

Models are keyed internally by an id assigned at creation, not by name: renames do not move anything, and a
re-created name is a new model that starts again at version 1 while the old one's history stays intact.

Lazy models. A store opening a large registry installs :class:`PendingModel` entries (id, name, the ``seq`` its
checkpoint recorded) instead of reading every model's document. The fold keeps such an entry exact without
reading anything: the table-level events (created, renamed, deleted) keep the name index and the entry's name
right, and every other event for it is kept on the entry, to be folded when the model is first read. Loading
(:func:`materialize`) adopts a document only when it claims exactly a position the entry passed through (the
checkpoint's, or just after one of the kept events) and otherwise folds the model's own events from the
journal. So a document written later by another process can never put the state ahead of its own position:
every state is the fold of a prefix of the journal, whichever documents it was built from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.governance import Governance, RequestStatus, comment_model_id
from registry.domain.stages import Stage
from registry.errors import CorruptRegistry, ResourceDoesNotExist

__all__ = [
    "MAX_PENDING_EVENTS",
    "Event",
    "EventType",
    "ModelState",
    "ModelTable",
    "PendingModel",
    "RegistryState",
    "apply_model_event",
    "materialize",
    "model_not_found",
    "version_not_found",
]


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
    # One record per model brought in from elsewhere (a bundle, an MLflow registry): see registry.domain.imports
    REGISTERED_MODEL_IMPORTED = "registered_model.imported"
    # The approval workflow and comments (Databricks' TRANSITION_REQUEST_* and COMMENT_* events, in this style):
    # see registry.domain.governance and registry.domain.approvals
    TRANSITION_REQUEST_CREATED = "transition_request.created"
    TRANSITION_REQUEST_APPROVED = "transition_request.approved"
    TRANSITION_REQUEST_REJECTED = "transition_request.rejected"
    TRANSITION_REQUEST_DELETED = "transition_request.deleted"
    MODEL_VERSION_COMMENT_CREATED = "model_version_comment.created"
    MODEL_VERSION_COMMENT_UPDATED = "model_version_comment.updated"
    MODEL_VERSION_COMMENT_DELETED = "model_version_comment.deleted"
    # One record per model a replica brought up to date with its source: see registry.domain.replicas
    REGISTERED_MODEL_SYNCED = "registered_model.synced"


@attrs.frozen
class Event:
    """One committed change: its place in the journal (``seq``), when and by whom, and what changed.

    ``model_id`` is the registry's internal key of the model the event concerns and ``name`` its name at the
    time; ``data`` holds the event's payload (JSON types only).

    ``prev_hash`` and ``hash`` make the journal a hash chain (see :mod:`registry.domain.chain`): ``hash`` is
    the digest of the record's other fields, ``prev_hash`` the ``hash`` of the record before it (or
    ``"start"`` where the chain begins). Both are ``None`` on records written before the chain existed.
    """

    seq: int
    timestamp: int
    type: str
    actor: str | None
    model_id: str | None
    name: str | None
    data: dict[str, Any] = attrs.field(factory=dict)
    prev_hash: str | None = None
    hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "type": self.type,
            "actor": self.actor,
            "model_id": self.model_id,
            "name": self.name,
            "data": self.data,
        }
        # Only when set, so a record from before the chain reads and writes back exactly as it was.
        if self.prev_hash is not None:
            record["prev_hash"] = self.prev_hash
        if self.hash is not None:
            record["hash"] = self.hash
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Event:
        """The event a journal record holds.

        Raises:
            CorruptRegistry: a field is missing or of the wrong type (a record can carry a valid checksum and
                still not be one of ours: written by hand, or by another program).
        """
        if not isinstance(record, Mapping):
            raise _bad_record(record, f"it is a {type(record).__name__}, not an object")
        data = record.get("data")
        fields: dict[str, Any] = {name: record.get(name) for name in _RECORD_FIELDS}
        for name, kinds in _RECORD_FIELDS.items():
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise _bad_record(record, f"field '{name}' is {value!r}")
        if fields["seq"] < 1:
            raise _bad_record(record, f"field 'seq' is {fields['seq']!r}")
        if data is not None and not isinstance(data, dict):
            raise _bad_record(record, f"field 'data' is {data!r}")
        for name in ("prev_hash", "hash"):
            if not isinstance(record.get(name), str | None):
                raise _bad_record(record, f"field '{name}' is {record.get(name)!r}")
        return cls(data=dict(data or {}), prev_hash=record.get("prev_hash"), hash=record.get("hash"), **fields)


_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "seq": int,
    "timestamp": int,
    "type": str,
    "actor": (str, type(None)),
    "model_id": (str, type(None)),
    "name": (str, type(None)),
}


def _bad_record(record: Any, why: str) -> CorruptRegistry:
    seq = record.get("seq") if isinstance(record, Mapping) else None
    shown = repr(record)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    return CorruptRegistry(
        f"A journal record is not a registry event ({why}): {shown}. The journal was edited or written by "
        "another program; restore it from a backup.",
        seq=seq,
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
    governance: Governance = attrs.field(factory=Governance)
    _entity: RegisteredModel | None = None

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


MAX_PENDING_EVENTS = 256
"""A pending model holding this many unfolded events is loaded (so a process that never reads a busy model
does not keep its whole history in memory)."""


@attrs.define(slots=True, eq=False)
class PendingModel:
    """A model known by id and name whose state is built on first use (see the module docstring).

    ``seq`` and ``base_name`` are what the checkpoint recorded for the model, valid at journal position
    ``position`` (the checkpoint's seq); ``events`` are the model's events the state has passed since, not yet
    folded; ``name`` is its name at the state's position.
    """

    id: str
    name: str
    seq: int
    position: int
    base_name: str
    events: list[Event] = attrs.field(factory=list)

    def known_positions(self) -> list[tuple[int, str]]:
        """``(seq, name)`` of the model at each point the state passed through: the checkpoint's, then just
        after each kept event. A document claiming one of these is the model's fold at that point."""
        points = [(self.seq, self.base_name)]
        name = self.base_name
        for event in self.events:
            if event.type == EventType.REGISTERED_MODEL_RENAMED:
                name = event.data["new_name"]
            points.append((event.seq, name))
        return points


def materialize(
    pending: PendingModel,
    document: ModelState | None,
    history: Callable[[], Iterable[Event]],
    artifact_root: str | None,
) -> ModelState:
    """The state of a pending model at the position of the state holding it.

    Args:
        pending: the entry.
        document: the model's document as read now (``None`` when missing or unreadable). It may have been
            written by another process at any time, so it is used only if it claims exactly one of
            :meth:`PendingModel.known_positions`; the kept events after that point are folded into it.
        history: the journal's events from the start up to (at least) ``pending.position``, read only when
            the document cannot be used.
        artifact_root: as for :class:`RegistryState`.

    Raises:
        CorruptRegistry: the journal does not have the model the checkpoint listed.
    """
    start = None
    if document is not None and document.id == pending.id:
        for index, (seq, name) in enumerate(pending.known_positions()):
            if document.seq == seq and document.name == name:
                start = index
    if start is None or document is None:
        model = _refold(pending, history, artifact_root)
        start = 0
    else:
        model = document
    for event in pending.events[start:]:
        _fold_model_event(model, event, artifact_root)
    return model


def _refold(pending: PendingModel, history: Callable[[], Iterable[Event]], artifact_root: str | None) -> ModelState:
    """The model at ``pending.position``, folded from its own events in the journal (the truth)."""
    scratch = RegistryState(artifact_root)
    for event in history():
        if event.seq > pending.position:
            break
        if event.model_id == pending.id:
            scratch.seq = event.seq - 1  # only this model's events: the sequence check is the journal reader's
            scratch.apply(event)
    model = dict.get(scratch.models, pending.id)
    if not isinstance(model, ModelState) or model.name != pending.base_name:
        raise CorruptRegistry(
            f"The checkpoint lists model {pending.id} as '{pending.base_name}' at event {pending.position}, "
            "which the journal does not say. Run 'registry check --fix' to rebuild the checkpoint from the journal.",
            seq=pending.position,
        )
    return model


class ModelTable(dict[str, "ModelState | PendingModel"]):
    """Models by id, where an entry may be a :class:`PendingModel` until something reads it.

    Every read (``[]``, ``get``, ``values``, ``items``) hands out loaded models, built by ``loader``;
    ``raw_items`` and ``is_pending`` look without loading.
    """

    def __init__(self, loader: Callable[[PendingModel], ModelState] | None = None) -> None:
        super().__init__()
        self.loader = loader

    def __getitem__(self, model_id: str) -> ModelState:  # type: ignore[override]
        entry = dict.__getitem__(self, model_id)
        if isinstance(entry, PendingModel):
            if self.loader is None:
                raise CorruptRegistry(f"Model {model_id} is not loaded and this state has no loader.")
            entry = self.loader(entry)
            dict.__setitem__(self, model_id, entry)
        return entry

    def get(self, model_id: str, default: ModelState | None = None) -> ModelState | None:  # type: ignore[override]
        return self[model_id] if model_id in self else default  # noqa: SIM401 - self.get is this method

    def values(self) -> list[ModelState]:  # type: ignore[override]
        return [self[model_id] for model_id in list(dict.keys(self))]

    def items(self) -> list[tuple[str, ModelState]]:  # type: ignore[override]
        return [(model_id, self[model_id]) for model_id in list(dict.keys(self))]

    def raw(self, model_id: str) -> ModelState | PendingModel | None:
        return dict.get(self, model_id)

    def raw_items(self) -> list[tuple[str, ModelState | PendingModel]]:
        return list(dict.items(self))

    def is_pending(self, model_id: str) -> bool:
        return isinstance(self.raw(model_id), PendingModel)


class RegistryState:
    """All registered models, folded from the event sequence.

    Args:
        artifact_root: the folder under which versions' own copies live (``<root>/<model id>/versions/<n>``);
            it only turns recorded digests into ``storage_location`` paths.
        loader: builds a pending model's state when it is first read (see :func:`materialize`).
    """

    def __init__(
        self, artifact_root: str | None = None, loader: Callable[[PendingModel], ModelState] | None = None
    ) -> None:
        self.artifact_root = artifact_root
        self.models = ModelTable(loader)
        self.ids_by_name: dict[str, str] = {}
        self.seq = 0
        # The hash of the event at ``chain_seq`` (the last one folded, unless the state started from a
        # checkpoint and folded nothing since): where the store's next record links to.
        self.chain_seq = 0
        self.chain_hash: str | None = None

    # -- reads ------------------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self.ids_by_name)

    def has_model(self, name: str) -> bool:
        return name in self.ids_by_name

    def model(self, name: str) -> ModelState:
        try:
            model_id = self.ids_by_name[name]
        except (KeyError, TypeError):
            raise model_not_found(name) from None
        return self.models[model_id]

    def registered_model(self, name: str) -> RegisteredModel:
        return self.model(name).registered_model()

    def model_versions(self, name: str) -> list[ModelVersion]:
        versions = self.model(name).versions
        return [versions[n] for n in sorted(versions)]

    def all_model_versions(self) -> Iterator[ModelVersion]:
        for model in self.models.values():
            yield from model.versions.values()

    # -- building -----------------------------------------------------------------------------------------------

    def add_model(self, model: ModelState) -> None:
        dict.__setitem__(self.models, model.id, model)
        self.ids_by_name[model.name] = model.id

    def add_pending(self, model_id: str, name: str, seq: int) -> None:
        """Install a model the checkpoint at this state's position lists, to be loaded on first use."""
        dict.__setitem__(self.models, model_id, PendingModel(model_id, name, seq, self.seq, name))
        self.ids_by_name[name] = model_id

    # -- folding events ---------------------------------------------------------------------------------------

    def apply(self, event: Event, *, load: bool = False) -> None:
        """Fold one event into the state. Unknown event types (extensions' own records) are skipped.

        Args:
            load: load the model the event concerns first, so the event is checked against its full state
                now (the store's write funnel does this for the events it is about to commit).

        Raises:
            CorruptRegistry: the event cannot follow this state (its seq does not come next, it names a model
                or version the state does not have, or a name another model holds). The state is unchanged.
        """
        if event.seq <= self.seq:
            raise CorruptRegistry(
                f"Event {event.seq} ({event.type}) cannot follow event {self.seq}: sequence numbers must increase.",
                seq=event.seq,
            )
        if event.type in _MODEL_HANDLERS or event.type in _TABLE_EVENTS:
            try:
                self._fold(event, load)
            except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
                raise _cannot_apply(event, exc) from None
        self.seq = event.seq
        self.chain_seq, self.chain_hash = event.seq, event.hash

    def _fold(self, e: Event, load: bool) -> None:
        if e.type == EventType.REGISTERED_MODEL_CREATED:
            self._create(e)
            return
        if e.type in _CREATING_EVENTS and e.data.get("created") is True:
            self._create_imported(e)
            return
        entry = self.models.raw(e.model_id) if isinstance(e.model_id, str) else None
        if entry is None:
            raise CorruptRegistry(
                f"Event {e.seq} ({e.type}) refers to model id {e.model_id}, which does not exist at that point.",
                seq=e.seq,
            )
        if e.name != entry.name:
            raise CorruptRegistry(
                f"Event {e.seq} ({e.type}) names model '{e.name}', but model {entry.id} is called "
                f"'{entry.name}' at that point.",
                seq=e.seq,
            )
        if e.type == EventType.REGISTERED_MODEL_DELETED:
            dict.__delitem__(self.models, entry.id)
            del self.ids_by_name[entry.name]
            return
        new_name = None
        if e.type == EventType.REGISTERED_MODEL_RENAMED:
            new_name = _text(e.data, "new_name")
            holder = self.ids_by_name.get(new_name)
            if holder is not None and holder != entry.id:
                raise CorruptRegistry(
                    f"Event {e.seq} renames model '{entry.name}' to '{new_name}', which model {holder} already "
                    "has at that point.",
                    seq=e.seq,
                )
        if isinstance(entry, PendingModel) and load:
            entry = self.models[entry.id]
        if isinstance(entry, PendingModel):
            entry.events.append(e)
            if new_name is not None:
                entry.name = new_name
        else:
            _fold_model_event(entry, e, self.artifact_root)
        if new_name is not None:
            del self.ids_by_name[e.name]
            self.ids_by_name[new_name] = entry.id
        if isinstance(entry, PendingModel) and len(entry.events) >= MAX_PENDING_EVENTS:
            self.models[entry.id]

    def _check_new_model(self, e: Event) -> tuple[str, str]:
        model_id, name = e.model_id, e.name
        if not isinstance(model_id, str) or not model_id or not isinstance(name, str) or not name:
            raise ValueError(f"model_id {model_id!r} and name {name!r} must be non-empty strings")
        if self.models.raw(model_id) is not None:
            raise CorruptRegistry(f"Event {e.seq} creates model id {model_id}, which already exists.", seq=e.seq)
        holder = self.ids_by_name.get(name)
        if holder is not None:
            raise CorruptRegistry(
                f"Event {e.seq} creates a model called '{name}', which model {holder} already has at that point.",
                seq=e.seq,
            )
        return model_id, name

    def _create_imported(self, e: Event) -> None:
        model_id, name = self._check_new_model(e)
        created = e.data.get("creation_timestamp")
        updated = e.data.get("last_updated_timestamp")
        model = ModelState(
            id=model_id,
            name=name,
            creation_timestamp=created if isinstance(created, int) else e.timestamp,
            last_updated_timestamp=updated if isinstance(updated, int) else e.timestamp,
            seq=e.seq,
        )
        _fold_model_event(model, e, self.artifact_root)  # on the new model first: a refusal adds nothing
        self.add_model(model)

    def _create(self, e: Event) -> None:
        model_id, name = self._check_new_model(e)
        tags = _tags(e.data, "tags")
        description = _optional_text(e.data, "description")
        self.add_model(
            ModelState(
                id=model_id,
                name=name,
                creation_timestamp=e.timestamp,
                last_updated_timestamp=e.timestamp,
                description=description,
                tags=tags,
                seq=e.seq,
            )
        )


def _cannot_apply(event: Event, exc: BaseException) -> CorruptRegistry:
    return CorruptRegistry(f"Event {event.seq} ({event.type}) cannot be applied: {exc!r}.", seq=event.seq)


def apply_model_event(model: ModelState, event: Event, artifact_root: str | None) -> None:
    """Fold one event about ``model`` other than its creation or deletion into it (checks before it changes
    anything, so a refused event leaves the model as it was)."""
    _MODEL_HANDLERS[event.type](model, event, artifact_root)
    model.touch(event.seq)


def _fold_model_event(model: ModelState, event: Event, artifact_root: str | None) -> None:
    try:
        apply_model_event(model, event, artifact_root)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise _cannot_apply(event, exc) from None


# -- reading event payloads: each accessor raises (TypeError/KeyError) for a missing or mistyped field -----------


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{key}' is {value!r}, not an integer")
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"'{key}' is {value!r}, not a string")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"'{key}' is {value!r}, not a string")
    return value


def _tags(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TypeError(f"'{key}' is {value!r}, not a mapping of strings")
    return dict(value)  # its own dict: the event (handed to subscribers) keeps its own


def _existing(m: ModelState, number: int) -> ModelVersion:
    mv = m.versions.get(number)
    if mv is None:
        raise KeyError(f"model '{m.name}' has no version {number}")
    return mv


# -- the fold of one model's events (each checks everything before it changes anything) ----------------------------


def _on_model_renamed(m: ModelState, e: Event, _root: str | None) -> None:
    new_name = _text(e.data, "new_name")
    m.name = new_name
    m.governance.rename(new_name)
    m.last_updated_timestamp = e.timestamp
    for number, mv in list(m.versions.items()):
        m.versions[number] = attrs.evolve(mv, name=new_name, last_updated_timestamp=e.timestamp)


def _on_model_updated(m: ModelState, e: Event, _root: str | None) -> None:
    m.description = _optional_text(e.data, "description")
    m.last_updated_timestamp = e.timestamp


def _on_model_tag_set(m: ModelState, e: Event, _root: str | None) -> None:
    key, value = _text(e.data, "key"), _text(e.data, "value")
    m.tags[key] = value


def _on_model_tag_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    key = _text(e.data, "key")
    if key not in m.tags:
        raise KeyError(f"model '{m.name}' has no tag {key!r}")
    del m.tags[key]


def _on_version_created(m: ModelState, e: Event, root: str | None) -> None:
    d = e.data
    number = _int(d, "version")
    if number < m.next_version or number in m.versions:
        raise ValueError(f"version {number} of model '{m.name}' was already issued (next is {m.next_version})")
    digest = _optional_text(d, "digest")
    location = _location(root, m.id, number, digest)
    source = _optional_text(d, "source")
    version = ModelVersion(
        name=m.name,
        version=number,
        creation_timestamp=e.timestamp,
        last_updated_timestamp=e.timestamp,
        description=_optional_text(d, "description"),
        user_id=e.actor,
        current_stage=Stage.NONE,
        source=source or location,
        run_id=_optional_text(d, "run_id"),
        tags=_tags(d, "tags"),
        run_link=_optional_text(d, "run_link"),
        storage_location=location,
        digest=digest,
    )
    m.put_version(version)
    m.next_version = number + 1
    m.last_updated_timestamp = e.timestamp


def _on_version_updated(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    description = _optional_text(e.data, "description")
    m.put_version(attrs.evolve(mv, description=description, last_updated_timestamp=e.timestamp))


def _on_version_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    number = _int(e.data, "version")
    _existing(m, number)
    m.drop_version(number)
    for alias in [a for a, v in m.aliases.items() if v == number]:
        del m.aliases[alias]
    m.governance.close_for_moves({number: None}, e.timestamp, e.actor)
    m.governance.drop_version_comments(number)
    m.last_updated_timestamp = e.timestamp


def _stage_moves(m: ModelState, e: Event) -> list[tuple[ModelVersion, Stage]]:
    """The versions a transition (or an approval, or a rollback) moves and where, all checked to exist."""
    moves = [(_int(e.data, "version"), Stage(_text(e.data, "to_stage")))]
    archived = e.data.get("archived") or []
    if not isinstance(archived, list):
        raise TypeError(f"'archived' is {archived!r}, not a list")
    moves += [(_int(a, "version"), Stage.ARCHIVED) for a in archived]
    return [(_existing(m, number), stage) for number, stage in moves]


def _move(m: ModelState, e: Event, moves: list[tuple[ModelVersion, Stage]]) -> None:
    for mv, stage in moves:
        m.put_version(attrs.evolve(mv, current_stage=stage, last_updated_timestamp=e.timestamp))
    # Requests for a version that moved are closed by the same event: never left dangling, and every replay
    # closes the same ones (registry.domain.governance).
    m.governance.close_for_moves({mv.version: stage for mv, stage in moves}, e.timestamp, e.actor)
    m.last_updated_timestamp = e.timestamp


def _on_stage_transitioned(m: ModelState, e: Event, _root: str | None) -> None:
    _move(m, e, _stage_moves(m, e))


def _on_request_created(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    stage = Stage(_text(e.data, "stage"))
    m.governance.create_request(
        e.seq, m.name, mv.version, stage, e.actor, _optional_text(e.data, "comment"), e.timestamp
    )


def _on_request_approved(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    moves = _stage_moves(m, e)
    if any(r.version != moves[0][0].version or r.to_stage != moves[0][1] for r in found):
        raise ValueError("the approved requests are not for the version and stage the event moves")
    # The request's status and the stage change in one event: no reader sees one without the other.
    m.governance.resolve(found, RequestStatus.APPROVED, e.actor, _optional_text(e.data, "comment"), e.timestamp)
    _move(m, e, moves)


def _on_request_rejected(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    m.governance.resolve(found, RequestStatus.REJECTED, e.actor, _optional_text(e.data, "comment"), e.timestamp)


def _on_request_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    m.governance.resolve(found, RequestStatus.DELETED, e.actor, None, e.timestamp)


def _on_comment_created(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    comment_id = _text(e.data, "id")
    m.governance.add_comment(comment_id, m.name, mv.version, e.actor, _text(e.data, "comment"), e.timestamp)


def _on_comment_updated(m: ModelState, e: Event, _root: str | None) -> None:
    m.governance.edit_comment(_text(e.data, "id"), _text(e.data, "comment"), e.timestamp)


def _on_comment_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    m.governance.delete_comment(_text(e.data, "id"))


def _on_version_tag_set(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    key, value = _text(e.data, "key"), _text(e.data, "value")
    m.put_version(attrs.evolve(mv, tags={**mv.tags, key: value}))


def _on_version_tag_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    key = _text(e.data, "key")
    if key not in mv.tags:
        raise KeyError(f"version {mv.version} of model '{m.name}' has no tag {key!r}")
    tags = dict(mv.tags)
    del tags[key]
    m.put_version(attrs.evolve(mv, tags=tags))


def _on_alias_created(m: ModelState, e: Event, _root: str | None) -> None:
    alias = _text(e.data, "alias")
    mv = _existing(m, _int(e.data, "version"))
    previous = m.aliases.get(alias)
    if previous is not None and previous in m.versions:
        old = m.versions[previous]
        m.put_version(attrs.evolve(old, aliases=[a for a in old.aliases if a != alias]))
        mv = m.versions[mv.version]
    m.aliases[alias] = mv.version
    m.put_version(attrs.evolve(mv, aliases=sorted({*mv.aliases, alias})))


def _on_alias_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    alias = _text(e.data, "alias")
    if alias not in m.aliases:
        raise KeyError(f"model '{m.name}' has no alias {alias!r}")
    number = m.aliases.pop(alias)
    mv = m.versions.get(number)
    if mv is not None:
        m.put_version(attrs.evolve(mv, aliases=[a for a in mv.aliases if a != alias]))


def _on_model_imported(m: ModelState, e: Event, root: str | None) -> None:
    """A model brought in from elsewhere (see registry.domain.imports): everything is checked and built first,
    then applied, so a refused record changes nothing."""
    d = e.data
    created = d.get("created") is True
    description = _optional_text(d, "description")
    tags = _tags(d, "tags")
    staged: dict[int, ModelVersion] = {}
    next_version = m.next_version
    versions = d.get("versions") or []
    if not isinstance(versions, list):
        raise TypeError(f"'versions' is {versions!r}, not a list")
    for v in versions:
        number = _int(v, "version")
        if number < next_version or number in m.versions or number in staged:
            raise ValueError(f"version {number} of model '{m.name}' was already issued (next is {next_version})")
        digest = _optional_text(v, "digest")
        location = _location(root, m.id, number, digest)
        created_at, updated_at = v.get("creation_timestamp"), v.get("last_updated_timestamp")
        staged[number] = ModelVersion(
            name=m.name,
            version=number,
            creation_timestamp=created_at if isinstance(created_at, int) else e.timestamp,
            last_updated_timestamp=updated_at if isinstance(updated_at, int) else e.timestamp,
            description=_optional_text(v, "description"),
            user_id=_optional_text(v, "user_id") or e.actor,
            current_stage=Stage(_optional_text(v, "stage") or Stage.NONE.value),
            source=_optional_text(v, "source") or location,
            run_id=_optional_text(v, "run_id"),
            tags=_tags(v, "tags"),
            run_link=_optional_text(v, "run_link"),
            storage_location=location,
            digest=digest,
        )
        next_version = number + 1
    updates = d.get("updates") or []
    if not isinstance(updates, list):
        raise TypeError(f"'updates' is {updates!r}, not a list")
    for u in updates:
        mv = staged.get(_int(u, "version")) or _existing(m, _int(u, "version"))
        changes: dict[str, Any] = {"last_updated_timestamp": e.timestamp, "tags": {**mv.tags, **_tags(u, "tags")}}
        if (text := _optional_text(u, "description")) is not None:
            changes["description"] = text
        if (stage := _optional_text(u, "stage")) is not None:
            changes["current_stage"] = Stage(stage)
        staged[mv.version] = attrs.evolve(mv, **changes)
    aliases = d.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise TypeError(f"'aliases' is {aliases!r}, not a mapping")
    pointed = dict(m.aliases)
    for alias, number in aliases.items():
        if not isinstance(alias, str) or isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"alias {alias!r} -> {number!r} is not a name and a version number")
        target = staged.get(number) or _existing(m, number)
        previous = pointed.get(alias)
        if previous is not None and previous != number and previous in m.versions:
            old = staged.get(previous) or m.versions[previous]
            staged[previous] = attrs.evolve(old, aliases=[a for a in old.aliases if a != alias])
        pointed[alias] = number
        target = staged.get(number) or target
        staged[number] = attrs.evolve(target, aliases=sorted({*target.aliases, alias}))
    counter = d.get("next_version")
    if counter is not None:
        next_version = max(next_version, _int(d, "next_version"))
    # everything checked: apply
    moved = {
        mv.version: mv.current_stage
        for mv in staged.values()
        if mv.version in m.versions and m.versions[mv.version].current_stage != mv.current_stage
    }
    for mv in staged.values():
        m.put_version(mv)
    m.governance.close_for_moves(moved, e.timestamp, e.actor)
    m.aliases = pointed
    m.tags.update(tags)
    if description is not None:
        m.description = description
    m.next_version = max(m.next_version, next_version)
    if not created:
        m.last_updated_timestamp = e.timestamp


def _on_model_synced(m: ModelState, e: Event, root: str | None) -> None:
    """A replica's model made equal to its source's (see registry.domain.replicas): the record holds the model's
    whole state, which replaces what the model had. Everything is checked and built first, so a refused record
    changes nothing."""
    d = e.data
    next_version = _int(d, "next_version")
    description = _optional_text(d, "description")
    tags = _tags(d, "tags")
    versions = d["versions"]
    if not isinstance(versions, list):
        raise TypeError(f"'versions' is {versions!r}, not a list")
    aliases = d.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise TypeError(f"'aliases' is {aliases!r}, not a mapping")
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        if not isinstance(alias, str) or isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"alias {alias!r} -> {number!r} is not a name and a version number")
        by_version.setdefault(number, []).append(alias)
    built: dict[int, ModelVersion] = {}
    for v in versions:
        number = _int(v, "version")
        if number in built or number < 1 or number >= next_version:
            raise ValueError(f"version {number} of model '{m.name}' is repeated or not below {next_version}")
        digest = _optional_text(v, "digest")
        location = _location(root, m.id, number, digest)
        built[number] = ModelVersion(
            name=m.name,
            version=number,
            creation_timestamp=_int(v, "creation_timestamp"),
            last_updated_timestamp=_int(v, "last_updated_timestamp"),
            description=_optional_text(v, "description"),
            user_id=_optional_text(v, "user_id"),
            current_stage=Stage(_text(v, "stage")),
            source=_optional_text(v, "source") or location,
            run_id=_optional_text(v, "run_id"),
            tags=_tags(v, "tags"),
            run_link=_optional_text(v, "run_link"),
            aliases=sorted(by_version.get(number, ())),
            storage_location=location,
            digest=digest,
        )
    missing = sorted(set(by_version) - set(built))
    if missing:
        raise KeyError(f"aliases of model '{m.name}' point at versions {missing} the record does not hold")
    created, updated = _int(d, "creation_timestamp"), _int(d, "last_updated_timestamp")
    governance = _synced_governance(m, d.get("governance"), built)
    # everything checked: replace
    for number in list(m.versions):
        m.drop_version(number)
    for mv in built.values():
        m.put_version(mv)
    m.aliases = dict(aliases)
    m.tags = tags
    m.description = description
    m.next_version = next_version
    m.creation_timestamp = created
    m.last_updated_timestamp = updated
    if governance is not None:
        m.governance = governance


def _synced_governance(m: ModelState, doc: Any, versions: Mapping[int, ModelVersion]) -> Governance | None:
    """The requests and comments a synced record brings (``None``: a record from before they were synced, which
    leaves them as they are), each on a version the record holds, each comment id naming this model."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise TypeError(f"'governance' is {doc!r:.80}, not a mapping")
    governance = Governance.from_doc(doc)
    on = [r.version for r in governance.requests.values()] + [c.version for c in governance.comments.values()]
    for number in on:
        if number not in versions:
            raise KeyError(f"a request or comment of model '{m.name}' is on version {number}, which it does not hold")
    for comment_id in governance.comments:
        if comment_model_id(comment_id) != m.id:
            raise ValueError(f"comment id {comment_id!r} does not name model {m.id!r}")
    governance.rename(m.name)
    return governance


_CREATING_EVENTS = frozenset({EventType.REGISTERED_MODEL_IMPORTED, EventType.REGISTERED_MODEL_SYNCED})

_TABLE_EVENTS = frozenset({EventType.REGISTERED_MODEL_CREATED, EventType.REGISTERED_MODEL_DELETED})

_MODEL_HANDLERS: dict[str, Callable[[ModelState, Event, str | None], None]] = {
    EventType.REGISTERED_MODEL_RENAMED: _on_model_renamed,
    EventType.REGISTERED_MODEL_UPDATED: _on_model_updated,
    EventType.REGISTERED_MODEL_TAG_SET: _on_model_tag_set,
    EventType.REGISTERED_MODEL_TAG_DELETED: _on_model_tag_deleted,
    EventType.MODEL_VERSION_CREATED: _on_version_created,
    EventType.MODEL_VERSION_UPDATED: _on_version_updated,
    EventType.MODEL_VERSION_DELETED: _on_version_deleted,
    EventType.MODEL_VERSION_STAGE_TRANSITIONED: _on_stage_transitioned,
    EventType.MODEL_VERSION_TAG_SET: _on_version_tag_set,
    EventType.MODEL_VERSION_TAG_DELETED: _on_version_tag_deleted,
    EventType.MODEL_VERSION_ALIAS_CREATED: _on_alias_created,
    EventType.MODEL_VERSION_ALIAS_DELETED: _on_alias_deleted,
    EventType.REGISTERED_MODEL_IMPORTED: _on_model_imported,
    EventType.TRANSITION_REQUEST_CREATED: _on_request_created,
    EventType.TRANSITION_REQUEST_APPROVED: _on_request_approved,
    EventType.TRANSITION_REQUEST_REJECTED: _on_request_rejected,
    EventType.TRANSITION_REQUEST_DELETED: _on_request_deleted,
    EventType.MODEL_VERSION_COMMENT_CREATED: _on_comment_created,
    EventType.MODEL_VERSION_COMMENT_UPDATED: _on_comment_updated,
    EventType.MODEL_VERSION_COMMENT_DELETED: _on_comment_deleted,
    EventType.REGISTERED_MODEL_SYNCED: _on_model_synced,
}
