"""The MLflow readers on registries written by hand in MLflow's formats (fast, no MLflow needed): the sqlite
schema of MLflow 3.17 and an older one without ``storage_location``, aliases or workspaces, and the file store's
YAML. The real thing, written by MLflow itself, is in test_mlflow_border.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from registry import Registry
from registry.errors import InvalidParameterValue, ResourceDoesNotExist
from registry.exchange.mlflow_import import read_mlflow

SCHEMA_3 = """
CREATE TABLE registered_models (name TEXT, creation_time INTEGER, last_updated_time INTEGER, description TEXT,
                                workspace TEXT);
CREATE TABLE model_versions (name TEXT, version INTEGER, creation_time INTEGER, last_updated_time INTEGER,
    description TEXT, user_id TEXT, current_stage TEXT, source TEXT, run_id TEXT, status TEXT, status_message TEXT,
    run_link TEXT, storage_location TEXT, workspace TEXT);
CREATE TABLE registered_model_tags (key TEXT, value TEXT, name TEXT, workspace TEXT);
CREATE TABLE model_version_tags (key TEXT, value TEXT, name TEXT, version INTEGER, workspace TEXT);
CREATE TABLE registered_model_aliases (alias TEXT, version INTEGER, name TEXT, workspace TEXT);
"""

SCHEMA_OLD = """
CREATE TABLE registered_models (name TEXT, creation_time INTEGER, last_updated_time INTEGER, description TEXT);
CREATE TABLE model_versions (name TEXT, version INTEGER, creation_time INTEGER, last_updated_time INTEGER,
    description TEXT, user_id TEXT, current_stage TEXT, source TEXT, run_id TEXT, status TEXT, status_message TEXT,
    run_link TEXT);
CREATE TABLE registered_model_tags (key TEXT, value TEXT, name TEXT);
CREATE TABLE model_version_tags (key TEXT, value TEXT, name TEXT, version INTEGER);
"""


def model_files(folder: Path) -> str:
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "model.pkl").write_bytes(b"weights")
    return str(folder)


def make_db(path: Path, files: str, *, old: bool = False) -> str:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_OLD if old else SCHEMA_3)
    ws = () if old else ("default",)
    q = "" if old else ", ?"
    db.execute(f"INSERT INTO registered_models VALUES (?, ?, ?, ?{q})", ("fraud", 10, 20, "Fraud", *ws))
    if not old:
        db.execute("INSERT INTO registered_models VALUES (?, ?, ?, ?, ?)", ("hidden", 1, 1, None, "other-ws"))
    rows = [
        (1, "Production", "models:/m-1" if not old else files, "run1", files),
        (2, "None", "s3://gone/2", None, "s3://gone/2"),
        (3, "Deleted_Internal", "REDACTED", None, "s3://deleted/3"),
        (4, "Staging", "s3://bucket/4", "run4", "s3://bucket/4"),
    ]
    for number, stage, source, run_id, location in rows:
        values = ["fraud", number, 11 + number, 12 + number, f"v{number}", "alice", stage, source, run_id, "READY",
                  None, "http://ci" if number == 1 else None]  # fmt: skip
        if not old:
            values += [location, "default"]
        db.execute(f"INSERT INTO model_versions VALUES ({', '.join('?' * len(values))})", values)
    db.execute(f"INSERT INTO registered_model_tags VALUES (?, ?, ?{q})", ("team", "risk", "fraud", *ws))
    db.execute(f"INSERT INTO model_version_tags VALUES (?, ?, ?, ?{q})", ("ok", "yes", "fraud", 1, *ws))
    if not old:
        db.execute("INSERT INTO registered_model_aliases VALUES (?, ?, ?, ?)", ("champion", 1, "fraud", "default"))
    db.commit()
    db.close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize("old", [False, True], ids=["mlflow-3-schema", "older-schema"])
def test_sqlite(tmp_path: Path, old: bool) -> None:
    files = model_files(tmp_path / "artifacts")
    uri = make_db(tmp_path / "mlflow.db", files, old=old)
    (model,) = [m.model for m in read_mlflow(uri)]  # the other workspace's model is not read
    assert (model.name, model.description, model.tags, model.creation_timestamp) == (
        "fraud",
        "Fraud",
        {"team": "risk"},
        10,
    )
    assert [v.version for v in model.versions] == [1, 2, 4]  # soft-deleted 3 is a gap
    reg = Registry(str(tmp_path / "reg"))
    reg.import_mlflow(uri)
    v1, v2, v4 = reg.list_model_versions("fraud")
    assert (v1.current_stage, v1.run_id, v1.run_link, v1.tags, v1.user_id) == (
        "Production",
        "run1",
        "http://ci",
        {"ok": "yes"},
        "alice",
    )
    assert (v1.creation_timestamp, v1.last_updated_timestamp, v1.description) == (12, 13, "v1")
    assert v1.digest is not None  # its files were local: copied in, with a manifest
    assert (v2.source, v2.digest) == ("s3://gone/2", None)
    assert v4.current_stage == "Staging"
    assert reg.get_registered_model("fraud").aliases == ({} if old else {"champion": 1})
    assert reg.create_model_version("fraud", "s3://x").version == 5


def write_yaml(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))


def test_file_store(tmp_path: Path) -> None:
    files = model_files(tmp_path / "mlruns" / "0" / "models" / "m-1" / "artifacts")
    model = tmp_path / "mlruns" / "models" / "fraud"
    write_yaml(model / "meta.yaml", {"name": "fraud", "creation_timestamp": 5, "last_updated_timestamp": 6,
                                     "description": "d", "aliases": {"champion": "1"}})  # fmt: skip
    (model / "tags").mkdir()
    (model / "tags" / "team").write_text("risk")
    write_yaml(model / "version-1" / "meta.yaml", {"name": "fraud", "version": 1, "current_stage": "Production",
               "source": "models:/m-1", "storage_location": files, "run_id": "r", "creation_timestamp": 7,
               "last_updated_timestamp": 8, "description": None, "run_link": None, "user_id": None})  # fmt: skip
    (model / "version-1" / "tags").mkdir()
    (model / "version-1" / "tags" / "ok").write_text("yes")
    write_yaml(model / "version-2" / "meta.yaml", {"name": "fraud", "version": 2, "current_stage": "Deleted_Internal",
               "source": "s3://x"})  # fmt: skip
    reg = Registry(str(tmp_path / "reg"))
    reg.import_mlflow(str(tmp_path / "mlruns"))
    (v1,) = reg.list_model_versions("fraud")
    assert (v1.current_stage, v1.tags, v1.source, v1.aliases) == (
        "Production",
        {"ok": "yes"},
        "models:/m-1",
        ["champion"],
    )
    assert v1.digest is not None
    assert reg.get_registered_model("fraud").tags == {"team": "risk"}
    assert reg.create_model_version("fraud", "s3://y").version == 3  # 2 was MLflow's, deleted: past it


def test_bad_sources_say_what_is_wrong(tmp_path: Path) -> None:
    reg = Registry("memory://")
    with pytest.raises(ResourceDoesNotExist, match="no MLflow database"):
        reg.import_mlflow(f"sqlite:///{tmp_path / 'missing.db'}")
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    with pytest.raises(InvalidParameterValue, match="Is it an MLflow registry"):
        reg.import_mlflow(f"sqlite:///{tmp_path / 'junk.db'}")
    with pytest.raises(ResourceDoesNotExist, match="not an MLflow file store"):
        reg.import_mlflow(str(tmp_path))
    with pytest.raises(InvalidParameterValue, match=r"give sqlite:///mlflow\.db"):
        reg.import_mlflow("s3://bucket/mlruns")


def test_reimport_when_the_files_are_gone_changes_nothing(tmp_path: Path) -> None:
    files = model_files(tmp_path / "artifacts")
    uri = make_db(tmp_path / "mlflow.db", files)
    reg = Registry(str(tmp_path / "reg"))
    reg.import_mlflow(uri)
    before = reg.events()
    (tmp_path / "artifacts").rename(tmp_path / "moved")  # the files cannot be reached any more
    assert not reg.import_mlflow(uri).changed
    assert reg.events() == before
    fresh = Registry(str(tmp_path / "fresh"))
    fresh.import_mlflow(uri)  # a registry that never had them records where they were
    assert (fresh.get_model_version("fraud", 1).source, fresh.get_model_version("fraud", 1).digest) == (files, None)
