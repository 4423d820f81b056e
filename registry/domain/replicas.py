"""Keeping a replica equal to its source: a pure command.

What the source holds (the selected models, each with the versions selected) arrives as
`ImportedModel` values. `plan_sync()` compares them with the replica's state
and returns, per model that differs, ONE ``registered_model.synced`` change carrying the model's whole state
(metadata, versions, stages, aliases, counter, and the transition requests and comments on those versions), which
the fold puts in place of what the model had: a reader sees each model as it was before the sync or as it is
after, never a version without its alias or a moved alias without its new version. All of one sync's changes are
one commit (the store appends them together), so a reader also never sees one model synced and another not yet.
Models the replica holds that the source no longer offers (deleted there, renamed, or no longer selected) get a
``registered_model.deleted`` change. Versions deleted at the source, or no longer selected, simply are not in the
new state; aliases moved there point at their new versions here.

A version number the replica holds with other files than the source's (the source's model was deleted and made
again under the same name) cannot be replaced in place, since a version's files never change under it: the
replica's model is deleted and made again under a new id, in two records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from registry.domain.commands import Change
from registry.domain.entities import ModelVersion
from registry.domain.governance import Comment, TransitionRequest
from registry.domain.imports import ImportedModel, check_aliases, check_distinct, version_payload
from registry.domain.state import EventType, ModelState, RegistryState
from registry.errors import InvalidParameterValue

__all__ = ["governance_payload", "plan_sync", "synced_payload"]


def synced_payload(m: ImportedModel, now: int) -> dict[str, Any]:
    """The whole state of ``m`` as a ``registered_model.synced`` record holds it (``created``, ``origin`` and
    ``governance`` are added by `plan_sync()`). Missing timestamps become ``now``."""
    created = m.creation_timestamp if m.creation_timestamp is not None else now
    updated = m.last_updated_timestamp if m.last_updated_timestamp is not None else now
    top = max((v.version for v in m.versions), default=0)
    versions = []
    for v in m.versions:
        entry = version_payload(v)  # the same journal form as an imported version, every timestamp given
        entry["creation_timestamp"] = v.creation_timestamp if v.creation_timestamp is not None else created
        entry["last_updated_timestamp"] = v.last_updated_timestamp if v.last_updated_timestamp is not None else updated
        versions.append(entry)
    return {
        "description": m.description,
        "tags": dict(m.tags),
        "aliases": dict(m.aliases),
        "next_version": max(m.next_version or 1, top + 1),
        "creation_timestamp": created,
        "last_updated_timestamp": updated,
        "versions": versions,
    }


def governance_payload(
    requests: Iterable[TransitionRequest], comments: Iterable[Comment], model_id: str, held: Iterable[int]
) -> dict[str, Any]:
    """The requests and comments on the ``held`` versions, as a synced record holds them: requests by id,
    comments by version and then in the order given (creation order), so an unchanged model compares equal.
    Each comment's id names the replica's model ``model_id`` and keeps the source's own part after the dot (a
    comment id starts with its model's id, which differs between source and replica)."""
    kept = set(held)
    return {
        "requests": [r.to_dict() for r in sorted(requests, key=lambda r: r.id) if r.version in kept],
        "comments": [
            attrs.evolve(c, id=f"{model_id}.{c.id.partition('.')[2] or c.id}").to_dict()
            for c in sorted(comments, key=lambda c: c.version)  # stable: each version's in the order given
            if c.version in kept
        ],
    }


def _row(mv: ModelVersion) -> dict[str, Any]:
    own_copy = mv.storage_location is not None
    return {
        "version": mv.version,
        "source": None if own_copy and mv.source == mv.storage_location else mv.source,
        "run_id": mv.run_id,
        "run_link": mv.run_link,
        "description": mv.description,
        "tags": dict(mv.tags),
        "stage": mv.current_stage.value,
        "digest": mv.digest,
        "user_id": mv.user_id,
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
    }


def _current(model: ModelState) -> dict[str, Any]:
    return {
        "description": model.description,
        "tags": dict(model.tags),
        "aliases": dict(model.aliases),
        "next_version": model.next_version,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "versions": [_row(model.versions[n]) for n in sorted(model.versions)],
        "governance": governance_payload(
            model.governance.requests.values(), model.governance.comments.values(), model.id, model.versions
        ),
    }


def _files_changed(model: ModelState, payload: Mapping[str, Any]) -> bool:
    for v in payload["versions"]:
        mv = model.versions.get(v["version"])
        if mv is not None and mv.digest != v["digest"]:
            return True
    return False


def plan_sync(
    state: RegistryState,
    models: Sequence[ImportedModel],
    new_ids: Mapping[str, str],
    *,
    now: int,
    origin: str | None = None,
    governance: Mapping[str, tuple[Sequence[TransitionRequest], Sequence[Comment]]] | None = None,
) -> list[Change]:
    """The changes that make the replica's ``state`` hold exactly ``models`` (and no other model).

    Args:
        models: the source's selected models, each with the versions the replica is to hold (ascending).
        new_ids: a fresh id for each model name that may have to be made here.
        now: the time recorded where the source gave none.
        origin: the source, recorded in the journal.
        governance: each model's transition requests and comments at the source (those on versions the
            replica does not hold are left out); a model not named has none.

    Raises:
        InvalidParameterValue: a model is listed twice, an alias points at a version not brought, or a new
            model has no id.
    """
    check_distinct(models, "sync")
    changes: list[Change] = []
    wanted = {m.name for m in models}
    for name in sorted(set(state.names()) - wanted):
        changes.append(_deletion(state.model(name)))
    for m in models:
        held = {v.version for v in m.versions}
        check_aliases(m.name, m.aliases, held, "sync")
        payload = synced_payload(m, now)
        existing = state.model(m.name) if state.has_model(m.name) else None
        if existing is not None and _files_changed(existing, payload):
            changes.append(_deletion(existing))
            existing = None
        if existing is not None:
            model_id = existing.id
        else:
            model_id = new_ids.get(m.name, "")
            if not model_id:
                raise InvalidParameterValue(f"No new id was given for model '{m.name}'.", name=m.name)
        requests, comments = (governance or {}).get(m.name, ((), ()))
        payload["governance"] = governance_payload(requests, comments, model_id, held)
        if existing is not None and _current(existing) == payload:
            continue
        removed = sorted(set(existing.versions) - held) if existing is not None else []
        data = {"created": existing is None, "origin": origin, **payload, "removed_versions": removed}
        changes.append(Change(EventType.REGISTERED_MODEL_SYNCED, model_id, m.name, data))
    return changes


def _deletion(model: ModelState) -> Change:
    return Change(EventType.REGISTERED_MODEL_DELETED, model.id, model.name, {"versions": sorted(model.versions)})
