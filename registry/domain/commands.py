"""The registry's commands: pure functions that check a request against the current state and return the
changes it makes (no IO, no clock).

Each command either raises a `RegistryError` and changes nothing, or returns the
`Change` list that the store commits as one journal record, so a multi-version change (promote v3,
archive v2) is seen by readers entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from registry.domain.stages import Stage, StagePolicy
from registry.domain.state import EventType, ModelState, RegistryState
from registry.domain.validation import (
    validate_alias,
    validate_description,
    validate_model_name,
    validate_run_id,
    validate_run_link,
    validate_tag_key,
    validate_tag_value,
    validate_tags,
    validate_version,
)
from registry.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist

__all__ = ["Change", "alias_not_found", "plan_transition"]

E = EventType


@attrs.frozen
class Change:
    """An event before the store has stamped it with a sequence number, a time and an actor."""

    type: str
    model_id: str
    name: str
    data: dict[str, Any] = attrs.field(factory=dict)


def alias_not_found(name: str, alias: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Registered model alias {alias} not found for model '{name}'.", name=name, alias=alias)


def create_registered_model(
    state: RegistryState, name: str, tags: Mapping[str, Any] | None, description: str | None, model_id: str
) -> list[Change]:
    name = validate_model_name(name)
    tags = validate_tags(tags)
    description = validate_description(description)
    if state.has_model(name):
        raise ResourceAlreadyExists(f"Registered Model (name={name}) already exists.", name=name)
    if model_id in state.models:
        raise InvalidParameterValue(f"Model id {model_id!r} is already in use; the ids generator must not repeat.")
    return [Change(E.REGISTERED_MODEL_CREATED, model_id, name, {"tags": tags, "description": description})]


def rename_registered_model(state: RegistryState, name: str, new_name: str) -> list[Change]:
    model = state.model(name)
    new_name = validate_model_name(new_name)
    if new_name == name:
        return []
    if state.has_model(new_name):
        raise ResourceAlreadyExists(
            f"Registered Model (name={new_name}) already exists; pick another name or delete it first.",
            name=new_name,
        )
    return [Change(E.REGISTERED_MODEL_RENAMED, model.id, name, {"old_name": name, "new_name": new_name})]


def update_registered_model(state: RegistryState, name: str, description: str | None) -> list[Change]:
    model = state.model(name)
    description = validate_description(description)
    return [Change(E.REGISTERED_MODEL_UPDATED, model.id, name, {"description": description})]


def delete_registered_model(state: RegistryState, name: str) -> list[Change]:
    model = state.model(name)
    return [Change(E.REGISTERED_MODEL_DELETED, model.id, name, {"versions": sorted(model.versions)})]


def set_registered_model_tag(state: RegistryState, name: str, key: Any, value: Any) -> list[Change]:
    model = state.model(name)
    key = validate_tag_key(key)
    value = validate_tag_value(key, value)
    return [Change(E.REGISTERED_MODEL_TAG_SET, model.id, name, {"key": key, "value": value})]


def delete_registered_model_tag(state: RegistryState, name: str, key: Any) -> list[Change]:
    model = state.model(name)
    key = validate_tag_key(key)
    if key not in model.tags:
        return []  # deleting an absent tag is a no-op, as in MLflow's SQL store
    return [Change(E.REGISTERED_MODEL_TAG_DELETED, model.id, name, {"key": key})]


def next_version(state: RegistryState, name: str, number: Any = None) -> tuple[ModelState, int]:
    """The model a new version goes to and the number it gets: the never-reused counter's next one, or
    ``number`` when given, which must be one the model has never allocated (at or past its counter).

    Raises:
        ResourceAlreadyExists: ``number`` is taken, or was taken by a version since deleted.
    """
    model = state.model(name)
    if number is None:
        return model, model.next_version
    chosen = validate_version(number)
    if chosen < model.next_version:
        raise ResourceAlreadyExists(
            f"Model '{name}' has already allocated version {chosen} (its next number is {model.next_version}; "
            "numbers are never reused, even after a delete).",
            name=name,
            version=chosen,
        )
    return model, chosen


def create_model_version(
    state: RegistryState,
    name: str,
    *,
    source: str | None,
    run_id: str | None,
    tags: Mapping[str, Any] | None,
    run_link: str | None,
    description: str | None,
    digest: str | None,
    version: Any = None,
) -> list[Change]:
    """A new version, numbered by the model's counter, or ``version`` when given (see `next_version()`)."""
    if source is None and digest is not None:
        pass  # the version's own copy is its source (log_model): recorded as None, read as the copy's path
    elif not isinstance(source, str) or not source:
        raise InvalidParameterValue(
            f"Model version source must be a non-empty string (a folder, a file: URI or a URI), got {source!r}.",
            source=source,
        )
    run_id = validate_run_id(run_id)
    run_link = validate_run_link(run_link)
    tags = validate_tags(tags)
    description = validate_description(description)
    model, number = next_version(state, name, version)
    data = {
        "version": number,
        "source": source,
        "run_id": run_id,
        "tags": tags,
        "run_link": run_link,
        "description": description,
        "digest": digest,
    }
    return [Change(E.MODEL_VERSION_CREATED, model.id, name, data)]


def update_model_version(state: RegistryState, name: str, version: Any, description: str | None) -> list[Change]:
    model = state.model(name)
    number = validate_version(version)
    model.version(number)
    description = validate_description(description)
    return [Change(E.MODEL_VERSION_UPDATED, model.id, name, {"version": number, "description": description})]


def delete_model_version(state: RegistryState, name: str, version: Any) -> list[Change]:
    model = state.model(name)
    number = validate_version(version)
    mv = model.version(number)
    data: dict[str, Any] = {"version": number, "aliases": list(mv.aliases), "stage": mv.current_stage.value}
    closed = closed_requests(model, [number])
    if closed:
        data["closed_requests"] = closed
    return [Change(E.MODEL_VERSION_DELETED, model.id, name, data)]


def set_model_version_tag(state: RegistryState, name: str, version: Any, key: Any, value: Any) -> list[Change]:
    model = state.model(name)
    number = validate_version(version)
    model.version(number)
    key = validate_tag_key(key)
    value = validate_tag_value(key, value)
    return [Change(E.MODEL_VERSION_TAG_SET, model.id, name, {"version": number, "key": key, "value": value})]


def delete_model_version_tag(state: RegistryState, name: str, version: Any, key: Any) -> list[Change]:
    model = state.model(name)
    number = validate_version(version)
    mv = model.version(number)
    key = validate_tag_key(key)
    if key not in mv.tags:
        return []  # deleting an absent tag is a no-op, as in MLflow's SQL store
    return [Change(E.MODEL_VERSION_TAG_DELETED, model.id, name, {"version": number, "key": key})]


_ACTIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def transition_model_version_stage(
    state: RegistryState,
    policy: StagePolicy,
    name: str,
    version: Any,
    stage: Any,
    archive_existing_versions: bool,
) -> list[Change]:
    model, data = plan_transition(state, policy, name, version, stage, archive_existing_versions, direct=True)
    return [Change(E.MODEL_VERSION_STAGE_TRANSITIONED, model.id, name, data)]


def plan_transition(
    state: RegistryState,
    policy: StagePolicy,
    name: str,
    version: Any,
    stage: Any,
    archive_existing_versions: bool,
    *,
    direct: bool,
) -> tuple[ModelState, dict[str, Any]]:
    """Check a move of ``version`` to ``stage`` and return the model and the move's payload (``version``,
    ``from_stage``, ``to_stage``, ``archived``, ``closed_requests``). ``direct`` is a plain transition, which
    a stage that requires approval refuses; an approval passes ``direct=False``."""
    # Arguments are checked before lookups, as MLflow does: a bad stage is reported even for a missing model.
    if isinstance(stage, str) and not stage.strip():
        raise InvalidParameterValue("The stage must not be an empty string.", stage=stage)
    target = Stage.parse(stage)
    model = state.model(name)
    number = validate_version(version)
    mv = model.version(number)
    if not isinstance(archive_existing_versions, bool):
        raise InvalidParameterValue(
            f"archive_existing_versions must be True or False, got {archive_existing_versions!r}."
        )
    if archive_existing_versions and target not in _ACTIVE_STAGES:
        raise InvalidParameterValue(
            f"Model version transition cannot archive existing model versions because '{target.value}' is not "
            "an active stage. Valid stages are Staging and Production.",
            stage=target.value,
        )
    policy.check(mv.current_stage, target, mv.tags, name=name, version=number)
    if direct:
        policy.check_direct(target, name=name, version=number, current=mv.current_stage)
    archived: list[dict[str, Any]] = []
    if archive_existing_versions:
        for other in sorted(model.by_stage[target]):
            if other != number:
                # Archiving is part of the promotion, but it is still a move the policy must allow.
                policy.check(target, Stage.ARCHIVED, model.versions[other].tags, name=name, version=other)
                archived.append({"version": other, "from_stage": target.value})
    data: dict[str, Any] = {
        "version": number,
        "from_stage": mv.current_stage.value,
        "to_stage": target.value,
        "archived": archived,
    }
    closed = closed_requests(model, [number, *(int(a["version"]) for a in archived)])
    if closed:
        data["closed_requests"] = closed
    return model, data


def closed_requests(model: ModelState, versions: Iterable[int]) -> list[int]:
    """The pending requests a move or delete of ``versions`` closes (the fold closes them; the event lists them
    so subscribers and the history see which)."""
    moved = set(versions)
    return [r.id for r in model.governance.requests.values() if r.pending and r.version in moved]


def set_registered_model_alias(state: RegistryState, name: str, alias: str, version: Any) -> list[Change]:
    model = state.model(name)
    alias = validate_alias(alias)
    number = validate_version(version)
    model.version(number)
    previous = model.aliases.get(alias)
    if previous == number:
        return []
    data = {"alias": alias, "version": number, "previous_version": previous}
    return [Change(E.MODEL_VERSION_ALIAS_CREATED, model.id, name, data)]


def delete_registered_model_alias(state: RegistryState, name: str, alias: str) -> list[Change]:
    model = state.model(name)
    if not isinstance(alias, str) or not alias:
        raise InvalidParameterValue(f"Alias must be a non-empty string, got {alias!r}.", alias=alias)
    if alias not in model.aliases:
        return []  # deleting an absent alias is a no-op, as in MLflow's SQL store
    return [Change(E.MODEL_VERSION_ALIAS_DELETED, model.id, name, {"alias": alias, "version": model.aliases[alias]})]


def latest_versions(state: RegistryState, name: str, stages: Iterable[Any] | None) -> list[Any]:
    """``get_latest_versions``: the highest version in each requested stage (all four when none given)."""
    model = state.model(name)
    if isinstance(stages, str):
        stages = [stages]  # one stage given bare, not in a list: mean it, rather than its letters
    elif stages is not None and (
        isinstance(stages, bytes | bytearray | Mapping | Stage) or not isinstance(stages, Iterable)
    ):
        raise InvalidParameterValue(
            f"stages must be a list of stage names (or None for all), got {type(stages).__name__} {stages!r}.",
            stages=stages,
        )
    wanted = list(Stage) if not stages else [Stage.parse(s) for s in stages]
    return model.latest_in(wanted)
