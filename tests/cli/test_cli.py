"""The ``registry`` command: every command through ``main(argv)``, its output, and its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import registry
from registry import Registry
from registry.cli import main
from registry.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_NOT_FOUND,
    EXIT_OK,
    exit_code_for,
)
from registry.cli.demo import FraudModel
from registry.errors import CorruptRegistry, IllegalStageTransition, RegistryLockTimeout

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def run(folder: str, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the command line against the test's registry; returns (exit status, stdout, stderr)."""

    def invoke(*argv: str, registry: str | None = folder) -> tuple[int, str, str]:
        args = ["--registry", registry, *argv] if registry is not None else list(argv)
        code = main(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def fraud(folder: str, tmp_path: Path) -> Registry:
    """A registry with model 'fraud': version 1 (Staging) and 2 (None, @champion), both loadable."""
    reg = Registry(folder)
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"bias": -6.0, "amount": 0.8, "country": 1.5, "threshold": 0.8}))
    for _ in range(2):
        reg.log_model(
            FraudModel(),
            registered_model_name="fraud",
            artifacts={"weights": str(weights)},
            input_example=[{"amount": 1.0, "country": "DE"}],
        )
    reg.transition_model_version_stage("fraud", 1, "Staging")
    reg.set_registered_model_alias("fraud", "champion", 2)
    reg.close()
    return Registry(folder)


def test_models_lifecycle(run: Run) -> None:
    assert run("models", "create", "fraud", "--description", "scores payments", "--tag", "team=risk")[0] == EXIT_OK
    code, out, _ = run("models", "list")
    assert code == EXIT_OK
    assert out.splitlines()[0].split() == ["NAME", "LATEST", "STAGES", "ALIASES", "UPDATED", "DESCRIPTION"]
    assert "fraud" in out and "scores payments" in out
    assert run("models", "describe", "fraud", "new words")[0] == EXIT_OK
    assert run("models", "tag", "fraud", "owner", "ana")[0] == EXIT_OK
    assert run("models", "untag", "fraud", "team")[0] == EXIT_OK
    code, out, _ = run("models", "show", "fraud", "--json")
    shown = json.loads(out)
    assert (shown["description"], shown["tags"], shown["versions"]) == ("new words", {"owner": "ana"}, [])
    assert run("models", "rename", "fraud", "fraud2")[0] == EXIT_OK
    code, out, _ = run("--json", "models", "list")
    assert [m["name"] for m in json.loads(out)["items"]] == ["fraud2"]
    assert run("models", "delete", "fraud2", "--yes")[0] == EXIT_OK
    assert run("models", "list")[1].strip() == "(no models)"


def test_versions_lifecycle(run: Run, model_dir: Callable[..., str]) -> None:
    source = model_dir()
    code, out, _ = run("versions", "register", "m", source, "--run-id", "r1", "--tag", "k=v", "--description", "d")
    assert (code, out.strip()) == (EXIT_OK, "Registered 'm' version 1.")
    assert run("versions", "register", "m", "s3://bucket/model")[0] == EXIT_OK
    code, out, _ = run("versions", "list", "m")
    assert [line.split()[0] for line in out.splitlines()] == ["VERSION", "1", "2"]
    mv = json.loads(run("versions", "show", "m", "1", "--json")[1])
    assert (mv["run_id"], mv["tags"], mv["description"], mv["source"]) == ("r1", {"k": "v"}, "d", source)
    assert run("versions", "show", "m", "1")[1].count("digest:") == 1
    assert run("versions", "describe", "m", "1", "better")[0] == EXIT_OK
    assert run("versions", "tag", "m", "1", "validated", "true")[0] == EXIT_OK
    assert run("versions", "untag", "m", "1", "k")[0] == EXIT_OK
    mv = json.loads(run("versions", "show", "m", "1", "--json")[1])
    assert (mv["description"], mv["tags"]) == ("better", {"validated": "true"})
    code, out, _ = run("versions", "download-uri", "m", "1")
    assert os.path.isdir(out.strip())
    assert run("versions", "download-uri", "m", "2")[1].strip() == "s3://bucket/model"
    assert run("versions", "delete", "m", "2", "-y")[0] == EXIT_OK
    assert run("versions", "show", "m", "2")[0] == EXIT_NOT_FOUND


def test_transition_and_aliases(run: Run, model_dir: Callable[..., str]) -> None:
    for _ in range(2):
        run("versions", "register", "m", model_dir())
    assert run("transition", "m", "1", "staging")[1].strip() == "'m' version 1 is now in Staging."
    assert run("transition", "m", "1", "Production")[0] == EXIT_OK
    run("transition", "m", "2", "Staging")
    mv = json.loads(run("transition", "m", "2", "Production", "--archive-existing", "--json")[1])
    assert mv["current_stage"] == "Production"
    assert json.loads(run("versions", "show", "m", "1", "--json")[1])["current_stage"] == "Archived"
    assert run("alias", "set", "m", "champion", "2")[0] == EXIT_OK
    assert run("alias", "set", "m", "shadow", "1")[0] == EXIT_OK
    assert run("alias", "show", "m", "champion")[1].strip() == "2"
    shown = json.loads(run("alias", "show", "m", "--json")[1])
    assert shown["items"] == [{"alias": "champion", "version": 2}, {"alias": "shadow", "version": 1}]
    assert "@champion" in run("alias", "show", "m")[1]
    assert run("alias", "delete", "m", "shadow")[0] == EXIT_OK
    assert run("alias", "show", "m", "shadow")[0] == EXIT_NOT_FOUND


def test_alias_rollback_and_time_travel(run: Run, model_dir: Callable[..., str]) -> None:
    for _ in range(2):
        run("versions", "register", "m", model_dir())
    run("alias", "set", "m", "champion", "1")
    when = str(json.loads(run("events", "--json")[1])["items"][-1]["timestamp"])  # champion's first move, to version 1
    run("alias", "set", "m", "champion", "2")
    assert run("alias", "rollback", "m", "champion")[1].strip() == "@champion of 'm': version 2 -> 1."
    assert run("alias", "show", "m", "champion")[1].strip() == "1"
    run("alias", "set", "m", "champion", "2")
    assert run("alias", "show", "m", "champion", "--at", when)[1].strip() == "1"
    code, _, err = run("alias", "show", "m", "champion", "--at", "1970-01-02T00:00Z")
    assert code == EXIT_NOT_FOUND and "did not exist yet at 1970-01-02T00:00:00Z" in err
    code, _, err = run("alias", "show", "m", "champion", "--at", "yesterday")
    assert code == EXIT_INVALID and "ISO 8601" in err and "2026-11-20T14:30:00Z" in err


def test_search(run: Run, model_dir: Callable[..., str]) -> None:
    for name in ("fraud-a", "fraud-b", "churn"):
        run("versions", "register", name, model_dir(), "--tag", f"team={name[:5]}")
    code, out, _ = run("search", "models", "--filter", "name LIKE 'fraud%'", "--order-by", "name DESC")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["fraud-b", "fraud-a"]
    code, out, err = run("search", "models", "--max-results", "1")
    assert out.splitlines()[1].split()[0] == "churn"
    assert "--page-token" in err
    token = err.split("--page-token ")[1].strip()
    page = json.loads(run("search", "models", "--max-results", "1", "--page-token", token, "--json")[1])
    assert [m["name"] for m in page["items"]] == ["fraud-a"] and page["next_page_token"]
    found = json.loads(run("search", "versions", "--filter", "tags.team = 'churn'", "--json")[1])
    assert [(v["name"], v["version"]) for v in found["items"]] == [("churn", 1)]
    code, _, err = run("search", "versions", "--filter", "name = ")
    assert code == EXIT_INVALID and err.startswith("error: ")


def test_policy_show_and_set(run: Run, model_dir: Callable[..., str]) -> None:
    run("versions", "register", "m", model_dir())
    shown = json.loads(run("policy", "show", "--json")[1])
    assert shown["name"] == "mlflow" and "Production" in shown["transitions"]["None"]
    code, out, _ = run("policy", "set", "lifecycle")
    assert code == EXIT_OK and "'lifecycle'" in out and "None" in out
    code, _, err = run("transition", "m", "1", "Production")
    assert code == EXIT_CONFLICT and "registry policy set mlflow" in err
    assert run("policy", "set", "mlflow")[0] == EXIT_OK
    assert run("transition", "m", "1", "Production")[0] == EXIT_OK
    assert run("policy", "set", "strictest")[0] == EXIT_INVALID


def test_errors_are_one_line_with_distinct_exit_codes(run: Run, model_dir: Callable[..., str]) -> None:
    run("versions", "register", "m", model_dir())
    run("policy", "set", "lifecycle")
    cases = [
        (("models", "show", "nope"), EXIT_NOT_FOUND),
        (("versions", "show", "m", "9"), EXIT_NOT_FOUND),
        (("models", "create", "m"), EXIT_CONFLICT),
        (("transition", "m", "1", "Production"), EXIT_CONFLICT),  # the lifecycle policy: None -> Staging first
        (("versions", "show", "m", "x"), EXIT_INVALID),
        (("transition", "m", "1", "Nowhere"), EXIT_INVALID),
        (("alias", "set", "m", "latest", "1"), EXIT_INVALID),
    ]
    for argv, expected in cases:
        code, out, err = run(*argv)
        assert code == expected, (argv, err)
        assert out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_exit_codes_for_the_rest_of_the_error_tree() -> None:
    assert exit_code_for(IllegalStageTransition("no")) == EXIT_CONFLICT
    assert exit_code_for(CorruptRegistry("bad")) == EXIT_ERROR
    assert exit_code_for(RegistryLockTimeout("busy")) == EXIT_ERROR


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "frobnicate"]) == EXIT_INVALID
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    assert main(["models", "create", "x", "--tag", "novalue"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "usage: registry models create" in err and "KEY=VALUE" in err
    assert main(["models", "create", "--json"]) == EXIT_INVALID  # with --json, the usage error is JSON too
    error = json.loads(capsys.readouterr().err)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE" and "name" in error["message"]


def test_reading_commands_do_not_create_a_registry(run: Run, folder: str) -> None:
    code, _, err = run("models", "list")
    assert code == EXIT_NOT_FOUND and "There is no registry at" in err
    assert not os.path.exists(folder)
    assert run("models", "create", "m")[0] == EXIT_OK
    assert os.path.exists(os.path.join(folder, "registry.json"))


def test_the_registry_comes_from_the_environment(
    run: Run, folder: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REGISTRY_URI", folder)
    assert run("models", "create", "from-env", registry=None)[0] == EXIT_OK
    assert Registry(folder).get_registered_model("from-env").name == "from-env"
    monkeypatch.delenv("REGISTRY_URI")
    monkeypatch.chdir(tmp_path)
    assert run("models", "create", "default", registry=None)[0] == EXIT_OK
    assert os.path.exists(tmp_path / "mlregistry" / "registry.json")


def test_load_predict(run: Run, fraud: Registry, tmp_path: Path) -> None:
    rows = [{"amount": 980.0, "country": "BR"}]
    expected = fraud.load_model("models:/fraud@champion").predict(rows)
    request = tmp_path / "rows.json"
    request.write_text(json.dumps({"dataframe_records": rows}))
    code, out, _ = run("load-predict", "models:/fraud@champion", "--input", str(request))
    assert code == EXIT_OK
    assert json.loads(out) == {"predictions": expected}
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("amount,country\n980.0,BR\n")
    assert json.loads(run("load-predict", "models:/fraud/1", "--input", str(csv_file))[1]) == {"predictions": expected}
    bad = tmp_path / "bad.json"
    bad.write_text('{"dataframe_records": [{"amount": 1}]}')
    code, _, err = run("load-predict", "models:/fraud@champion", "--input", str(bad))
    assert code == EXIT_INVALID and "country" in err
    assert run("load-predict", "models:/fraud@champion", "--input", str(tmp_path / "none.json"))[0] == EXIT_NOT_FOUND


def test_export_copies_verified_files(run: Run, fraud: Registry, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    code, out, _ = run("export", "models:/fraud@champion", str(dest))
    assert code == EXIT_OK and "version 2" in out
    assert (dest / "MLmodel").is_file()
    assert fraud.load_model(str(dest)).predict([{"amount": 5.0, "country": "DE"}])
    assert run("export", "models:/fraud/1", str(dest))[0] == EXIT_CONFLICT  # not empty
    location = fraud.get_model_version("fraud", 1).storage_location
    assert location is not None
    with open(os.path.join(location, "MLmodel"), "a") as f:
        f.write("# tampered\n")
    code, _, err = run("export", "models:/fraud/1", str(tmp_path / "out2"))
    assert code == EXIT_ERROR and "changed after registration" in err
    assert not (tmp_path / "out2").exists()


def test_export_refuses_a_version_without_files(run: Run) -> None:
    run("versions", "register", "m", "s3://bucket/model")
    code, _, err = run("export", "models:/m/1", "anywhere")
    assert code == EXIT_INVALID and "s3://bucket/model" in err


def test_history_and_events(run: Run, fraud: Registry) -> None:
    fraud.rename_registered_model("fraud", "payments")
    code, out, _ = run("history", "payments")
    assert code == EXIT_OK
    assert "model created" in out and "renamed 'fraud' -> 'payments'" in out
    events = json.loads(run("history", "payments", "1", "--json")[1])["items"]
    assert [e["type"] for e in events] == ["model_version.created", "model_version.stage_transitioned"]
    assert run("history", "nothing")[0] == EXIT_NOT_FOUND
    all_events = json.loads(run("events", "--json")[1])["items"]
    assert [e["seq"] for e in all_events] == list(range(1, len(all_events) + 1))
    later = json.loads(run("events", "--since", "3", "--limit", "2", "--json")[1])["items"]
    assert [e["seq"] for e in later] == [4, 5]
    assert "alias @champion -> version 2" in run("events")[1]


def test_events_follow_prints_events_from_another_process(folder: str, model_dir: Callable[..., str]) -> None:
    Registry(folder).create_registered_model("m")
    env = {**os.environ, "REGISTRY_URI": folder, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "registry", "events", "--follow", "--json", "--poll-interval", "0.05"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            first = json.loads(proc.stdout.readline())
            assert first["type"] == "registered_model.created"
            Registry(folder).create_model_version("m", model_dir())
            second = json.loads(proc.stdout.readline())
            assert (second["type"], second["seq"]) == ("model_version.created", 2)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_check(run: Run, fraud: Registry, folder: str) -> None:
    code, out, _ = run("check")
    assert code == EXIT_OK and "Verified the files of 2 version(s)." in out and out.strip().endswith("OK")
    orphan = os.path.join(folder, "models", "not-a-model")
    os.makedirs(orphan)
    code, out, _ = run("check")
    assert code == EXIT_OK and "leftover: orphan_model_folder" in out and "--fix" in out  # garbage, not a failure
    report = json.loads(run("check", "--fix", "--yes", "--json")[1])
    assert report["ok"] and report["rebuilt"] and not os.path.exists(orphan)
    assert run("check")[0] == EXIT_OK
    [doc] = [os.path.join(folder, "models", d, "model.json") for d in os.listdir(os.path.join(folder, "models"))][:1]
    forged = json.loads(Path(doc).read_text())
    forged["description"] = "forged"
    Path(doc).write_text(json.dumps(forged))
    code, out, _ = run("check")
    assert code == EXIT_CHECK_FAILED and "PROBLEM: document_mismatch" in out and "description" in out


def test_demo_command(run: Run, folder: str) -> None:
    code, out, _ = run("demo")
    assert code == EXIT_OK
    assert "registry serve models:/demo-fraud@champion" in out
    assert Registry(folder).get_model_version_by_alias("demo-fraud", "champion").version == 2


def test_python_dash_m_and_version(folder: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "registry", "models", "create", "m", "--registry", folder],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "Created model 'm'.")
    done = subprocess.run(
        [sys.executable, "-m", "registry", "models", "show", "x", "--registry", folder],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_NOT_FOUND and done.stderr.startswith("error: ")
    done = subprocess.run([sys.executable, "-m", "registry", "--version"], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("registry ")


def test_serve_command_serves_until_interrupted(fraud: Registry, folder: str) -> None:
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # MLflow's short spellings: -p PORT, -h HOST
    cmd = [sys.executable, "-m", "registry", "serve", "models:/fraud@champion", "-p", str(port), "-h", "127.0.0.1"]
    with subprocess.Popen([*cmd, "--registry", folder], stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            assert "version 2" in proc.stderr.readline()
            deadline = time.monotonic() + 10
            body: Any = None
            while body is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=5) as resp:
                        body = json.loads(resp.read())
                except OSError:
                    time.sleep(0.05)
            assert body is not None and body["version"] == 2
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=5) as resp:
                assert resp.read().decode() == registry.__version__  # a plain string, as MLflow's server
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == EXIT_OK


def test_events_filters(run: Run, fraud: Registry) -> None:
    created = json.loads(run("events", "--type", "model_version.created", "--json")[1])["items"]
    assert [e["data"]["version"] for e in created] == [1, 2]
    assert json.loads(run("events", "--model", "nobody", "--json")[1]) == {"items": [], "next_page_token": None}


def test_webhooks_and_triggers(run: Run, fraud: Registry, tmp_path: Path) -> None:
    import http.server
    import threading

    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        hook = json.loads(
            run("webhooks", "create", "ci", url, "--event", "model_version.created", "--secret", "s", "--json")[1]
        )
        assert hook["has_secret"] is True and "secret" not in hook and hook["url"] == url
        hook_id = hook["webhook_id"]
        assert hook_id in run("webhooks", "list")[1]
        shown = run("webhooks", "show", hook_id)[1]
        assert "has_secret:" in shown and "s\n" not in shown
        code, out, _ = run("webhooks", "test", hook_id)
        assert code == EXIT_OK and "success:" in out and len(received) == 1
        updated = json.loads(run("webhooks", "update", hook_id, "--status", "DISABLED", "--json")[1])
        assert updated["status"] == "DISABLED"
        assert run("webhooks", "update", hook_id, "--status", "ACTIVE")[0] == EXIT_OK
        fraud.create_model_version("fraud", "s3://bucket/v3")
        assert run("webhooks", "deliver", "--wait", "--timeout", "10")[0] == EXIT_OK
        assert any(b'"model_version"' in body for body in received[1:])
        log = json.loads(run("webhooks", "deliveries", hook_id, "--json")[1])["items"]
        assert [d["status"] for d in log] == ["delivered"]
        assert run("webhooks", "delete", hook_id, "--yes")[0] == EXIT_OK
        assert run("webhooks", "show", hook_id)[0] == EXIT_NOT_FOUND
    finally:
        server.shutdown()
        server.server_close()
    out_file = tmp_path / "event.json"
    code = f"import sys, pathlib; pathlib.Path({str(out_file)!r}).write_text(sys.stdin.read())"
    trigger = json.loads(
        run("triggers", "create", "t", "--event", "model_version.created", "--json", "--", sys.executable, "-c", code)[
            1
        ]
    )
    assert trigger["command"] == [sys.executable, "-c", code]
    assert trigger["trigger_id"] in run("triggers", "list")[1]
    assert "command:" in run("triggers", "show", trigger["trigger_id"])[1]
    fraud.create_model_version("fraud", "s3://bucket/v4")
    run("webhooks", "deliver", "--wait", "--timeout", "10")
    assert json.loads(out_file.read_text())["data"]["version"] == 4
    assert run("triggers", "delete", trigger["trigger_id"], "--yes")[0] == EXIT_OK
    assert run("triggers", "list")[1].strip() == "(no triggers)"


def test_versions_register_refuses_a_typo_and_says_when_it_copies_nothing(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("versions", "register", "m", "./typo_dir")
    assert code == EXIT_NOT_FOUND, (out, err)
    assert "typo_dir" in err and "does not exist" in err
    code, out, _ = run("--json", "versions", "list", "m")
    assert code != EXIT_OK or json.loads(out)["items"] == []
    code, out, err = run("versions", "register", "m", "s3://bucket/model")
    assert code == EXIT_OK, err
    assert "recorded 's3://bucket/model' as given; no files were copied" in out
    (tmp_path / "a-file").write_text("not a folder")
    code, out, err = run("versions", "register", "m", "a-file")
    assert code == EXIT_INVALID and "not a folder" in err
