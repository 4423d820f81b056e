"""A model's history from the registry's journal, and one-line descriptions of events (for ``registry history``
and ``registry events``).

The journal already records every change with its time and actor, so history is a filter over events: those of
one model (followed through renames by its internal id), optionally narrowed to one version. And because the
registry's state is a fold of its events, the state at any past moment is the fold of the events up to it:
`state_at()` answers "what was in Production, or @champion, at time T?", and `rollback_target()` says
where an alias rolls back to. Pure: the client hands in the events (``Registry.history``, ``Registry.state_at``).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from registry.domain.entities import ModelVersion
from registry.domain.stages import Stage
from registry.domain.state import Event, EventType, RegistryState
from registry.domain.validation import validate_alias, validate_model_name
from registry.errors import InvalidParameterValue, ResourceDoesNotExist

__all__ = ["describe_event", "model_history", "rollback_target", "state_at", "version_at"]


def model_history(events: Sequence[Event], name: str, version: int | None = None) -> list[Event]:
    """The events of the model called ``name`` (now, or when it was last deleted), oldest first.

    A renamed model's history includes the events from before the rename. With ``version``, only the events
    concerning that version: its creation, edits, tags, transitions (including being archived by another
    version's promotion), aliases pointing at it or moved away from it, and its deletion.

    Raises:
        ResourceDoesNotExist: no model of that name ever existed.
    """
    name = validate_model_name(name)
    live: dict[str, str] = {}
    last_id: str | None = None
    for e in events:
        if e.model_id is None:
            continue
        if e.type == EventType.REGISTERED_MODEL_CREATED or (
            e.type in (EventType.REGISTERED_MODEL_IMPORTED, EventType.REGISTERED_MODEL_SYNCED) and e.data.get("created")
        ):
            live[e.name or ""] = e.model_id
        elif e.type == EventType.REGISTERED_MODEL_RENAMED:
            live.pop(e.data.get("old_name", ""), None)
            live[e.data.get("new_name", "")] = e.model_id
        elif e.type == EventType.REGISTERED_MODEL_DELETED:
            live.pop(e.name or "", None)
        if name in (e.name, e.data.get("new_name")):
            last_id = e.model_id
    model_id = live.get(name, last_id)
    if model_id is None:
        raise ResourceDoesNotExist(
            f"The registry's journal has no model called '{name}'. List models with `registry models list`.",
            name=name,
        )
    mine = [e for e in events if e.model_id == model_id]
    if version is None:
        return mine
    return [e for e in mine if _concerns(e, version)]


def state_at(events: Iterable[Event], at: int) -> RegistryState:
    """The registry as it was at time ``at`` (integer milliseconds since the epoch).

    It is the fold of the longest start of the journal whose events all happened at or before ``at``, so a
    clock stepping back between two processes' commits can only make the answer earlier, never inconsistent.
    The result is a read-only snapshot (``state.model(name).aliases``, ``.latest(stage)``, ...) whose versions
    carry no file locations: their files may be gone since.
    """
    if isinstance(at, bool) or not isinstance(at, int):
        raise InvalidParameterValue(f"'at' must be a time in integer milliseconds since the epoch, got {at!r}.")
    state = RegistryState()
    for event in events:
        if event.timestamp > at:
            break  # the journal is in commit order, and commit times only move forward within one clock
        state.apply(event)
    return state


def version_at(
    events: Iterable[Event], name: str, at: int, *, alias: str | None = None, stage: str | Stage | None = None
) -> ModelVersion | None:
    """Which version ``alias`` pointed at, or was the highest in ``stage``, at time ``at``; None if none was.

    Raises:
        InvalidParameterValue: neither or both of ``alias`` and ``stage`` given, or a bad stage.
        ResourceDoesNotExist: no model called ``name`` existed at that time.
    """
    if (alias is None) == (stage is None):
        raise InvalidParameterValue("Pass exactly one of alias= or stage=.")
    name = validate_model_name(name)
    if alias is not None:
        alias = validate_alias(alias)
    events = list(events)
    state = state_at(events, at)
    if name not in state.ids_by_name:
        raise _absent_at(events, state, name, at)
    model = state.model(name)
    if alias is not None:
        number = model.aliases.get(alias)
        return None if number is None else model.versions[number]
    return model.latest(Stage.parse(stage))  # type: ignore[arg-type]


def _utc(ms: int) -> str:
    when = _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC)
    return when.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


def _absent_at(events: list[Event], state: RegistryState, name: str, at: int) -> ResourceDoesNotExist:
    """Why ``name`` was not a model at ``at``: it did not exist yet (it was created or renamed to that later),
    or it never existed, or no longer did."""
    for event in events:
        if event.seq <= state.seq:
            continue
        state.apply(event)
        if name in state.ids_by_name:
            return ResourceDoesNotExist(
                f"Model '{name}' did not exist yet at {_utc(at)}: it was created (or given that name) at "
                f"{_utc(event.timestamp)}. Ask for a later time.",
                name=name,
            )
    return ResourceDoesNotExist(f"There was no model '{name}' at {_utc(at)}.", name=name)


def rollback_target(events: Sequence[Event], name: str, alias: str, current: int, live: Iterable[int]) -> int:
    """The version ``alias`` pointed at before ``current`` (skipping versions not in ``live``): where a rollback
    of the alias goes. Rolling back twice returns to where it started, like any other move.

    Raises:
        ResourceDoesNotExist: it never pointed at another live version.
    """
    alive = set(live)
    pointed = [
        int(e.data["version"])
        for e in model_history(events, name)
        if e.type == EventType.MODEL_VERSION_ALIAS_CREATED and e.data.get("alias") == alias
    ]
    for number in reversed(pointed):
        if number != current and number in alive:
            return number
    raise ResourceDoesNotExist(
        f"Alias @{alias} of model '{name}' never pointed at another version that still exists; nothing to roll "
        "back to.",
        name=name,
        alias=alias,
    )


def _concerns(e: Event, version: int) -> bool:
    data = e.data
    if data.get("version") == version or data.get("previous_version") == version:
        return True
    if e.type == EventType.REGISTERED_MODEL_DELETED:
        return version in data.get("versions", [])
    if e.type == EventType.REGISTERED_MODEL_IMPORTED:
        touched = [v.get("version") for v in (*data.get("versions", ()), *data.get("updates", ()))]
        return version in touched or version in (data.get("aliases") or {}).values()
    if e.type == EventType.REGISTERED_MODEL_SYNCED:  # the whole model's state: every version it holds or dropped
        held = [v.get("version") for v in data.get("versions", ())]
        return version in held or version in data.get("removed_versions", [])
    return any(a.get("version") == version for a in data.get("archived", []) if isinstance(a, dict))


def describe_event(e: Event) -> str:
    """One line saying what an event did, e.g. ``version 3: Staging -> Production (archived 2)``."""
    d = e.data
    t = e.type
    v = d.get("version")
    if t == EventType.REGISTERED_MODEL_CREATED:
        return "model created"
    if t == EventType.REGISTERED_MODEL_RENAMED:
        return f"renamed '{d.get('old_name')}' -> '{d.get('new_name')}'"
    if t == EventType.REGISTERED_MODEL_UPDATED:
        return f"description set to {_short(d.get('description'))}"
    if t == EventType.REGISTERED_MODEL_DELETED:
        return f"model deleted (versions {', '.join(map(str, d.get('versions', []))) or 'none'})"
    if t in (EventType.REGISTERED_MODEL_TAG_SET, EventType.MODEL_VERSION_TAG_SET):
        where = f"version {v}: " if v is not None else ""
        return f"{where}tag {d.get('key')}={_short(d.get('value'))}"
    if t in (EventType.REGISTERED_MODEL_TAG_DELETED, EventType.MODEL_VERSION_TAG_DELETED):
        where = f"version {v}: " if v is not None else ""
        return f"{where}tag {d.get('key')} deleted"
    if t == EventType.MODEL_VERSION_CREATED:
        if d.get("source") is None:  # log_model: the files were saved straight into the registry
            return f"version {v} logged into the registry"
        return f"version {v} created from {_short(d.get('source'))}"
    if t == EventType.MODEL_VERSION_UPDATED:
        return f"version {v}: description set to {_short(d.get('description'))}"
    if t == EventType.MODEL_VERSION_DELETED:
        return f"version {v} deleted (was {d.get('stage')}){_closed(d)}"
    if t == EventType.MODEL_VERSION_STAGE_TRANSITIONED:
        archived = [str(a.get("version")) for a in d.get("archived", []) if isinstance(a, dict)]
        extra = f" (archived {', '.join(archived)})" if archived else ""
        rollback = d.get("rollback")
        if isinstance(rollback, dict):
            why = f": {_short(rollback.get('reason'))}" if rollback.get("reason") else ""
            extra += f" (rollback from version {rollback.get('from_version')}{why})"
        return f"version {v}: {d.get('from_stage')} -> {d.get('to_stage')}{extra}{_closed(d)}"
    if t == EventType.TRANSITION_REQUEST_CREATED:
        return f"version {v}: requested {d.get('stage')}{_said(d)}"
    if t == EventType.TRANSITION_REQUEST_APPROVED:
        archived = [str(a.get("version")) for a in d.get("archived", []) if isinstance(a, dict)]
        extra = f" (archived {', '.join(archived)})" if archived else ""
        return (
            f"version {v}: request for {d.get('stage')} approved, {d.get('from_stage')} -> {d.get('to_stage')}"
            f"{extra}{_said(d)}{_closed(d)}"
        )
    if t == EventType.TRANSITION_REQUEST_REJECTED:
        return f"version {v}: request for {d.get('stage')} rejected{_said(d)}"
    if t == EventType.TRANSITION_REQUEST_DELETED:
        return f"version {v}: request for {d.get('stage')} by {d.get('creator')} withdrawn"
    if t == EventType.MODEL_VERSION_COMMENT_CREATED:
        return f"version {v}: comment {_short(d.get('comment'))}"
    if t == EventType.MODEL_VERSION_COMMENT_UPDATED:
        return f"version {v}: comment edited to {_short(d.get('comment'))}"
    if t == EventType.MODEL_VERSION_COMMENT_DELETED:
        return f"version {v}: comment deleted"
    if t == EventType.MODEL_VERSION_ALIAS_CREATED:
        prev = d.get("previous_version")
        moved = f" (was version {prev})" if prev is not None else ""
        rollback = d.get("rollback")
        if isinstance(rollback, dict):
            why = f": {_short(rollback.get('reason'))}" if rollback.get("reason") else ""
            moved += f" (rollback{why})"
        return f"alias @{d.get('alias')} -> version {v}{moved}"
    if t == EventType.MODEL_VERSION_ALIAS_DELETED:
        return f"alias @{d.get('alias')} removed (was version {v})"
    if t == EventType.REGISTERED_MODEL_IMPORTED:
        new = ", ".join(str(x.get("version")) for x in d.get("versions", ())) or "none"
        what = "model imported" if d.get("created") else "import"
        origin = f" from {_short(d.get('origin'))}" if d.get("origin") else ""
        return f"{what}{origin}: new versions {new}"
    if t == EventType.REGISTERED_MODEL_SYNCED:
        held = ", ".join(str(x.get("version")) for x in d.get("versions", ())) or "none"
        what = "model replicated" if d.get("created") else "replica synced"
        origin = f" from {_short(d.get('origin'))}" if d.get("origin") else ""
        return f"{what}{origin}: versions {held}"
    return f"{t} {json.dumps(d, sort_keys=True, default=str)}"


def _said(d: dict[str, Any]) -> str:
    return f": {_short(d.get('comment'))}" if d.get("comment") else ""


def _closed(d: dict[str, Any]) -> str:
    closed = d.get("closed_requests") or []
    return f" (closed requests {', '.join(map(str, closed))})" if closed else ""


def _short(value: Any, width: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 3] + "..."
