"""Keeping a replica equal to its source: a pure command.

What the source holds (the selected models, each with the versions selected) arrives as
:class:`~registry.domain.imports.ImportedModel` values. :func:`plan_sync` compares them with the replica's state
and returns, per model that differs, ONE ``registered_model.synced`` change carrying the model's whole state
(metadata, versions, stages, aliases, counter), which the fold puts in place of what the model had: a reader sees
each model as it was before the sync or as it is after, never a version without its alias or a moved alias
without its new version. Models the replica holds that the source no longer offers (deleted there, renamed, or
no longer selected) get a ``registered_model.deleted`` change. Versions deleted at the source, or no longer
selected, simply are not in the new state; aliases moved there point at their new versions here.

A version number the replica holds with other files than the source's (the source's model was deleted and made
again under the same name) cannot be replaced in place, since a version's files never change under it: the
replica's model is deleted and made again under a new id, in two records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from registry.domain.commands import Change
from registry.domain.entities import ModelVersion
from registry.domain.imports import ImportedModel, ImportedVersion
from registry.domain.state import EventType, ModelState, RegistryState
from registry.errors import InvalidParameterValue

__all__ = ["plan_sync", "synced_payload"]


def _version_entry(v: ImportedVersion, created: int, updated: int) -> dict[str, Any]:
    return {
        "version": v.version,
        "source": v.source,
        "run_id": v.run_id,
        "run_link": v.run_link,
        "description": v.description,
        "tags": dict(v.tags),
        "stage": v.stage.value,
        "digest": v.digest,
        "user_id": v.user_id,
        "creation_timestamp": v.creation_timestamp if v.creation_timestamp is not None else created,
        "last_updated_timestamp": v.last_updated_timestamp if v.last_updated_timestamp is not None else updated,
    }


def synced_payload(m: ImportedModel, now: int) -> dict[str, Any]:
    """The whole state of ``m`` as a ``registered_model.synced`` record holds it (``created`` and ``origin`` are
    added by :func:`plan_sync`). Missing timestamps become ``now``."""
    created = m.creation_timestamp if m.creation_timestamp is not None else now
    updated = m.last_updated_timestamp if m.last_updated_timestamp is not None else now
    top = max((v.version for v in m.versions), default=0)
    return {
        "description": m.description,
        "tags": dict(m.tags),
        "aliases": dict(m.aliases),
        "next_version": max(m.next_version or 1, top + 1),
        "creation_timestamp": created,
        "last_updated_timestamp": updated,
        "versions": [_version_entry(v, created, updated) for v in m.versions],
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
) -> list[Change]:
    """The changes that make the replica's ``state`` hold exactly ``models`` (and no other model).

    Args:
        models: the source's selected models, each with the versions the replica is to hold (ascending).
        new_ids: a fresh id for each model name that may have to be made here.
        now: the time recorded where the source gave none.
        origin: the source, recorded in the journal.

    Raises:
        InvalidParameterValue: a model is listed twice, an alias points at a version not brought, or a new
            model has no id.
    """
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise InvalidParameterValue("The sync lists a model twice.")
    changes: list[Change] = []
    wanted = set(names)
    for name in sorted(set(state.names()) - wanted):
        changes.append(_deletion(state.model(name)))
    for m in models:
        held = {v.version for v in m.versions}
        for alias, number in m.aliases.items():
            if number not in held:
                raise InvalidParameterValue(
                    f"Model '{m.name}': alias @{alias} points at version {number}, which the sync does not bring.",
                    name=m.name,
                    alias=alias,
                )
        payload = synced_payload(m, now)
        existing = state.model(m.name) if state.has_model(m.name) else None
        if existing is not None and _files_changed(existing, payload):
            changes.append(_deletion(existing))
            existing = None
        if existing is not None:
            current = _current(existing)
            if current == payload:
                continue
            removed = sorted(set(existing.versions) - held)
            model_id = existing.id
        else:
            removed = []
            model_id = new_ids.get(m.name, "")
            if not model_id:
                raise InvalidParameterValue(f"No new id was given for model '{m.name}'.", name=m.name)
        data = {"created": existing is None, "origin": origin, **payload, "removed_versions": removed}
        changes.append(Change(EventType.REGISTERED_MODEL_SYNCED, model_id, m.name, data))
    return changes


def _deletion(model: ModelState) -> Change:
    return Change(EventType.REGISTERED_MODEL_DELETED, model.id, model.name, {"versions": sorted(model.versions)})
