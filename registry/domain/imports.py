"""Bringing models made elsewhere (a bundle, an MLflow registry) into the registry: a pure command.

What arrives is described by `ImportedModel` and `ImportedVersion` (plain values, read by
`registry.exchange` from a bundle or from MLflow). `plan_import()` compares them with the current state
and returns one ``registered_model.imported`` change per model that has anything new, so a reader sees each
imported model entirely or not at all, never a version without its stage or alias.

The rules, which make an import idempotent and never overwrite anything:

* A **version keeps its number**. A number the destination model has never allocated (at or past its counter)
  is created with that number, and the counter moves past it. A number the destination holds with the same
  content (the same file digest, recorded source and run id) is the same version: only what the destination
  lacks is added (a tag it does not have, a description where it has none, a stage where it is in ``None``). A
  number the destination holds with other content, or allocated and deleted there (numbers are never reused),
  is a **conflict**.
* Model tags, descriptions and aliases follow the same rule: added when absent, a conflict when different.
* Any conflict refuses the whole import (`ImportConflict` lists every one) and nothing is written.
  Importing the same thing twice therefore changes nothing the second time.
* Stages are brought as they are at the source (an import restores a state; it does not make moves, so the
  stage policy, which governs moves, does not apply).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from registry.domain.commands import Change
from registry.domain.stages import Stage
from registry.domain.state import EventType, ModelState, RegistryState
from registry.domain.validation import (
    validate_alias,
    validate_description,
    validate_model_name,
    validate_tags,
    validate_version,
)
from registry.errors import ImportConflict, InvalidParameterValue

__all__ = [
    "ImportReport",
    "ImportedModel",
    "ImportedVersion",
    "check_aliases",
    "check_distinct",
    "plan_import",
    "version_payload",
]


def _tags(value: Any) -> dict[str, str]:
    return validate_tags(value)


def _stage(value: Any) -> Stage:
    return Stage.parse(value)


def _versions(value: Any) -> tuple[ImportedVersion, ...]:
    return tuple(value)


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"A timestamp must be integer milliseconds, got {value!r}.")
    return value


@attrs.frozen
class ImportedVersion:
    """One version as it is at the source. ``digest`` is the sha256 of its files' manifest when its files come
    along (the caller stages them), ``None`` when only its ``source`` is recorded."""

    version: int = attrs.field(converter=validate_version)
    source: str | None = None
    run_id: str | None = None
    run_link: str | None = None
    description: str | None = attrs.field(default=None, converter=validate_description)
    tags: dict[str, str] = attrs.field(factory=dict, converter=_tags)
    stage: Stage = attrs.field(default=Stage.NONE, converter=_stage)
    digest: str | None = None
    user_id: str | None = None
    creation_timestamp: int | None = attrs.field(default=None, converter=_optional_int)
    last_updated_timestamp: int | None = attrs.field(default=None, converter=_optional_int)


@attrs.frozen
class ImportedModel:
    """A registered model as it is at the source, with the versions to bring (ascending numbers)."""

    name: str = attrs.field(converter=validate_model_name)
    description: str | None = attrs.field(default=None, converter=validate_description)
    tags: dict[str, str] = attrs.field(factory=dict, converter=_tags)
    aliases: dict[str, int] = attrs.field(factory=dict)
    versions: tuple[ImportedVersion, ...] = attrs.field(default=(), converter=_versions)
    creation_timestamp: int | None = attrs.field(default=None, converter=_optional_int)
    last_updated_timestamp: int | None = attrs.field(default=None, converter=_optional_int)
    next_version: int | None = attrs.field(default=None, converter=_optional_int)
    """The source's next version number, when it has allocated numbers past its live versions (versions deleted
    there): the destination's counter moves past them too, so the numbers stay unique across both."""

    def __attrs_post_init__(self) -> None:
        numbers = [v.version for v in self.versions]
        if len(set(numbers)) != len(numbers):
            raise InvalidParameterValue(f"Model '{self.name}' lists a version number twice.", name=self.name)
        for alias, number in self.aliases.items():
            validate_alias(alias)
            validate_version(number)


@attrs.frozen
class ImportReport:
    """What an import did: models it created, versions it created, versions it found already there (and
    completed with what they lacked), by ``(name, version)``."""

    created_models: list[str] = attrs.field(factory=list)
    created_versions: list[tuple[str, int]] = attrs.field(factory=list)
    existing_versions: list[tuple[str, int]] = attrs.field(factory=list)
    changed_models: list[str] = attrs.field(factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changed_models)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_models": list(self.created_models),
            "created_versions": [list(v) for v in self.created_versions],
            "existing_versions": [list(v) for v in self.existing_versions],
            "changed_models": list(self.changed_models),
        }


def version_payload(v: ImportedVersion) -> dict[str, Any]:
    """The journal form of a new imported version."""
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
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
    }


def check_distinct(models: Sequence[ImportedModel], what: str) -> None:
    """Refuse a batch (an import, a sync) that lists a model twice.

    Raises:
        InvalidParameterValue: a name comes twice.
    """
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise InvalidParameterValue(f"The {what} lists a model twice.")


def check_aliases(name: str, aliases: Mapping[str, int], numbers: Iterable[int], what: str) -> None:
    """Refuse an alias of model ``name`` that points at a version not among ``numbers`` (the versions the
    destination will hold).

    Raises:
        InvalidParameterValue: naming the alias and its version.
    """
    held = set(numbers)
    for alias, number in aliases.items():
        if number not in held:
            raise InvalidParameterValue(
                f"Model '{name}': alias @{alias} points at version {number}, which the {what} does not bring.",
                name=name,
                alias=alias,
            )


def _merge_tags(have: Mapping[str, str], want: Mapping[str, str], where: str, conflicts: list[str]) -> dict[str, str]:
    missing = {}
    for key, value in want.items():
        if key not in have:
            missing[key] = value
        elif have[key] != value:
            conflicts.append(f"{where}: tag {key!r} is {have[key]!r} here and {value!r} in the import")
    return missing


def _merge_description(have: str | None, want: str | None, where: str, conflicts: list[str]) -> str | None:
    if want is None or have == want:
        return None
    if have is None:
        return want
    conflicts.append(f"{where}: the description differs here")
    return None


def _same_content(model: ModelState, v: ImportedVersion) -> bool:
    mv = model.versions[v.version]
    if (mv.digest is None) != (v.digest is None):
        return False
    if v.digest is not None:
        return mv.digest == v.digest and mv.run_id == v.run_id
    return mv.source == v.source and mv.run_id == v.run_id


def _plan_model(
    state: RegistryState,
    m: ImportedModel,
    origin: str | None,
    model_id: str,
    report: ImportReport,
    conflicts: list[str],
) -> Change | None:
    existing = state.model(m.name) if state.has_model(m.name) else None
    new_versions: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    numbers: set[int] = set()
    refused: set[int] = set()
    data: dict[str, Any] = {"origin": origin}
    if existing is None:
        data.update(
            created=True,
            description=m.description,
            tags=dict(m.tags),
            creation_timestamp=m.creation_timestamp,
            last_updated_timestamp=m.last_updated_timestamp,
        )
        new_versions = [version_payload(v) for v in m.versions]
        numbers = {v.version for v in m.versions}
        report.created_models.append(m.name)
        report.created_versions.extend((m.name, v.version) for v in m.versions)
        aliases = dict(m.aliases)
    else:
        where = f"model '{m.name}'"
        data.update(
            created=False,
            description=_merge_description(existing.description, m.description, where, conflicts),
            tags=_merge_tags(existing.tags, m.tags, where, conflicts),
        )
        for v in m.versions:
            here = f"{where} version {v.version}"
            if v.version in existing.versions:
                if not _same_content(existing, v):
                    conflicts.append(f"{here} exists here with other content (files, source or run id)")
                    refused.add(v.version)
                    continue
                mv = existing.versions[v.version]
                update: dict[str, Any] = {
                    "version": v.version,
                    "tags": _merge_tags(mv.tags, v.tags, here, conflicts),
                    "description": _merge_description(mv.description, v.description, here, conflicts),
                    "stage": None,
                }
                if v.stage != mv.current_stage:
                    if mv.current_stage == Stage.NONE:
                        update["stage"] = v.stage.value
                    else:
                        conflicts.append(f"{here} is in {mv.current_stage.value} here and {v.stage.value} there")
                if update["tags"] or update["description"] is not None or update["stage"] is not None:
                    updates.append(update)
                report.existing_versions.append((m.name, v.version))
                numbers.add(v.version)
            elif v.version < existing.next_version:
                conflicts.append(
                    f"{here}: the number was used here before (version numbers are never reused); import into "
                    "another model name"
                )
                refused.add(v.version)
            else:
                new_versions.append(version_payload(v))
                numbers.add(v.version)
                report.created_versions.append((m.name, v.version))
        aliases = {}
        for alias, number in m.aliases.items():
            current = existing.aliases.get(alias)
            if number in refused:
                continue  # its version's conflict is reported already
            if current is None:
                aliases[alias] = number
            elif current != number:
                conflicts.append(f"{where}: alias @{alias} points at version {current} here and {number} there")
        model_id = existing.id
    check_aliases(m.name, aliases, numbers | set(existing.versions if existing else ()), "import")
    data.update(versions=new_versions, updates=updates, aliases=aliases)
    counter = existing.next_version if existing is not None else 1
    top = max(numbers, default=0) + 1
    moves = m.next_version is not None and m.next_version > max(counter, top)
    data["next_version"] = m.next_version if moves else None
    if existing is not None and not (
        new_versions or updates or aliases or data["tags"] or data["description"] is not None or moves
    ):
        return None
    report.changed_models.append(m.name)
    return Change(EventType.REGISTERED_MODEL_IMPORTED, model_id, m.name, data)


def plan_import(
    state: RegistryState,
    models: Sequence[ImportedModel],
    new_ids: Mapping[str, str],
    *,
    origin: str | None = None,
) -> tuple[list[Change], ImportReport]:
    """The changes that bring ``models`` into ``state`` (one per model with anything new), and a report.

    Args:
        new_ids: a fresh model id for each model name that may have to be created.
        origin: where the models come from (a bundle's file name, an MLflow URI), recorded in the journal.

    Raises:
        ImportConflict: anything would be overwritten (every conflict is listed; nothing is planned).
        InvalidParameterValue: a model is listed twice, or an alias points at a version not brought.
    """
    check_distinct(models, "import")
    report = ImportReport()
    conflicts: list[str] = []
    changes = []
    for m in models:
        for v in m.versions:
            if v.digest is None and not (isinstance(v.source, str) and v.source):
                raise InvalidParameterValue(
                    f"Model '{m.name}' version {v.version} has neither files nor a source; one is needed.",
                    name=m.name,
                    version=v.version,
                )
        if not state.has_model(m.name) and m.name not in new_ids:
            raise InvalidParameterValue(f"No new id was given for model '{m.name}'.", name=m.name)
        change = _plan_model(state, m, origin, new_ids.get(m.name, ""), report, conflicts)
        if change is not None:
            changes.append(change)
    if conflicts:
        raise ImportConflict(
            "The import would overwrite what this registry holds, so nothing was imported:\n  "
            + "\n  ".join(conflicts),
            conflicts=conflicts,
        )
    return changes, report
