"""The fold of one model's events: a handler per event type, each checking everything before it changes anything.

`apply_model_event()` is what `registry.domain.state.RegistryState` calls for every event about an
existing model (creation and deletion are the table's, in the state itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from registry.domain.entities import ModelVersion
from registry.domain.governance import Governance, RequestStatus, comment_model_id
from registry.domain.model_state import ModelState, artifact_location
from registry.domain.records import Event, EventType
from registry.domain.stages import Stage
from registry.errors import CorruptRegistry

__all__ = [
    "CREATING_EVENTS",
    "MODEL_HANDLERS",
    "TABLE_EVENTS",
    "apply_model_event",
    "cannot_apply",
    "fold_model_event",
    "optional_text",
    "tags_payload",
    "text_payload",
]


def cannot_apply(event: Event, exc: BaseException) -> CorruptRegistry:
    return CorruptRegistry(f"Event {event.seq} ({event.type}) cannot be applied: {exc!r}.", seq=event.seq)


def apply_model_event(model: ModelState, event: Event, artifact_root: str | None) -> None:
    """Fold one event about ``model`` other than its creation or deletion into it (checks before it changes
    anything, so a refused event leaves the model as it was)."""
    MODEL_HANDLERS[event.type](model, event, artifact_root)
    model.touch(event.seq)


def fold_model_event(model: ModelState, event: Event, artifact_root: str | None) -> None:
    try:
        apply_model_event(model, event, artifact_root)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise cannot_apply(event, exc) from None


# -- reading event payloads: each accessor raises (TypeError/KeyError) for a missing or mistyped field -----------


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{key}' is {value!r}, not an integer")
    return value


def text_payload(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"'{key}' is {value!r}, not a string")
    return value


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"'{key}' is {value!r}, not a string")
    return value


def tags_payload(data: Mapping[str, Any], key: str) -> dict[str, str]:
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
    new_name = text_payload(e.data, "new_name")
    m.name = new_name
    m.governance.rename(new_name)
    m.last_updated_timestamp = e.timestamp
    for mv in list(m.versions.values()):
        m.put_version(attrs.evolve(mv, name=new_name, last_updated_timestamp=e.timestamp))


def _on_model_updated(m: ModelState, e: Event, _root: str | None) -> None:
    m.description = optional_text(e.data, "description")
    m.last_updated_timestamp = e.timestamp


def _on_model_tag_set(m: ModelState, e: Event, _root: str | None) -> None:
    key, value = text_payload(e.data, "key"), text_payload(e.data, "value")
    m.tags[key] = value


def _on_model_tag_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    key = text_payload(e.data, "key")
    if key not in m.tags:
        raise KeyError(f"model '{m.name}' has no tag {key!r}")
    del m.tags[key]


def _on_version_created(m: ModelState, e: Event, root: str | None) -> None:
    d = e.data
    number = _int(d, "version")
    if number < m.next_version or number in m.versions:
        raise ValueError(f"version {number} of model '{m.name}' was already issued (next is {m.next_version})")
    digest = optional_text(d, "digest")
    location = artifact_location(root, m.id, number, digest)
    source = optional_text(d, "source")
    version = ModelVersion(
        name=m.name,
        version=number,
        creation_timestamp=e.timestamp,
        last_updated_timestamp=e.timestamp,
        description=optional_text(d, "description"),
        user_id=e.actor,
        current_stage=Stage.NONE,
        source=source or location,
        run_id=optional_text(d, "run_id"),
        tags=tags_payload(d, "tags"),
        run_link=optional_text(d, "run_link"),
        storage_location=location,
        digest=digest,
    )
    m.put_version(version)
    m.next_version = number + 1
    m.last_updated_timestamp = e.timestamp


def _on_version_updated(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    description = optional_text(e.data, "description")
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
    moves = [(_int(e.data, "version"), Stage(text_payload(e.data, "to_stage")))]
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
    stage = Stage(text_payload(e.data, "stage"))
    m.governance.create_request(
        e.seq, m.name, mv.version, stage, e.actor, optional_text(e.data, "comment"), e.timestamp
    )


def _on_request_approved(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    moves = _stage_moves(m, e)
    if any(r.version != moves[0][0].version or r.to_stage != moves[0][1] for r in found):
        raise ValueError("the approved requests are not for the version and stage the event moves")
    # The request's status and the stage change in one event: no reader sees one without the other.
    m.governance.resolve(found, RequestStatus.APPROVED, e.actor, optional_text(e.data, "comment"), e.timestamp)
    _move(m, e, moves)


def _on_request_rejected(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    m.governance.resolve(found, RequestStatus.REJECTED, e.actor, optional_text(e.data, "comment"), e.timestamp)


def _on_request_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    found = m.governance.pending_by_id(e.data.get("request_ids"))
    m.governance.resolve(found, RequestStatus.DELETED, e.actor, None, e.timestamp)


def _on_comment_created(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    comment_id = text_payload(e.data, "id")
    m.governance.add_comment(comment_id, m.name, mv.version, e.actor, text_payload(e.data, "comment"), e.timestamp)


def _on_comment_updated(m: ModelState, e: Event, _root: str | None) -> None:
    m.governance.edit_comment(text_payload(e.data, "id"), text_payload(e.data, "comment"), e.timestamp)


def _on_comment_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    m.governance.delete_comment(text_payload(e.data, "id"))


def _on_version_tag_set(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    key, value = text_payload(e.data, "key"), text_payload(e.data, "value")
    m.put_version(attrs.evolve(mv, tags={**mv.tags, key: value}))


def _on_version_tag_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    mv = _existing(m, _int(e.data, "version"))
    key = text_payload(e.data, "key")
    if key not in mv.tags:
        raise KeyError(f"version {mv.version} of model '{m.name}' has no tag {key!r}")
    tags = dict(mv.tags)
    del tags[key]
    m.put_version(attrs.evolve(mv, tags=tags))


def _on_alias_created(m: ModelState, e: Event, _root: str | None) -> None:
    alias = text_payload(e.data, "alias")
    mv = _existing(m, _int(e.data, "version"))
    previous = m.aliases.get(alias)
    if previous is not None and previous in m.versions:
        old = m.versions[previous]
        m.put_version(attrs.evolve(old, aliases=[a for a in old.aliases if a != alias]))
        mv = m.versions[mv.version]
    m.aliases[alias] = mv.version
    m.put_version(attrs.evolve(mv, aliases=sorted({*mv.aliases, alias})))


def _on_alias_deleted(m: ModelState, e: Event, _root: str | None) -> None:
    alias = text_payload(e.data, "alias")
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
    description = optional_text(d, "description")
    tags = tags_payload(d, "tags")
    staged: dict[int, ModelVersion] = {}
    next_version = m.next_version
    versions = d.get("versions") or []
    if not isinstance(versions, list):
        raise TypeError(f"'versions' is {versions!r}, not a list")
    for v in versions:
        number = _int(v, "version")
        if number < next_version or number in m.versions or number in staged:
            raise ValueError(f"version {number} of model '{m.name}' was already issued (next is {next_version})")
        digest = optional_text(v, "digest")
        location = artifact_location(root, m.id, number, digest)
        created_at, updated_at = v.get("creation_timestamp"), v.get("last_updated_timestamp")
        staged[number] = ModelVersion(
            name=m.name,
            version=number,
            creation_timestamp=created_at if isinstance(created_at, int) else e.timestamp,
            last_updated_timestamp=updated_at if isinstance(updated_at, int) else e.timestamp,
            description=optional_text(v, "description"),
            user_id=optional_text(v, "user_id") or e.actor,
            current_stage=Stage(optional_text(v, "stage") or Stage.NONE.value),
            source=optional_text(v, "source") or location,
            run_id=optional_text(v, "run_id"),
            tags=tags_payload(v, "tags"),
            run_link=optional_text(v, "run_link"),
            storage_location=location,
            digest=digest,
        )
        next_version = number + 1
    updates = d.get("updates") or []
    if not isinstance(updates, list):
        raise TypeError(f"'updates' is {updates!r}, not a list")
    for u in updates:
        mv = staged.get(_int(u, "version")) or _existing(m, _int(u, "version"))
        merged = {**mv.tags, **tags_payload(u, "tags")}
        changes: dict[str, Any] = {"last_updated_timestamp": e.timestamp, "tags": merged}
        if (text := optional_text(u, "description")) is not None:
            changes["description"] = text
        if (stage := optional_text(u, "stage")) is not None:
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
    description = optional_text(d, "description")
    tags = tags_payload(d, "tags")
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
        digest = optional_text(v, "digest")
        location = artifact_location(root, m.id, number, digest)
        built[number] = ModelVersion(
            name=m.name,
            version=number,
            creation_timestamp=_int(v, "creation_timestamp"),
            last_updated_timestamp=_int(v, "last_updated_timestamp"),
            description=optional_text(v, "description"),
            user_id=optional_text(v, "user_id"),
            current_stage=Stage(text_payload(v, "stage")),
            source=optional_text(v, "source") or location,
            run_id=optional_text(v, "run_id"),
            tags=tags_payload(v, "tags"),
            run_link=optional_text(v, "run_link"),
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


CREATING_EVENTS = frozenset({EventType.REGISTERED_MODEL_IMPORTED, EventType.REGISTERED_MODEL_SYNCED})

TABLE_EVENTS = frozenset({EventType.REGISTERED_MODEL_CREATED, EventType.REGISTERED_MODEL_DELETED})

MODEL_HANDLERS: dict[str, Callable[[ModelState, Event, str | None], None]] = {
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
