"""Reading an MLflow model registry without MLflow: its SQL schema (sqlite, with ``sqlite3``), its file store's
YAML (``mlruns/models/``), or a running server's REST API. Each reader returns the same thing: the registered
models as `ImportedModel` values (live versions only; MLflow's soft-deleted
``Deleted_Internal`` rows are skipped, their numbers stay gaps) plus, per version, where its files may be.

Formats read and tested: MLflow 3.17 (the sqlite schema at alembic revision ``dc11669786a5``, its file store, and
its server's REST API 2.0). Columns and tables added in earlier MLflow versions are read when present
(``storage_location``, ``registered_model_aliases``, ``workspace``), so older 2.x databases and folders are read
the same way, without their missing fields.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import yaml

from registry.domain.imports import ImportedModel, ImportedVersion
from registry.errors import InvalidParameterValue, RegistryError, ResourceDoesNotExist
from registry.exchange.rest import MlflowRest

__all__ = [
    "MLFLOW_DELETED_STAGE",
    "PUSH_TAG_PREFIX",
    "MlflowModel",
    "read_file_store",
    "read_server",
    "read_sqlite",
    "sqlite_path",
]

MLFLOW_DELETED_STAGE = "Deleted_Internal"
"""The stage MLflow's SQL and file stores give a deleted version (its row stays, so its number is never reused)."""

PUSH_TAG_PREFIX = "mlregistry."
"""Tags a push puts on the MLflow logged model holding a version's files (``mlregistry.digest``,
``mlregistry.source``), so importing it back restores what MLflow has no field for."""


@attrs.frozen
class MlflowModel:
    """One registered model read from MLflow, and for each version the places its files may be (first first)."""

    model: ImportedModel
    locations: dict[int, list[str]]


def _text(value: Any) -> str | None:
    # MLflow's REST API sends "" for unset strings; its stores keep NULL. Both mean "none" here.
    return None if value is None or value == "" else str(value)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _version(row: Mapping[str, Any], tags: Mapping[str, str], aliases: Iterable[str] = ()) -> ImportedVersion:
    return ImportedVersion(
        version=int(row["version"]),
        source=_text(row.get("source")),
        run_id=_text(row.get("run_id")),
        run_link=_text(row.get("run_link")),
        description=_text(row.get("description")),
        tags=dict(tags),
        stage=_text(row.get("current_stage")) or "None",
        user_id=_text(row.get("user_id")),
        creation_timestamp=_int(row.get("creation_timestamp")),
        last_updated_timestamp=_int(row.get("last_updated_timestamp")),
    )


def _locations(source: str | None, storage_location: str | None) -> list[str]:
    # MLflow 3 versions point at a logged model (models:/m-...) whose files are at storage_location; older ones
    # name the files directly in source.
    return [loc for loc in (storage_location, source) if loc and not loc.startswith("models:/")]


def _fail(what: str, source: str, exc: Exception) -> RegistryError:
    return InvalidParameterValue(f"Cannot read {what} at {source}: {exc}. Is it an MLflow registry?", source=source)


# -- sqlite -----------------------------------------------------------------------------------------------------------


def sqlite_path(uri: str) -> str:
    """The file a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URI names."""
    if not uri.startswith("sqlite:///"):
        raise InvalidParameterValue(f"Expected a sqlite:/// URI, got {uri!r}.")
    return urllib.parse.unquote(uri[len("sqlite:///") :])


def read_sqlite(uri: str, *, workspace: str = "default") -> list[MlflowModel]:
    """The registry in an MLflow SQL database (read only). ``workspace`` picks one where the schema has them."""
    path = sqlite_path(uri)
    if not os.path.isfile(path):
        raise ResourceDoesNotExist(f"There is no MLflow database at {path}.", path=path)
    try:
        db = sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _fail("the MLflow database", path, exc) from None
    try:
        db.row_factory = sqlite3.Row
        return _read_db(db, workspace)
    except sqlite3.Error as exc:
        raise _fail("the MLflow database", path, exc) from None
    finally:
        db.close()


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}  # table names are ours, not input


def _rows(db: sqlite3.Connection, table: str, workspace: str) -> list[dict[str, Any]]:
    columns = _columns(db, table)
    if not columns:
        return []  # a table this MLflow version did not have yet (aliases before 2.3)
    where, args = ("WHERE workspace = ?", (workspace,)) if "workspace" in columns else ("", ())
    return [dict(row) for row in db.execute(f"SELECT * FROM {table} {where}", args)]


def _read_db(db: sqlite3.Connection, workspace: str) -> list[MlflowModel]:
    if not _columns(db, "registered_models"):
        raise sqlite3.DatabaseError("it has no registered_models table")
    model_tags: dict[str, dict[str, str]] = {}
    for row in _rows(db, "registered_model_tags", workspace):
        model_tags.setdefault(row["name"], {})[row["key"]] = row["value"]
    version_tags: dict[tuple[str, int], dict[str, str]] = {}
    for row in _rows(db, "model_version_tags", workspace):
        version_tags.setdefault((row["name"], int(row["version"])), {})[row["key"]] = row["value"]
    aliases: dict[str, dict[str, int]] = {}
    for row in _rows(db, "registered_model_aliases", workspace):
        aliases.setdefault(row["name"], {})[row["alias"]] = int(row["version"])
    versions: dict[str, list[dict[str, Any]]] = {}
    allocated: dict[str, int] = {}
    for row in _rows(db, "model_versions", workspace):
        allocated[row["name"]] = max(allocated.get(row["name"], 0), int(row["version"]))
        if row.get("current_stage") != MLFLOW_DELETED_STAGE:
            row["creation_timestamp"], row["last_updated_timestamp"] = row["creation_time"], row["last_updated_time"]
            versions.setdefault(row["name"], []).append(row)
    out = []
    for row in sorted(_rows(db, "registered_models", workspace), key=lambda r: r["name"]):
        name = row["name"]
        rows = sorted(versions.get(name, []), key=lambda r: int(r["version"]))
        model = ImportedModel(
            name=name,
            description=_text(row.get("description")),
            tags=model_tags.get(name, {}),
            aliases=aliases.get(name, {}),
            versions=[_version(r, version_tags.get((name, int(r["version"])), {})) for r in rows],
            creation_timestamp=_int(row.get("creation_time")),
            last_updated_timestamp=_int(row.get("last_updated_time")),
            next_version=allocated.get(name, 0) + 1,
        )
        locations = {int(r["version"]): _locations(r.get("source"), r.get("storage_location")) for r in rows}
        out.append(MlflowModel(model, locations))
    return out


# -- the file store (mlruns) --------------------------------------------------------------------------------------


def _yaml(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return doc


def _tag_folder(folder: str) -> dict[str, str]:
    tags = {}
    if os.path.isdir(folder):
        for key in sorted(os.listdir(folder)):
            with open(os.path.join(folder, key), encoding="utf-8") as f:
                tags[key] = f.read()
    return tags


def read_file_store(root: str) -> list[MlflowModel]:
    """The registry in an MLflow file store folder (``mlruns``, whose registry is under ``models/``)."""
    folder = os.path.join(root, "models")
    if not os.path.isdir(folder):
        raise ResourceDoesNotExist(f"{root} has no models/ folder: it is not an MLflow file store.", path=root)
    out = []
    try:
        for entry in sorted(os.listdir(folder)):
            model_dir = os.path.join(folder, entry)
            meta_path = os.path.join(model_dir, "meta.yaml")
            if not os.path.isfile(meta_path):
                continue
            meta = _yaml(meta_path)
            aliases = {str(a): int(v) for a, v in (meta.get("aliases") or {}).items()}
            alias_dir = os.path.join(model_dir, "aliases")  # MLflow 2.x kept one file per alias
            for alias, value in _tag_folder(alias_dir).items():
                aliases.setdefault(alias, int(value.strip()))
            rows = []
            allocated = 0
            for sub in os.listdir(model_dir):
                version_meta = os.path.join(model_dir, sub, "meta.yaml")
                if sub.startswith("version-") and os.path.isfile(version_meta):
                    row = _yaml(version_meta)
                    allocated = max(allocated, int(row["version"]))
                    if row.get("current_stage") != MLFLOW_DELETED_STAGE:
                        row["tags"] = _tag_folder(os.path.join(model_dir, sub, "tags"))
                        rows.append(row)
            rows.sort(key=lambda r: int(r["version"]))
            model = ImportedModel(
                name=meta["name"],
                description=_text(meta.get("description")),
                tags=_tag_folder(os.path.join(model_dir, "tags")),
                aliases=aliases,
                versions=[_version(r, r["tags"]) for r in rows],
                creation_timestamp=_int(meta.get("creation_timestamp")),
                last_updated_timestamp=_int(meta.get("last_updated_timestamp")),
                next_version=allocated + 1,
            )
            locations = {
                int(r["version"]): _locations(_text(r.get("source")), _text(r.get("storage_location"))) for r in rows
            }
            out.append(MlflowModel(model, locations))
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise _fail("the MLflow file store", root, exc) from None
    return out


# -- a running server ---------------------------------------------------------------------------------------------


def _pairs(items: Any, key: str = "key", value: str = "value") -> dict[str, str]:
    return {str(i[key]): str(i.get(value, "")) for i in items or ()}


def _quoted(name: str) -> str:
    quote = "'" if "'" not in name else '"'
    return f"{quote}{name}{quote}"


def read_server(rest: MlflowRest) -> list[MlflowModel]:
    """The registry of the MLflow server ``rest`` talks to (its REST API 2.0)."""
    out = []
    for rm in sorted(
        rest.pages("registered-models/search", "registered_models", max_results=1000), key=lambda m: m["name"]
    ):
        name = rm["name"]
        rows = sorted(
            rest.pages("model-versions/search", "model_versions", filter=f"name = {_quoted(name)}", max_results=1000),
            key=lambda r: int(r["version"]),
        )
        versions, locations = [], {}
        for row in rows:
            version = _version(row, _pairs(row.get("tags")))
            number = version.version
            source = version.source
            found = [] if source is None or source.startswith("models:/") else [source]
            try:
                uri = rest.get("model-versions/get-download-uri", name=name, version=str(number)).get("artifact_uri")
            except RegistryError:
                uri = None
            if uri and uri not in found:
                found.insert(0, uri)
            if source and source.startswith("models:/m-"):
                # A logged model (MLflow 3); one this library pushed carries what MLflow has no field for.
                try:
                    info = rest.get(f"logged-models/{source[len('models:/') :]}").get("model", {}).get("info", {})
                except RegistryError:
                    info = {}
                pushed = {k: v for k, v in _pairs(info.get("tags")).items() if k.startswith(PUSH_TAG_PREFIX)}
                if f"{PUSH_TAG_PREFIX}version" in pushed:
                    version = attrs.evolve(version, source=pushed.get(f"{PUSH_TAG_PREFIX}source"))
            versions.append(version)
            locations[number] = found
        model = ImportedModel(
            name=name,
            description=_text(rm.get("description")),
            tags=_pairs(rm.get("tags")),
            aliases={str(a["alias"]): int(a["version"]) for a in rm.get("aliases") or ()},
            versions=versions,
            creation_timestamp=_int(rm.get("creation_timestamp")),
            last_updated_timestamp=_int(rm.get("last_updated_timestamp")),
        )
        out.append(MlflowModel(model, locations))
    return out
