"""Pushing a registry into a running MLflow server over its REST API, so the same ``models:/`` URIs work there.

For each selected model: the registered model (created if missing), its description and tags; each version with
the **same number**, its files uploaded through the server's artifact proxy into an MLflow logged model
(``models:/m-...``, as MLflow 3 registers models), its run id and link, description, tags and stage
(``transition-stage``); and the aliases. What MLflow has no field for travels as tags on the logged model
(``mlregistry.digest``, ``mlregistry.source``, ``mlregistry.version``), so importing it back restores it.

* **Idempotent**: what MLflow already holds identically is left alone; pushing twice makes no second change.
  Mutable metadata (stages, aliases, tags this registry has, descriptions) is set to this registry's values, the
  registry being the source of the replay; tags only MLflow has are left alone.
* **Numbers**: MLflow numbers versions itself (after every number it has used, deleted ones included). A
  version is created with a ``mlregistry.pending`` tag; one that lands below its number (a gap left by a
  version deleted here) is deleted and created again until it lands on its number. A number MLflow has already
  used for something else is a conflict.
* **Resumable**: an interrupted push is finished by running it again. Versions left ``mlregistry.pending`` are
  completed (the tag removed) when they hold their own number and deleted otherwise; files are uploaded again
  when their version was not created (an interrupted upload leaves an unused logged model in MLflow).
* **Conflicts** (an MLflow version holding one of these numbers with other files or another source) are all
  found before anything is written, and refuse the push.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import attrs

from registry.domain.entities import ModelVersion
from registry.errors import ImportConflict, MlflowServerError, ResourceDoesNotExist
from registry.exchange.arguments import text_argument
from registry.exchange.files import verified_files
from registry.exchange.mlflow_sources import PUSH_TAG_PREFIX
from registry.exchange.protocol import RegistryLike
from registry.exchange.rest import MlflowRest
from registry.exchange.selection import select_versions

__all__ = ["DEFAULT_EXPERIMENT", "PushReport", "push"]

DEFAULT_EXPERIMENT = "mlregistry-push"
"""The MLflow experiment the logged models holding pushed files are created in."""

PENDING = f"{PUSH_TAG_PREFIX}pending"
_MAX_GAP_RETRIES = 10_000


@attrs.define
class PushReport:
    """What a push did, by model name and ``(name, version)``."""

    created_models: list[str] = attrs.field(factory=list)
    created_versions: list[tuple[str, int]] = attrs.field(factory=list)
    existing_versions: list[tuple[str, int]] = attrs.field(factory=list)
    changes: int = 0

    @property
    def changed(self) -> bool:
        return self.changes > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_models": list(self.created_models),
            "created_versions": [list(v) for v in self.created_versions],
            "existing_versions": [list(v) for v in self.existing_versions],
            "changes": self.changes,
        }


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["key"]): str(i.get("value", "")) for i in items or ()}


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _own_source(mv: ModelVersion) -> str | None:
    """The version's source as recorded, or None when it is the registry's own copy (a local path here)."""
    return None if mv.storage_location is not None and mv.source == mv.storage_location else mv.source


class _Pusher:
    def __init__(self, reg: RegistryLike, rest: MlflowRest, experiment: str) -> None:
        self.reg = reg
        self.rest = rest
        self.experiment = experiment
        self._experiment_id: str | None = None
        self.report = PushReport()
        self._logged: dict[str, dict[str, str]] = {}

    # -- reading MLflow --------------------------------------------------------------------------------------------

    def remote_model(self, name: str) -> dict[str, Any] | None:
        try:
            return self.rest.get("registered-models/get", name=name).get("registered_model", {})
        except ResourceDoesNotExist:
            return None

    def remote_versions(self, name: str) -> dict[int, dict[str, Any]]:
        quote = "'" if "'" not in name else '"'
        rows = self.rest.pages(
            "model-versions/search", "model_versions", filter=f"name = {quote}{name}{quote}", max_results=1000
        )
        return {int(r["version"]): r for r in rows}

    def logged_tags(self, source: str | None) -> dict[str, str]:
        """The tags of the logged model a ``models:/m-...`` source names ({} for any other source)."""
        if not source or not source.startswith("models:/m-"):
            return {}
        model_id = source[len("models:/") :]
        if model_id not in self._logged:
            try:
                info = self.rest.get(f"logged-models/{model_id}").get("model", {}).get("info", {})
            except ResourceDoesNotExist:
                info = {}
            self._logged[model_id] = _pairs(info.get("tags"))
        return self._logged[model_id]

    def same(self, mv: ModelVersion, row: dict[str, Any]) -> bool:
        """Whether the MLflow version ``row`` holds this version's content."""
        if mv.digest is not None:
            return self.logged_tags(row.get("source")).get(f"{PUSH_TAG_PREFIX}digest") == mv.digest
        return _text(row.get("source")) == mv.source

    # -- writing MLflow --------------------------------------------------------------------------------------------

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            try:
                found = self.rest.get("experiments/get-by-name", experiment_name=self.experiment)
                self._experiment_id = str(found["experiment"]["experiment_id"])
            except ResourceDoesNotExist:
                self._experiment_id = str(self.rest.post("experiments/create", name=self.experiment)["experiment_id"])
        return self._experiment_id

    def upload(self, mv: ModelVersion) -> str:
        """Upload the version's verified files into a new logged model; returns its id."""
        mv = self.reg.fetch_version_files(mv.name, mv.version)  # on this machine (a bucket's are downloaded)
        files = verified_files(mv)
        tags = {f"{PUSH_TAG_PREFIX}digest": mv.digest or "", f"{PUSH_TAG_PREFIX}version": str(mv.version)}
        source = _own_source(mv)
        if source is not None:
            tags[f"{PUSH_TAG_PREFIX}source"] = source
        info = self.rest.post(
            "logged-models",
            experiment_id=self.experiment_id(),
            name=f"{mv.name}-v{mv.version}",
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )["model"]["info"]
        model_id, artifact_uri = str(info["model_id"]), str(info["artifact_uri"])
        if not artifact_uri.startswith("mlflow-artifacts:"):
            raise MlflowServerError(
                f"The MLflow server at {self.rest.base_url} stores artifacts at {artifact_uri}, which this library "
                "cannot upload to; start it with --serve-artifacts (the artifact proxy).",
                url=self.rest.base_url,
            )
        root = artifact_uri[len("mlflow-artifacts:") :].strip("/")
        assert mv.storage_location is not None
        for f in [*files, {"path": "MANIFEST.sha256"}]:
            local = os.path.join(mv.storage_location, *f["path"].split("/"))
            self.rest.upload_file(local, f"{root}/{f['path']}")
        self.rest.patch(f"logged-models/{model_id}", model_id=model_id, status="LOGGED_MODEL_READY")
        self._logged[model_id] = tags
        return model_id

    def create_version(self, mv: ModelVersion) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": mv.name,
            "run_id": mv.run_id or "",
            "run_link": mv.run_link or "",
            "description": mv.description or "",
            "tags": [*({"key": k, "value": v} for k, v in mv.tags.items()), {"key": PENDING, "value": str(mv.version)}],
        }
        if mv.digest is not None:
            model_id = self.upload(mv)
            body.update(source=f"models:/{model_id}", model_id=model_id)
        else:
            body["source"] = mv.source
        for _ in range(_MAX_GAP_RETRIES):
            row = self.rest.post("model-versions/create", **body)["model_version"]
            self.report.changes += 1
            number = int(row["version"])
            if number == mv.version:
                self.rest.call(
                    "DELETE", "model-versions/delete-tag", {"name": mv.name, "version": str(number), "key": PENDING}
                )
                row["tags"] = [t for t in row.get("tags", []) if t.get("key") != PENDING]
                return row
            self.rest.call("DELETE", "model-versions/delete", {"name": mv.name, "version": str(number)})
            if number > mv.version:
                raise ImportConflict(
                    f"MLflow at {self.rest.base_url} has used version {mv.version} of '{mv.name}' before (it gave "
                    f"number {number}); MLflow never reuses numbers, so this version cannot keep its number there.",
                    conflicts=[f"model '{mv.name}' version {mv.version}"],
                )
        raise MlflowServerError(f"MLflow did not reach version {mv.version} of '{mv.name}'.")  # pragma: no cover

    def set_metadata(self, mv: ModelVersion, row: dict[str, Any]) -> None:
        name, number = mv.name, str(mv.version)
        theirs = _pairs(row.get("tags"))
        for key, value in mv.tags.items():
            if theirs.get(key) != value:
                self.rest.post("model-versions/set-tag", name=name, version=number, key=key, value=value)
                self.report.changes += 1
        if _text(row.get("description")) != mv.description:
            self.rest.patch("model-versions/update", name=name, version=number, description=mv.description or "")
            self.report.changes += 1
        if row.get("current_stage", "None") != mv.current_stage.value:
            self.rest.post(
                "model-versions/transition-stage",
                name=name,
                version=number,
                stage=mv.current_stage.value,
                archive_existing_versions=False,
            )
            self.report.changes += 1

    # -- one model -------------------------------------------------------------------------------------------------

    def conflicts(self, name: str, numbers: list[int] | None) -> list[str]:
        if self.remote_model(name) is None:
            return []
        remote = self.remote_versions(name)
        found = []
        for mv in self._versions(name, numbers):
            row = remote.get(mv.version)
            if row is not None and _pairs(row.get("tags")).get(PENDING) is None and not self.same(mv, row):
                found.append(f"model '{name}' version {mv.version} exists in MLflow with other files or source")
        return found

    def _versions(self, name: str, numbers: list[int] | None) -> list[ModelVersion]:
        return [mv for mv in self.reg.list_model_versions(name) if numbers is None or mv.version in numbers]

    def push_model(self, name: str, numbers: list[int] | None) -> None:
        rm = self.reg.get_registered_model(name)
        remote = self.remote_model(name)
        if remote is None:
            self.rest.post(
                "registered-models/create",
                name=name,
                description=rm.description or "",
                tags=[{"key": k, "value": v} for k, v in rm.tags.items()],
            )
            self.report.created_models.append(name)
            self.report.changes += 1
            remote = {"description": rm.description or "", "tags": [{"key": k, "value": v} for k, v in rm.tags.items()]}
        if _text(remote.get("description")) != rm.description:
            self.rest.patch("registered-models/update", name=name, description=rm.description or "")
            self.report.changes += 1
        theirs = _pairs(remote.get("tags"))
        for key, value in rm.tags.items():
            if theirs.get(key) != value:
                self.rest.post("registered-models/set-tag", name=name, key=key, value=value)
                self.report.changes += 1
        versions = self.remote_versions(name)
        wanted = self._versions(name, numbers)
        mine = {mv.version for mv in wanted}
        for number, row in sorted(versions.items()):
            pending = _pairs(row.get("tags")).get(PENDING)
            if pending is None:
                continue
            if pending == str(number) and number in mine:  # interrupted just before its tag came off
                self.rest.call(
                    "DELETE", "model-versions/delete-tag", {"name": name, "version": str(number), "key": PENDING}
                )
                row["tags"] = [t for t in row.get("tags", []) if t.get("key") != PENDING]
            else:  # an attempt that landed on another number
                self.rest.call("DELETE", "model-versions/delete", {"name": name, "version": str(number)})
                del versions[number]
            self.report.changes += 1
        for mv in wanted:
            found = versions.get(mv.version)
            if found is None:
                found = self.create_version(mv)
                self.report.created_versions.append((name, mv.version))
            else:
                self.report.existing_versions.append((name, mv.version))
            self.set_metadata(mv, found)
        their_aliases = {str(a["alias"]): int(a["version"]) for a in remote.get("aliases") or ()}
        for alias, number in rm.aliases.items():
            if number in mine and their_aliases.get(alias) != number:
                self.rest.post("registered-models/alias", name=name, alias=alias, version=str(number))
                self.report.changes += 1


def push(
    reg: RegistryLike,
    url: str,
    models: Iterable[str] | str | None = None,
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    timeout: float = 60.0,
) -> PushReport:
    """Replay ``reg`` (or the selected models: ``NAME``, ``NAME@alias``, ``NAME/3``) into the MLflow server at
    ``url`` (see the module docstring).

    Raises:
        ImportConflict: MLflow holds one of the numbers with other content (nothing was written).
        MlflowServerError: the server cannot be reached, refuses a call, or does not proxy artifacts.
    """
    text_argument(experiment, "experiment name")
    rest = MlflowRest(url, timeout=timeout)
    chosen = select_versions(reg, models)
    pusher = _Pusher(reg, rest, experiment)
    conflicts = [c for name in sorted(chosen) for c in pusher.conflicts(name, chosen[name])]
    if conflicts:
        raise ImportConflict(
            f"MLflow at {url} holds versions with these numbers and other content, so nothing was pushed:\n  "
            + "\n  ".join(conflicts),
            conflicts=conflicts,
        )
    for name in sorted(chosen):
        pusher.push_model(name, chosen[name])
    return pusher.report
