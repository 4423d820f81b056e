"""Typed events: each journal event type as its own frozen class, and filters over event types (pure).

Every change the registry commits is an `Event` in the journal. This module gives
each event type its own class (``ModelVersionCreated``, ``ModelVersionStageTransitioned``, ...) with named
accessors for its payload, and `EventFilter`, the ``events=`` / ``model=`` selection that subscribers,
``reg.events`` and ``reg.follow`` share. Hearing of events is `registry.events`' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from registry.domain.state import Event, EventType
from registry.errors import InvalidParameterValue

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "EventFilter",
    "ModelVersionAliasCreated",
    "ModelVersionAliasDeleted",
    "ModelVersionCommentChanged",
    "ModelVersionCreated",
    "ModelVersionDeleted",
    "ModelVersionStageTransitioned",
    "ModelVersionTagDeleted",
    "ModelVersionTagSet",
    "ModelVersionUpdated",
    "RegisteredModelCreated",
    "RegisteredModelDeleted",
    "RegisteredModelImported",
    "RegisteredModelRenamed",
    "RegisteredModelSynced",
    "RegisteredModelTagDeleted",
    "RegisteredModelTagSet",
    "RegisteredModelUpdated",
    "RegistryEvent",
    "TransitionRequestApproved",
    "TransitionRequestChanged",
    "WebhookChanged",
    "known_event_types",
    "register_event_class",
    "typed",
]

WEBHOOK_CREATED = "webhook.created"
WEBHOOK_UPDATED = "webhook.updated"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_EVENT_TYPES = (WEBHOOK_CREATED, WEBHOOK_UPDATED, WEBHOOK_DELETED)
"""Journal records of webhook and trigger definitions (``model_id`` None; the registry state skips them)."""


# -- typed events ---------------------------------------------------------------------------------------------------


@attrs.frozen
class RegistryEvent(Event):
    """Base of the typed events: an `Event` with ``entity`` / ``action`` accessors.

    Events of a type this version does not know (an extension's records) are handed out as this class.
    """

    @property
    def entity(self) -> str:
        """The part of ``type`` before the dot (``model_version`` in ``model_version.created``)."""
        return self.type.partition(".")[0]

    @property
    def action(self) -> str:
        """The part of ``type`` after the dot (``created`` in ``model_version.created``)."""
        return self.type.partition(".")[2]

    @property
    def model_name(self) -> str | None:
        """The registered model's name when the change happened."""
        return self.name


# The typed events below add no fields, only accessors, so they are plain slotted subclasses of RegistryEvent
# (they inherit its attrs-made __init__, __eq__ and __repr__): decorating each one again would make attrs
# generate and compile every method anew, which cost more than half of `from registry import Registry`.


class _VersionMixin:
    __slots__ = ()
    data: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.data["version"])


class RegisteredModelCreated(RegistryEvent):
    __slots__ = ()

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.data.get("tags") or {})

    @property
    def description(self) -> str | None:
        return self.data.get("description")


class RegisteredModelRenamed(RegistryEvent):
    __slots__ = ()

    @property
    def old_name(self) -> str:
        return str(self.data["old_name"])

    @property
    def new_name(self) -> str:
        return str(self.data["new_name"])


class RegisteredModelUpdated(RegistryEvent):
    __slots__ = ()

    @property
    def description(self) -> str | None:
        return self.data.get("description")


class RegisteredModelDeleted(RegistryEvent):
    __slots__ = ()

    @property
    def versions(self) -> list[int]:
        """The versions that were deleted with the model."""
        return [int(v) for v in self.data.get("versions", ())]


class RegisteredModelImported(RegistryEvent):
    """A model brought in from a bundle or an MLflow registry, in one record (see registry.domain.imports)."""

    __slots__ = ()

    @property
    def created(self) -> bool:
        """Whether the import created the model (else it added to one that existed)."""
        return bool(self.data.get("created"))

    @property
    def versions(self) -> list[int]:
        """The versions the import created."""
        return [int(v["version"]) for v in self.data.get("versions", ())]

    @property
    def origin(self) -> str | None:
        """Where the model came from (a bundle's file, an MLflow URI)."""
        return self.data.get("origin")


class RegisteredModelSynced(RegistryEvent):
    """A replica's model made equal to its source's, in one record holding its whole state (see
    registry.domain.replicas)."""

    __slots__ = ()

    @property
    def created(self) -> bool:
        """Whether the sync created the model in the replica."""
        return bool(self.data.get("created"))

    @property
    def versions(self) -> list[int]:
        """The versions the model holds after the sync."""
        return [int(v["version"]) for v in self.data.get("versions", ())]

    @property
    def origin(self) -> str | None:
        """The replica's source."""
        return self.data.get("origin")


class RegisteredModelTagSet(RegistryEvent):
    __slots__ = ()

    @property
    def key(self) -> str:
        return str(self.data["key"])

    @property
    def value(self) -> str:
        return str(self.data["value"])


class RegisteredModelTagDeleted(RegistryEvent):
    __slots__ = ()

    @property
    def key(self) -> str:
        return str(self.data["key"])


class ModelVersionCreated(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def source(self) -> str:
        return str(self.data.get("source"))

    @property
    def run_id(self) -> str | None:
        return self.data.get("run_id")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.data.get("tags") or {})

    @property
    def description(self) -> str | None:
        return self.data.get("description")


class ModelVersionUpdated(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def description(self) -> str | None:
        return self.data.get("description")


class ModelVersionDeleted(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def stage(self) -> str | None:
        """The stage the version was in when it was deleted."""
        return self.data.get("stage")


class ModelVersionStageTransitioned(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def from_stage(self) -> str:
        return str(self.data["from_stage"])

    @property
    def to_stage(self) -> str:
        return str(self.data["to_stage"])

    @property
    def archived_versions(self) -> list[int]:
        """Versions archived in the same step (``archive_existing_versions=True``)."""
        return [int(a["version"]) for a in self.data.get("archived", ())]


class ModelVersionTagSet(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def key(self) -> str:
        return str(self.data["key"])

    @property
    def value(self) -> str:
        return str(self.data["value"])


class ModelVersionTagDeleted(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def key(self) -> str:
        return str(self.data["key"])


class ModelVersionAliasCreated(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def alias(self) -> str:
        return str(self.data["alias"])

    @property
    def previous_version(self) -> int | None:
        """The version the alias pointed at before (it moved), or None (it is new)."""
        previous = self.data.get("previous_version")
        return None if previous is None else int(previous)


class ModelVersionAliasDeleted(_VersionMixin, RegistryEvent):
    __slots__ = ()

    @property
    def alias(self) -> str:
        return str(self.data["alias"])


class TransitionRequestChanged(_VersionMixin, RegistryEvent):
    """A transition request was created, rejected or deleted (Databricks' TRANSITION_REQUEST_CREATED, ...)."""

    __slots__ = ()

    @property
    def stage(self) -> str:
        """The stage requested."""
        return str(self.data["stage"])

    @property
    def comment(self) -> str | None:
        return self.data.get("comment")

    @property
    def request_ids(self) -> list[int]:
        """The requests this event approves, rejects or deletes (``[seq]`` for a new request: its own id)."""
        if self.type == EventType.TRANSITION_REQUEST_CREATED:
            return [self.seq]
        return [int(i) for i in self.data.get("request_ids", ())]

    @property
    def closed_requests(self) -> list[int]:
        """Other requests the registry closed in the same event (their version moved)."""
        return [int(i) for i in self.data.get("closed_requests", ())]


class TransitionRequestApproved(TransitionRequestChanged):
    """A request was approved and its version moved, in this one event (Databricks' TRANSITION_REQUEST_APPROVED)."""

    __slots__ = ()

    @property
    def from_stage(self) -> str:
        return str(self.data["from_stage"])

    @property
    def to_stage(self) -> str:
        return str(self.data["to_stage"])

    @property
    def archived_versions(self) -> list[int]:
        return [int(a["version"]) for a in self.data.get("archived", ())]


class ModelVersionCommentChanged(_VersionMixin, RegistryEvent):
    """A comment on a version was created, updated or deleted (Databricks' COMMENT_CREATED, ...)."""

    __slots__ = ()

    @property
    def comment_id(self) -> str:
        return str(self.data["id"])

    @property
    def comment(self) -> str | None:
        return self.data.get("comment")


class WebhookChanged(RegistryEvent):
    """A webhook or command trigger was created, updated or deleted (its secret is never in ``data``)."""

    __slots__ = ()

    @property
    def webhook_id(self) -> str:
        return str(self.data["id"])


_CLASSES: dict[str, type[RegistryEvent]] = {
    EventType.REGISTERED_MODEL_CREATED: RegisteredModelCreated,
    EventType.REGISTERED_MODEL_RENAMED: RegisteredModelRenamed,
    EventType.REGISTERED_MODEL_UPDATED: RegisteredModelUpdated,
    EventType.REGISTERED_MODEL_DELETED: RegisteredModelDeleted,
    EventType.REGISTERED_MODEL_IMPORTED: RegisteredModelImported,
    EventType.REGISTERED_MODEL_SYNCED: RegisteredModelSynced,
    EventType.REGISTERED_MODEL_TAG_SET: RegisteredModelTagSet,
    EventType.REGISTERED_MODEL_TAG_DELETED: RegisteredModelTagDeleted,
    EventType.MODEL_VERSION_CREATED: ModelVersionCreated,
    EventType.MODEL_VERSION_UPDATED: ModelVersionUpdated,
    EventType.MODEL_VERSION_DELETED: ModelVersionDeleted,
    EventType.MODEL_VERSION_STAGE_TRANSITIONED: ModelVersionStageTransitioned,
    EventType.MODEL_VERSION_TAG_SET: ModelVersionTagSet,
    EventType.MODEL_VERSION_TAG_DELETED: ModelVersionTagDeleted,
    EventType.MODEL_VERSION_ALIAS_CREATED: ModelVersionAliasCreated,
    EventType.MODEL_VERSION_ALIAS_DELETED: ModelVersionAliasDeleted,
    EventType.TRANSITION_REQUEST_CREATED: TransitionRequestChanged,
    EventType.TRANSITION_REQUEST_APPROVED: TransitionRequestApproved,
    EventType.TRANSITION_REQUEST_REJECTED: TransitionRequestChanged,
    EventType.TRANSITION_REQUEST_DELETED: TransitionRequestChanged,
    EventType.MODEL_VERSION_COMMENT_CREATED: ModelVersionCommentChanged,
    EventType.MODEL_VERSION_COMMENT_UPDATED: ModelVersionCommentChanged,
    EventType.MODEL_VERSION_COMMENT_DELETED: ModelVersionCommentChanged,
    WEBHOOK_CREATED: WebhookChanged,
    WEBHOOK_UPDATED: WebhookChanged,
    WEBHOOK_DELETED: WebhookChanged,
}


def register_event_class(event_type: str, cls: type[RegistryEvent]) -> None:
    """Give a new event type (an extension's, e.g. governance) its typed class and make it subscribable."""
    _check_type_syntax(event_type)
    if not (isinstance(cls, type) and issubclass(cls, RegistryEvent)):
        raise InvalidParameterValue(f"{cls!r} must be a subclass of RegistryEvent.")
    _CLASSES[event_type] = cls


def known_event_types() -> list[str]:
    """Every event type name this registry emits (sorted)."""
    names = {v for k, v in vars(EventType).items() if k.isupper() and isinstance(v, str)}
    return sorted(names | set(_CLASSES))


def typed(event: Event) -> RegistryEvent:
    """The typed view of a journal event (secrets of webhook definitions removed from ``data``)."""
    cls = _CLASSES.get(event.type, RegistryEvent)
    if type(event) is cls:
        return event  # type: ignore[return-value]
    data = event.data
    if cls is WebhookChanged and "secret" in data:
        data = {k: v for k, v in data.items() if k != "secret"}
        data["has_secret"] = event.data.get("secret") is not None
    return cls(
        seq=event.seq,
        timestamp=event.timestamp,
        type=event.type,
        actor=event.actor,
        model_id=event.model_id,
        name=event.name,
        data=data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


# -- filters --------------------------------------------------------------------------------------------------------

_TYPE_SYNTAX = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
_PATTERN_SYNTAX = re.compile(r"\*|[a-z][a-z0-9_]*\.\*")


def _check_type_syntax(event_type: Any) -> str:
    if not isinstance(event_type, str) or not _TYPE_SYNTAX.fullmatch(event_type):
        raise InvalidParameterValue(
            f"Event type {event_type!r} is not of the form 'entity.action' (e.g. 'model_version.created')."
        )
    return event_type


@attrs.frozen
class EventFilter:
    """Which events a subscriber, a listing or a follower wants: by type (exact or ``entity.*``) and model."""

    types: frozenset[str] | None = None
    entities: frozenset[str] | None = None
    models: frozenset[str] | None = None

    @classmethod
    def build(cls, events: str | Iterable[str] | None, model: str | Iterable[str] | None) -> EventFilter:
        """Validate a caller's ``events=`` / ``model=`` arguments (up front, so mistakes fail at once).

        Raises:
            InvalidParameterValue: an unknown event type, a malformed pattern, or a model name that is not a
                non-empty string.
        """
        types: set[str] | None = None
        entities: set[str] | None = None
        if events is not None:
            wanted = [events] if isinstance(events, str) else _listed(events, "events")
            if not wanted:
                raise InvalidParameterValue("events must name at least one event type (or be None for all).")
            known = set(known_event_types())
            types, entities = set(), set()
            for name in wanted:
                if isinstance(name, str) and _PATTERN_SYNTAX.fullmatch(name):
                    if name == "*":
                        types = entities = None
                        break
                    entities.add(name[:-2])
                    continue
                _check_type_syntax(name)
                if name not in known:
                    raise InvalidParameterValue(
                        f"Unknown event type {name!r}. Known types: {', '.join(sorted(known))} "
                        "(or a pattern such as 'model_version.*').",
                        event=name,
                    )
                types.add(name)
        models: set[str] | None = None
        if model is not None:
            names = [model] if isinstance(model, str) else _listed(model, "model")
            for name in names:
                if not isinstance(name, str) or not name:
                    raise InvalidParameterValue(f"model must be a model name or a list of names, got {model!r}.")
            models = set(names)
        return cls(
            frozenset(types) if types is not None else None,
            frozenset(entities) if entities is not None else None,
            frozenset(models) if models is not None else None,
        )

    def matches(self, event: Event) -> bool:
        if self.types is not None or self.entities is not None:
            entity = event.type.partition(".")[0]
            if not ((self.types and event.type in self.types) or (self.entities and entity in self.entities)):
                return False
        if self.models is not None:
            names = {event.name}
            if event.type == EventType.REGISTERED_MODEL_RENAMED:
                names.add(event.data.get("new_name"))  # a rename concerns the old and the new name
            if not names & self.models:
                return False
        return True


# -- the in-process bus ---------------------------------------------------------------------------------------------


def _listed(value: Any, what: str) -> list[Any]:
    """``value`` as a list, if it is a list, tuple, set or other iterable (not a mapping or bytes)."""
    if isinstance(value, bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        raise InvalidParameterValue(f"{what} must be a string or a list of strings, got {type(value).__name__}.")
    return list(value)
