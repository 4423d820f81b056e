"""Bad input of any kind gets a clear RegistryError, on both backends: issue 10's list 5, each a named test, and
every public method called with arguments of the wrong type."""

from __future__ import annotations

import base64
import inspect
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry import CorruptRegistry, InvalidParameterValue, Registry, RegistryError
from registry.store.journal import encode_record


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = object.__repr__


def test_a_deeply_nested_page_token(reg: Registry) -> None:
    token = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    for search in (reg.search_model_versions, reg.search_registered_models):
        with pytest.raises(InvalidParameterValue, match="page token"):
            search(page_token=token)


def test_a_deeply_nested_filter(reg: Registry) -> None:
    for search in (reg.search_model_versions, reg.search_registered_models):
        with pytest.raises(InvalidParameterValue):
            search(filter_string="(" * 100_000 + "name = 'x'" + ")" * 100_000)


@pytest.mark.parametrize("path", ["/tmp/a\x00b", "\ud800", "/tmp/" + "x" * 5000, "/tmp/" + "/".join(["d" * 200] * 30)])
def test_unusable_registry_paths(path: str) -> None:
    with pytest.raises(RegistryError) as info:
        Registry(path)
    assert isinstance(info.value, InvalidParameterValue)


def test_wrong_types_in_lookups(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://bucket/m")
    with pytest.raises(InvalidParameterValue, match="Alias"):
        reg.get_model_version_by_alias("m", {})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValue, match="stages"):
        reg.get_latest_versions("m", 1318)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValue, match="stage"):
        reg.get_latest_versions("m", [1318])  # type: ignore[list-item]


def test_a_tag_value_whose_str_raises(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://bucket/m")
    with pytest.raises(InvalidParameterValue, match="cannot be converted"):
        reg.set_registered_model_tag("m", "k", Unprintable())
    with pytest.raises(InvalidParameterValue, match="cannot be converted"):
        reg.set_model_version_tag("m", 1, "k", Unprintable())
    with pytest.raises(InvalidParameterValue, match="cannot be converted"):
        reg.create_registered_model("n", tags={"k": Unprintable()})
    assert reg.get_registered_model("m").tags == {}


@pytest.mark.parametrize("run_id", [b"x", object(), 5, math.nan, ["r"], {"r": 1}])
def test_run_id_types_are_checked_before_any_file_moves(
    reg: Registry, model_dir: Callable[..., str], run_id: Any
) -> None:
    reg.create_registered_model("m")
    with pytest.raises(InvalidParameterValue, match="run_id"):
        reg.create_model_version("m", model_dir(), run_id=run_id)
    with pytest.raises(InvalidParameterValue, match="run_link"):
        reg.create_model_version("m", model_dir(), run_link=run_id)
    assert reg.list_model_versions("m") == []
    staging, models = reg._store.staging_root, reg._store.artifact_root  # type: ignore[attr-defined]
    assert not os.path.isdir(staging) or os.listdir(staging) == []  # nothing staged was left behind
    assert not os.path.isdir(models) or all(not Path(models, d, "versions").exists() for d in os.listdir(models))
    assert reg.create_model_version("m", model_dir(), run_id="abc").run_id == "abc"


@pytest.mark.parametrize(
    "record",
    [
        {"seq": 1, "timestamp": 0, "type": "registered_model.created", "model_id": "a"},  # no name
        {"seq": "1", "timestamp": 0, "type": "registered_model.created", "model_id": "a", "name": "m"},
        {"seq": 1, "timestamp": None, "type": "registered_model.created", "model_id": "a", "name": "m"},
        {"timestamp": 0, "type": "registered_model.created", "model_id": "a", "name": "m"},
        {"seq": 1, "timestamp": 0, "type": 7, "model_id": "a", "name": "m"},
        {"seq": 1, "timestamp": 0, "type": "registered_model.created", "model_id": "a", "name": "m", "data": []},
        {
            "seq": 1,
            "timestamp": 0,
            "type": "registered_model.created",
            "model_id": "a",
            "name": "m",
            "data": {"tags": 3},
        },
        {"seq": 1, "timestamp": 0, "type": "model_version.created", "model_id": "a", "name": "m", "data": {}},
    ],
)
def test_a_checksummed_journal_record_with_bad_fields(tmp_path: Path, record: dict[str, Any]) -> None:
    root = tmp_path / "r"
    Registry(str(root)).close()
    (root / "journal" / "journal.log").write_bytes(encode_record(record))
    (root / "view.json").unlink(missing_ok=True)
    with pytest.raises(CorruptRegistry):
        Registry(str(root)).list_registered_models()


# -- every public method, with arguments of the wrong type ------------------------------------------------------

JUNK: list[Any] = [
    {},
    [],
    1318,
    -1,
    1.5,
    math.nan,
    b"x",
    object(),
    True,
    "",
    "\x00",
    "\ud800",
    "x" * 5000,
    Unprintable(),
    [1318],
    {"k": object()},
]

# Valid arguments for each method (on model "m" with version 1 and alias "champion"); each is replaced in turn.
CALLS: dict[str, dict[str, Any]] = {
    "copy_model_version": {"src_model_uri": "models:/m/1", "dst_name": "n"},
    "create_model_version": {
        "name": "m",
        "source": "s3://bucket/x",
        "run_id": "r",
        "tags": {"k": "v"},
        "run_link": "http://x",
        "description": "d",
        "await_creation_for": 1,
        "progress": None,
    },
    "create_registered_model": {"name": "n", "tags": {"k": "v"}, "description": "d"},
    "delete_model_version": {"name": "m", "version": 1},
    "delete_model_version_tag": {"name": "m", "version": 1, "key": "k"},
    "delete_registered_model": {"name": "m"},
    "delete_registered_model_alias": {"name": "m", "alias": "champion"},
    "delete_registered_model_tag": {"name": "m", "key": "k"},
    "events": {"since": 0, "types": "model_version.*", "model": "m", "limit": 5},
    "get_latest_versions": {"name": "m", "stages": ["None"]},
    "get_model_version": {"name": "m", "version": 1},
    "get_model_version_by_alias": {"name": "m", "alias": "champion"},
    "get_model_version_download_uri": {"name": "m", "version": 1},
    "get_model_version_stages": {"name": "m", "version": 1},
    "get_registered_model": {"name": "m"},
    "list_model_versions": {"name": "m"},
    "rename_registered_model": {"name": "m", "new_name": "n"},
    "resolve_model_uri": {"uri": "models:/m@champion"},
    "search_model_versions": {
        "filter_string": "name = 'm'",
        "max_results": 10,
        "order_by": ["version_number"],
        "page_token": None,
    },
    "search_registered_models": {
        "filter_string": "name = 'm'",
        "max_results": 10,
        "order_by": ["name"],
        "page_token": None,
    },
    "set_model_version_tag": {"name": "m", "version": 1, "key": "k", "value": "v"},
    "set_registered_model_alias": {"name": "m", "alias": "other", "version": 1},
    "set_registered_model_tag": {"name": "m", "key": "k", "value": "v"},
    "set_stage_policy": {"policy": "mlflow"},
    "transition_model_version_stage": {
        "name": "m",
        "version": 1,
        "stage": "Staging",
        "archive_existing_versions": False,
    },
    "update_model_version": {"name": "m", "version": 1, "description": "d"},
    "update_registered_model": {"name": "m", "description": "d"},
    "check": {"fix": False, "progress": None},
    "state_at": {"at": 1_700_000_000_000},
    "history": {"name": "m", "version": 1},
    "rollback_alias": {"name": "m", "alias": "champion"},
    "version_at": {"name": "m", "at": 1_700_000_000_000, "alias": "champion"},
    "export_model_version": {"model_uri": "models:/m/1", "dest": "<tmp>/export", "progress": None},
    "list_model_version_files": {"name": "m", "version": 1},
    "fetch_version_files": {"name": "m", "version": 1},
    "create_model_version_from_files": {
        "name": "m",
        "files": "<tmp>/files",
        "source": "s3://x",
        "run_id": "r",
        "tags": {"k": "v"},
        "run_link": "http://x",
        "description": "d",
        "version": 5,
    },
    "register_model": {"model_uri": "models:/m/1", "name": "n"},
    "export_bundle": {"path": "<tmp>/b.tar", "models": ["m@champion"], "progress": None},
    "import_bundle": {"path": "<tmp>/b.tar", "progress": None},
    "import_models": {"models": [], "files": {("m", 2): "<tmp>/files"}, "origin": "o"},
    "import_mlflow": {
        "source": "<tmp>/mlruns",
        "workspace": "default",
        "artifacts_server": "http://127.0.0.1:9",
        "timeout": 5,
    },
    "push_to_mlflow": {"url": "http://127.0.0.1:9", "models": ["m"], "experiment": "e", "timeout": 5},
    "load_model": {"model_uri": "models:/m/1"},
    # governance (the template has a pending request of version 1 for Staging, and one comment on it)
    "create_transition_request": {"name": "m", "version": 1, "stage": "Archived", "comment": "c"},
    "approve_transition_request": {
        "name": "m",
        "version": 1,
        "stage": "Staging",
        "archive_existing_versions": False,
        "comment": "c",
    },
    "reject_transition_request": {"name": "m", "version": 1, "stage": "Staging", "comment": "c"},
    "delete_transition_request": {"name": "m", "version": 1, "stage": "Staging", "creator": "tester"},
    "list_transition_requests": {"name": "m", "version": 1, "include_closed": True},
    "create_comment": {"name": "m", "version": 1, "comment": "c"},
    "update_comment": {"id": "<comment>", "comment": "c"},
    "delete_comment": {"id": "<comment>"},
    "get_comment": {"id": "<comment>"},
    "list_comments": {"name": "m", "version": 1},
    "rollback_stage": {"name": "m", "stage": "Production", "reason": "r"},
    "sync_from": {"source": "<tmp>/files", "models": ["m@champion"], "progress": print},
    "follow_sync": {
        "source": "<tmp>/files",
        "models": ["m"],
        "interval": 0.01,
        "stop": None,
        "progress": print,
        "on_sync": print,
        "on_error": None,
    },
}


def test_every_method_is_listed() -> None:
    """A new public method must be added to CALLS (or to the few that take no data)."""
    exempt = {
        "close",
        "detach_replica",
        "follow",
        "log_model",
        "log_model_info",
        "new_id",
        "list_registered_models",
        "subscribe",
        "last_event_seq",
        "verify_history",
    }
    public = {n for n, f in inspect.getmembers(Registry, inspect.isfunction) if not n.startswith("_")}
    webhooks = {n for n in public if "webhook" in n or "trigger" in n}
    assert public - webhooks - exempt - set(CALLS) == set()


@pytest.fixture(scope="module")
def junk_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("junk") / "template")
    reg = Registry(root, durable=False, user="tester")
    _template(reg)
    reg.close()
    return root


def _template(reg: Registry) -> None:
    reg.create_registered_model("m", tags={"k": "v"})
    reg.create_model_version("m", "s3://bucket/m", tags={"k": "v"})
    reg.set_registered_model_alias("m", "champion", 1)
    reg.create_transition_request("m", 1, "Staging")
    reg.create_comment("m", 1, "a comment")


@pytest.mark.parametrize("method", sorted(CALLS))
@pytest.mark.parametrize("backend", ["folder", "memory"])
def test_wrong_argument_types_are_registry_errors(method: str, backend: str, junk_root: str, tmp_path: Path) -> None:
    problems = []
    for parameter in CALLS[method]:
        for junk in JUNK:
            if backend == "folder":
                root = str(tmp_path / "r")
                shutil.rmtree(root, ignore_errors=True)
                shutil.copytree(junk_root, root)
                reg = Registry(root, durable=False, user="tester")
            else:
                reg = Registry("memory://", durable=False, user="tester")
                _template(reg)
            arguments = {**CALLS[method], parameter: junk}
            for name, value in arguments.items():
                if isinstance(value, str) and value.startswith("<tmp>/"):
                    arguments[name] = str(tmp_path / value[len("<tmp>/") :])
                elif value == "<comment>":
                    arguments[name] = reg.list_comments("m", 1)[0].id
            files = tmp_path / "files"
            if not files.exists():
                (files / "data").mkdir(parents=True)
                (files / "MLmodel").write_text("flavors: {}\n")
            try:
                getattr(reg, method)(**arguments)
            except RegistryError:
                pass
            except Exception as exc:
                problems.append(f"{method}({parameter}={junk!r}): {type(exc).__name__}: {exc}")
            # Whatever was accepted or refused, the registry is still whole: a full replay gives its view.
            if backend == "folder":
                fresh = Registry(root, read_only=True)
                assert [m.name for m in fresh.list_registered_models()] == [
                    m.name for m in reg.list_registered_models()
                ]
            reg.close()
    assert problems == []


def test_json_of_results_never_fails(reg: Registry) -> None:
    """Values that were accepted are plain JSON types (nothing a non-string run_id could sneak in)."""
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", "s3://x", run_id="r", tags={"k": 5})
    json.dumps(mv.to_dict())
    assert mv.tags == {"k": "5"}
