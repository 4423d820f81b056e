"""Across the MLflow border, against real MLflow 3.17.2 (tests/mlflow_venv.py) and a real ``mlflow server``.

MLflow's own client populates a sqlite database, a file store folder (MLflow 3 needs MLFLOW_ALLOW_FILE_STORE to
write one) and a running server; each is imported and compared field by field with what MLflow's client reports,
predictions included. A registry is pushed into the server and MLflow's client checks what arrived and loads it
with ``mlflow.pyfunc.load_model``; pushing again changes nothing, a push cut off at several points finishes when
run again, and registry -> MLflow -> registry keeps every field MLflow has.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from mlflow_venv import MLFLOW_ENV

from registry import Registry, pyfunc
from registry.errors import ImportConflict, MlflowServerError
from registry.exchange import rest as rest_module

pytestmark = pytest.mark.mlflow

REPO = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 180.0


def run(python: Path, script: str, cwd: Path, *, ours: bool = False, env: dict[str, str] | None = None) -> Any:
    """Run ``script`` in the MLflow venv; it prints one JSON document last. ``ours`` puts this library on the path."""
    full = {**os.environ, **MLFLOW_ENV, **(env or {})}
    full.pop("PYTHONPATH", None)
    if ours:
        full["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)], cwd=cwd, env=full, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise AssertionError(f"venv script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 with a sqlite backend and the artifact proxy, stopped at the end."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [
        str(mlflow_python.parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        # no background job runner: nothing in these tests uses MLflow's jobs, and it is several more processes
        command, cwd=root, env={**os.environ, **MLFLOW_ENV, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the server's workers are stopped with it
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"mlflow server exited: {(root / 'server.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"mlflow server did not answer within {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left (workers outlive their parent)
        proc.wait(timeout=20)
        log.close()


# -- MLflow's own client populates three registries --------------------------------------------------------------

POPULATE = """
import json, sys, mlflow, pandas as pd
from mlflow import MlflowClient

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [2.0 * float(a) for a in model_input["a"]]

def text(value):
    return None if value in (None, "") else value

def populate(uri):
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    c = MlflowClient(uri, uri)
    mlflow.set_experiment("border")
    for _ in range(2):
        with mlflow.start_run():
            mlflow.pyfunc.log_model(name="model", python_model=Doubler(), registered_model_name="fraud")
    c.update_registered_model("fraud", description="Fraud scores")
    c.set_registered_model_tag("fraud", "team", "risk")
    c.set_model_version_tag("fraud", "1", "validated", "true")
    c.update_model_version("fraud", "2", description="the challenger")
    c.transition_model_version_stage("fraud", "1", "Production")
    c.transition_model_version_stage("fraud", "2", "Staging")
    c.set_registered_model_alias("fraud", "champion", "1")
    c.set_registered_model_alias("fraud", "challenger", "2")
    c.create_registered_model("churn", tags={"k": "v"}, description="churn model")
    c.create_model_version("churn", "s3://bucket/churn/1", tags={"a": "b"}, description="files elsewhere",
                           run_link="http://ci/42")
    c.create_model_version("churn", "s3://bucket/churn/2")
    c.create_model_version("churn", "s3://bucket/churn/3")
    c.delete_model_version("churn", "2")
    out = {}
    for rm in c.search_registered_models():
        rm = c.get_registered_model(rm.name)
        versions = []
        for mv in sorted(c.search_model_versions(f"name='{rm.name}'"), key=lambda v: int(v.version)):
            mv = c.get_model_version(rm.name, mv.version)
            versions.append({
                "version": int(mv.version), "current_stage": mv.current_stage, "source": mv.source,
                "run_id": text(mv.run_id), "run_link": text(mv.run_link), "description": text(mv.description),
                "tags": dict(mv.tags), "aliases": sorted(mv.aliases),
                "creation_timestamp": mv.creation_timestamp, "last_updated_timestamp": mv.last_updated_timestamp,
            })
        out[rm.name] = {
            "description": text(rm.description), "tags": dict(rm.tags),
            "aliases": {a: int(v) for a, v in rm.aliases.items()},
            "creation_timestamp": rm.creation_timestamp, "last_updated_timestamp": rm.last_updated_timestamp,
            "versions": versions,
        }
    pred = mlflow.pyfunc.load_model("models:/fraud@champion").predict(pd.DataFrame({"a": [1.0, 2.5]}))
    return {"registry": out, "prediction": [float(p) for p in pred]}

print(json.dumps({name: populate(uri) for name, uri in json.loads(sys.argv[1]).items()}))
"""


@pytest.fixture(scope="module")
def populated(mlflow_python: Path, server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow-sources")
    uris = {"sqlite": f"sqlite:///{root / 'mlflow.db'}", "mlruns": str(root / "mlruns"), "server": server}
    script = POPULATE.replace("json.loads(sys.argv[1])", repr(json.dumps(uris)).join(("json.loads(", ")")))
    seen = run(mlflow_python, script, root, env={"MLFLOW_ALLOW_FILE_STORE": "true"})
    return {name: {**seen[name], "uri": uri} for name, uri in uris.items()}


def ours(reg: Registry) -> dict[str, Any]:
    """The registry in the shape of the MLflow dump above."""
    out = {}
    for rm in reg.list_registered_models():
        versions = [
            {
                "version": mv.version,
                "current_stage": mv.current_stage.value,
                "source": mv.source,
                "run_id": mv.run_id,
                "run_link": mv.run_link,
                "description": mv.description,
                "tags": dict(mv.tags),
                "aliases": sorted(mv.aliases),
                "creation_timestamp": mv.creation_timestamp,
                "last_updated_timestamp": mv.last_updated_timestamp,
            }
            for mv in reg.list_model_versions(rm.name)
        ]
        out[rm.name] = {
            "description": rm.description,
            "tags": dict(rm.tags),
            "aliases": dict(rm.aliases),
            "creation_timestamp": rm.creation_timestamp,
            "last_updated_timestamp": rm.last_updated_timestamp,
            "versions": versions,
        }
    return out


PREDICT_WITH_OURS = """
import json, sys, pandas as pd
from registry import Registry
out = {}
for path in json.loads(sys.argv[1]):
    reg = Registry(path)
    out[path] = [float(p) for p in reg.load_model("models:/fraud@champion").predict(pd.DataFrame({"a": [1.0, 2.5]}))]
print(json.dumps(out))
"""


@pytest.mark.parametrize("kind", ["sqlite", "mlruns", "server"])
def test_import_keeps_every_field_mlflow_has(populated: dict[str, Any], tmp_path: Path, kind: str) -> None:
    source = populated[kind]
    reg = Registry(str(tmp_path / "imported"))
    report = reg.import_mlflow(source["uri"])
    assert report.created_versions == [("churn", 1), ("churn", 3), ("fraud", 1), ("fraud", 2)]
    assert ours(reg) == source["registry"]
    for number in (1, 2):
        mv = reg.get_model_version("fraud", number)
        assert mv.digest is not None and os.path.isfile(os.path.join(mv.storage_location or "", "MLmodel"))
    assert reg.get_model_version("churn", 3).storage_location is None  # s3: not reachable here, source kept
    assert reg.create_model_version("churn", "s3://bucket/churn/next").version == 4  # numbers stay unique
    assert reg.check().problems == []
    # idempotent: a second import finds everything here and writes nothing
    before = reg.events()
    assert not reg.import_mlflow(source["uri"]).changed
    assert reg.events() == before


def test_imported_models_predict_as_in_mlflow(populated: dict[str, Any], mlflow_python: Path, tmp_path: Path) -> None:
    paths = []
    for kind in ("sqlite", "mlruns", "server"):
        path = tmp_path / kind
        Registry(str(path)).import_mlflow(populated[kind]["uri"])
        paths.append(str(path))
    script = PREDICT_WITH_OURS.replace("json.loads(sys.argv[1])", repr(paths))
    got = run(mlflow_python, script, tmp_path, ours=True)
    for kind, path in zip(("sqlite", "mlruns", "server"), paths, strict=True):
        assert got[path] == populated[kind]["prediction"] == [2.0, 5.0]


def test_import_refuses_conflicts_and_an_unreachable_server(populated: dict[str, Any], tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "r"))
    reg.create_registered_model("fraud")
    reg.create_model_version("fraud", "s3://something/else")
    with pytest.raises(ImportConflict, match="version 1 exists here with other content"):
        reg.import_mlflow(populated["sqlite"]["uri"])
    assert [m.name for m in reg.list_registered_models()] == ["fraud"]
    with pytest.raises(MlflowServerError, match="Cannot reach the MLflow server"):
        reg.import_mlflow(f"http://127.0.0.1:{free_port()}")


# -- pushing into the server -------------------------------------------------------------------------------------


class Tripler(pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> list[float]:
        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        return [3.0 * float(r["a"]) for r in rows]


@contextlib.contextmanager
def by_value() -> Iterator[None]:
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def make_registry(path: Path, name: str) -> Registry:
    reg = Registry(str(path), policy="mlflow")
    with by_value():
        reg.log_model(python_model=Tripler(), registered_model_name=name, tags={"kind": "tripler"})
    reg.update_registered_model(name, description="pushed from the registry")
    reg.set_registered_model_tag(name, "team", "edge")
    reg.create_model_version(name, "s3://bucket/elsewhere", run_id="run-2", run_link="http://ci/2")
    with by_value():
        reg.log_model(python_model=Tripler(), registered_model_name=name, description="third")
    reg.delete_model_version(name, 2)  # a gap MLflow must keep too
    reg.create_model_version(name, "s3://bucket/four")
    reg.transition_model_version_stage(name, 3, "Production")
    reg.transition_model_version_stage(name, 1, "Archived")
    reg.set_registered_model_alias(name, "champion", 3)
    reg.set_model_version_tag(name, 3, "validated", "true")
    return reg


CHECK_PUSHED = """
import json, mlflow, pandas as pd
from mlflow import MlflowClient
URL, NAME = {url!r}, {name!r}
mlflow.set_tracking_uri(URL)
c = MlflowClient(URL, URL)
rm = c.get_registered_model(NAME)
versions = sorted(c.search_model_versions(f"name='{{NAME}}'"), key=lambda v: int(v.version))
out = {{
    "description": rm.description, "tags": dict(rm.tags), "aliases": {{a: int(v) for a, v in rm.aliases.items()}},
    "versions": [{{"version": int(v.version), "stage": v.current_stage, "run_id": v.run_id, "run_link": v.run_link,
                  "description": v.description, "tags": dict(v.tags), "source": v.source}} for v in versions],
    "champion": [float(p) for p in mlflow.pyfunc.load_model(f"models:/{{NAME}}@champion").predict(
        pd.DataFrame({{"a": [1.0, 2.5]}}))],
    "production": [float(p) for p in mlflow.pyfunc.load_model(f"models:/{{NAME}}/Production").predict(
        pd.DataFrame({{"a": [2.0]}}))],
}}
print(json.dumps(out))
"""


def test_push_arrives_in_mlflow_and_loads_there(
    server: str, mlflow_python: Path, tmp_path: Path, populated: dict[str, Any]
) -> None:
    reg = make_registry(tmp_path / "r", "pushed")
    report = reg.push_to_mlflow(server)
    assert report.created_versions == [("pushed", 1), ("pushed", 3), ("pushed", 4)]
    got = run(mlflow_python, CHECK_PUSHED.format(url=server, name="pushed"), tmp_path)
    assert got["description"] == "pushed from the registry"
    assert got["tags"] == {"team": "edge"} and got["aliases"] == {"champion": 3}
    rows = {v["version"]: v for v in got["versions"]}
    assert sorted(rows) == [1, 3, 4]
    assert (rows[1]["stage"], rows[1]["tags"]) == ("Archived", {"kind": "tripler"})
    assert (rows[3]["stage"], rows[3]["description"], rows[3]["tags"]) == ("Production", "third", {"validated": "true"})
    assert (rows[4]["source"], rows[4]["stage"]) == ("s3://bucket/four", "None")
    assert got["champion"] == reg.load_model("models:/pushed@champion").predict([{"a": 1.0}, {"a": 2.5}]) == [3.0, 7.5]
    assert got["production"] == [6.0]
    # idempotent: pushing again changes nothing there
    again = reg.push_to_mlflow(server)
    assert not again.changed and again.existing_versions == report.created_versions
    # and the way back keeps every field MLflow has (times and users are MLflow's own)
    back = Registry(str(tmp_path / "back"))
    back.import_mlflow(server)

    def fields(r: Registry) -> dict[str, Any]:
        snapshot = ours(r)["pushed"]
        snapshot.pop("creation_timestamp"), snapshot.pop("last_updated_timestamp")
        for v in snapshot["versions"]:
            v.pop("creation_timestamp"), v.pop("last_updated_timestamp")
            if v["source"] == r.get_model_version("pushed", v["version"]).storage_location:
                v["source"] = "<its own copy>"  # a path inside each registry
        digests = [r.get_model_version("pushed", v["version"]).digest for v in snapshot["versions"]]
        return {**snapshot, "digests": digests}

    assert fields(back) == fields(reg)
    assert back.load_model("models:/pushed@champion").predict([{"a": 2.0}]) == [6.0]


def test_an_interrupted_push_finishes_when_run_again(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = rest_module.MlflowRest._send
    # One push, recorded, says where the interesting cuts are: right after each version is created (before its
    # pending tag comes off, or before a version that landed on a gap's number is deleted), and in an upload.
    seen: list[tuple[str, str]] = []

    def recording(self: Any, method: str, url: str, *args: Any) -> bytes:
        seen.append((method, url.split("/api/2.0/", 1)[1].split("?")[0]))
        return original(self, method, url, *args)

    make_registry(tmp_path / "warm-up", "warm-up").push_to_mlflow(server)  # makes the experiment: one call less
    monkeypatch.setattr(rest_module.MlflowRest, "_send", recording)
    make_registry(tmp_path / "probe", "probe").push_to_mlflow(server)
    monkeypatch.setattr(rest_module.MlflowRest, "_send", original)
    after_create = [i + 2 for i, (_, what) in enumerate(seen) if what == "mlflow/model-versions/create"]
    uploads = [i + 1 for i, (method, _) in enumerate(seen) if method == "PUT"]
    cuts = sorted({*after_create, uploads[len(uploads) // 2], 2, len(seen)})
    assert len(after_create) == 4  # three versions, one of which first landed on the gap (2) and was deleted
    for cut in cuts:
        name = f"resumed-{cut}"
        reg = make_registry(tmp_path / name, name)
        calls = {"n": 0}

        def failing(self: Any, *args: Any, _cut: int = cut, _calls: dict[str, int] = calls) -> bytes:
            _calls["n"] += 1
            if _calls["n"] == _cut:
                raise MlflowServerError("connection lost (test)")
            return original(self, *args)

        monkeypatch.setattr(rest_module.MlflowRest, "_send", failing)
        with pytest.raises(MlflowServerError, match="connection lost"):
            reg.push_to_mlflow(server)
        monkeypatch.setattr(rest_module.MlflowRest, "_send", original)
        reg.push_to_mlflow(server)  # resumes
        assert not reg.push_to_mlflow(server).changed
        back = Registry(str(tmp_path / f"{name}-back"))
        back.import_mlflow(server)
        versions = back.list_model_versions(name)
        assert [v.version for v in versions] == [1, 3, 4], cut
        assert all(not any(k.startswith("mlregistry.") for k in v.tags) for v in versions), cut
        assert back.get_model_version_by_alias(name, "champion").digest == reg.get_model_version(name, 3).digest
        assert back.get_model_version(name, 3).current_stage == "Production"


def test_push_refuses_a_number_mlflow_holds_with_other_content(server: str, tmp_path: Path) -> None:
    first = make_registry(tmp_path / "a", "contested")
    first.push_to_mlflow(server)
    other = Registry(str(tmp_path / "b"))
    other.create_registered_model("contested")
    other.create_model_version("contested", "s3://bucket/not-the-same")
    with pytest.raises(ImportConflict, match="version 1 exists in MLflow with other files or source"):
        other.push_to_mlflow(server)
