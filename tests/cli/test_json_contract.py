"""The ``--json`` contract: every command, run against a real registry, prints what ``docs/cli-schema.json``
says it prints (validated with ``jsonschema``), and every error with ``--json`` is ``{"error_code", "message"}``
on stderr with the usual exit status."""

from __future__ import annotations

import http.server
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import Registry
from registry.cli import build_parser, main
from registry.cli.context import EXIT_CHECK_FAILED, EXIT_CONFLICT, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK
from registry.cli.demo import FraudModel

jsonschema = pytest.importorskip("jsonschema", reason="the test extra's jsonschema validates the CLI's JSON")

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "cli-schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())

# Commands whose success output cannot be produced here, and why (their errors are still validated below).
NOT_RUN = {"push": "needs a running MLflow server (its error output is validated)"}


def leaf_commands(parser: Any = None, prefix: str = "") -> list[str]:
    import argparse

    parser = parser or build_parser()
    found: list[str] = []
    for action in parser._actions:  # argparse keeps its subcommands here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                children = leaf_commands(sub, path)
                found.extend(children or [path])
    return found


def validate(data: Any, ref: str) -> None:
    """Validate ``data`` against ``#/$defs/<ref>`` (or a command's entry) of the schema, references resolved
    within the one document."""
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": ref}).validate(data)


def _ref(command: str) -> str:
    return f"#/properties/commands/properties/{command.replace('/', '~1')}"


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _mlflow_db(path: Path) -> str:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE registered_models (name TEXT, creation_time INT, last_updated_time INT, description TEXT)"
    )
    con.execute(
        "CREATE TABLE model_versions (name TEXT, version INT, creation_time INT, last_updated_time INT, "
        "description TEXT, user_id TEXT, current_stage TEXT, source TEXT, run_id TEXT, status TEXT, "
        "status_message TEXT, run_link TEXT)"
    )
    con.execute("INSERT INTO registered_models VALUES ('churn', 1, 2, 'd')")
    con.execute(
        "INSERT INTO model_versions VALUES "
        "('churn', 2, 3, 4, NULL, NULL, 'Staging', 's3://x', 'r', 'READY', NULL, NULL)"
    )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


Step = tuple[str, list[str], int]


def scenario(tmp_path: Path, model_dir: Callable[..., str], hook_url: str) -> Iterator[Step]:
    """(command, argv, expected exit status) for every command, in an order where each finds what it needs.
    Yields run one by one, so a step may use what an earlier one printed (``outputs``)."""
    root = str(tmp_path / "reg")
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"bias": -6.0, "amount": 0.8, "country": 1.5, "threshold": 0.8}))
    with Registry(root) as reg:
        reg.log_model(
            FraudModel(),
            registered_model_name="fraud",
            artifacts={"weights": str(weights)},
            input_example=[{"amount": 1.0, "country": "DE"}],
        )
    r = ["--registry", root]
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"dataframe_records": [{"amount": 980.0, "country": "BR"}]}))
    yield "models create", ["models", "create", "churn", "--description", "d", "--tag", "team=risk", *r], EXIT_OK
    yield "models list", ["models", "list", *r], EXIT_OK
    yield "models show", ["models", "show", "fraud", *r], EXIT_OK
    yield "models describe", ["models", "describe", "churn", "new words", *r], EXIT_OK
    yield "models tag", ["models", "tag", "churn", "owner", "ana", *r], EXIT_OK
    yield "models untag", ["models", "untag", "churn", "owner", *r], EXIT_OK
    yield "models rename", ["models", "rename", "churn", "churn2", *r], EXIT_OK
    yield "versions register", ["versions", "register", "fraud", model_dir(), "--run-id", "r1", *r], EXIT_OK
    yield "versions register", ["versions", "register", "fraud", "s3://bucket/m", *r], EXIT_OK
    yield "versions list", ["versions", "list", "fraud", *r], EXIT_OK
    yield "versions show", ["versions", "show", "fraud", "2", *r], EXIT_OK
    yield "versions describe", ["versions", "describe", "fraud", "2", "better", *r], EXIT_OK
    yield "versions tag", ["versions", "tag", "fraud", "2", "validated", "true", *r], EXIT_OK
    yield "versions untag", ["versions", "untag", "fraud", "2", "validated", *r], EXIT_OK
    yield "versions download-uri", ["versions", "download-uri", "fraud", "2", *r], EXIT_OK
    yield "transition", ["transition", "fraud", "1", "Staging", *r], EXIT_OK
    yield "transition", ["transition", "fraud", "2", "Staging", "--archive-existing", *r], EXIT_OK
    yield "alias set", ["alias", "set", "fraud", "champion", "1", *r], EXIT_OK
    yield "alias set", ["alias", "set", "fraud", "champion", "2", *r], EXIT_OK
    yield "alias show", ["alias", "show", "fraud", "champion", *r], EXIT_OK
    yield "alias show", ["alias", "show", "fraud", *r], EXIT_OK
    yield "alias show", ["alias", "show", "fraud", "champion", "--at", "2100-01-01T00:00Z", *r], EXIT_OK
    yield "alias rollback", ["alias", "rollback", "fraud", "champion", *r], EXIT_OK
    yield "alias set", ["alias", "set", "fraud", "shadow", "2", *r], EXIT_OK
    yield "alias delete", ["alias", "delete", "fraud", "shadow", *r], EXIT_OK
    yield "rollback", ["rollback", "fraud", "--alias", "champion", "--reason", "test", *r], EXIT_OK
    yield "requests create", ["requests", "create", "fraud", "2", "Production", "--comment", "c", *r], EXIT_OK
    yield "requests list", ["requests", "list", "fraud", "2", *r], EXIT_OK
    yield "requests delete", ["requests", "delete", "fraud", "2", "Production", *r], EXIT_OK
    yield "requests create", ["requests", "create", "fraud", "2", "Production", *r], EXIT_OK
    yield "requests reject", ["requests", "reject", "fraud", "2", "Production", "--comment", "no", *r], EXIT_OK
    yield "requests create", ["requests", "create", "fraud", "2", "Production", *r], EXIT_OK
    yield "requests approve", ["requests", "approve", "fraud", "2", "Production", *r], EXIT_OK
    yield "comments add", ["comments", "add", "fraud", "2", "looks good", *r], EXIT_OK
    yield "comments list", ["comments", "list", "fraud", "2", *r], EXIT_OK
    yield "comments edit", ["comments", "edit", "{comment}", "looks great", *r], EXIT_OK
    yield "comments delete", ["comments", "delete", "{comment}", *r], EXIT_OK
    yield "policy show", ["policy", "show", *r], EXIT_OK
    yield "policy set", ["policy", "set", "mlflow", *r], EXIT_OK
    yield "search models", ["search", "models", "--max-results", "1", *r], EXIT_OK
    yield "search versions", ["search", "versions", "--filter", "name = 'fraud'", *r], EXIT_OK
    yield "load-predict", ["load-predict", "models:/fraud/1", "--input", str(rows), *r], EXIT_OK
    yield "export", ["export", "models:/fraud/2", str(tmp_path / "exported"), *r], EXIT_OK
    yield "history", ["history", "fraud", "2", *r], EXIT_OK
    yield "events", ["events", "--since", "3", "--limit", "5", *r], EXIT_OK
    yield "check", ["check", *r], EXIT_OK
    yield "check", ["check", "--fix", "--yes", *r], EXIT_OK
    yield "webhooks create", ["webhooks", "create", "ci", hook_url, "--event", "model_version.created", *r], EXIT_OK
    yield "webhooks list", ["webhooks", "list", *r], EXIT_OK
    yield "webhooks show", ["webhooks", "show", "{webhook}", *r], EXIT_OK
    yield "webhooks update", ["webhooks", "update", "{webhook}", "--secret", "s", *r], EXIT_OK
    yield "webhooks test", ["webhooks", "test", "{webhook}", *r], EXIT_OK
    yield "versions register", ["versions", "register", "fraud", "s3://bucket/m4", *r], EXIT_OK
    yield "webhooks deliver", ["webhooks", "deliver", "--wait", "--timeout", "10", *r], EXIT_OK
    yield "webhooks deliveries", ["webhooks", "deliveries", "{webhook}", *r], EXIT_OK
    yield "webhooks delete", ["webhooks", "delete", "{webhook}", "--yes", *r], EXIT_OK
    command = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    yield "triggers create", ["triggers", "create", "t", "--event", "model_version.created", *r, "--", *command], 0
    yield "triggers list", ["triggers", "list", *r], EXIT_OK
    yield "triggers show", ["triggers", "show", "{trigger}", *r], EXIT_OK
    yield "triggers delete", ["triggers", "delete", "{trigger}", "--yes", *r], EXIT_OK
    bundle = str(tmp_path / "b.tar")
    yield "bundle create", ["bundle", "create", bundle, "--model", "fraud@champion", *r], EXIT_OK
    other = ["--registry", str(tmp_path / "other")]
    yield "bundle import", ["bundle", "import", bundle, *other], EXIT_OK
    yield "import-mlflow", ["import-mlflow", _mlflow_db(tmp_path / "mlflow.db"), *other], EXIT_OK
    replica = str(tmp_path / "replica")
    yield "sync", ["sync", root, replica, "--model", "fraud"], EXIT_OK
    yield "sync", ["sync", "--detach", replica], EXIT_OK
    yield "demo", ["demo", "--registry", str(tmp_path / "demo")], EXIT_OK
    yield "versions delete", ["versions", "delete", "fraud", "3", "--yes", *r], EXIT_OK
    yield "models delete", ["models", "delete", "churn2", "--yes", *r], EXIT_OK
    # errors: each with its exit status, JSON on stderr
    yield "models show", ["models", "show", "nope", *r], EXIT_NOT_FOUND
    yield "models create", ["models", "create", "fraud", *r], EXIT_CONFLICT
    yield "versions show", ["versions", "show", "fraud", "x", *r], EXIT_INVALID
    yield "search models", ["search", "models", "--max-results", "0", *r], EXIT_INVALID
    yield "models delete", ["models", "delete", "fraud", *r], EXIT_INVALID  # no terminal, no --yes
    yield "models create", ["models", "create", *r], EXIT_INVALID  # a usage error
    yield "push", ["push", "--to", "http://127.0.0.1:9", "--timeout", "2", *r], 1
    yield "check", ["check", "--registry", str(tmp_path / "nowhere")], EXIT_NOT_FOUND


def run_scenario(
    tmp_path: Path, model_dir: Callable[..., str], hook_url: str, capsys: pytest.CaptureFixture[str]
) -> list[tuple[str, list[str], int, str, str]]:
    ids: dict[str, str] = {}
    results = []
    for command, argv, expected in scenario(tmp_path, model_dir, hook_url):
        argv = [a.format(**ids) if a.startswith("{") else a for a in argv]
        code = main(["--json", *argv])
        out, err = capsys.readouterr()
        assert code == expected, (argv, out, err)
        if code == EXIT_OK:
            data = json.loads(out)
            for key, field in (("comment", "id"), ("webhook", "webhook_id"), ("trigger", "trigger_id")):
                if isinstance(data, dict) and field in data and command.split()[-1] in ("add", "create"):
                    ids[key] = data[field]
        results.append((command, argv, code, out, err))
    return results


def test_every_command_is_in_the_schema() -> None:
    commands = SCHEMA["properties"]["commands"]["properties"]
    assert sorted(commands) == sorted(leaf_commands())


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_command_prints_what_the_schema_says(
    tmp_path: Path, model_dir: Callable[..., str], hook_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    results = run_scenario(tmp_path, model_dir, hook_url, capsys)
    succeeded = set()
    for command, argv, code, out, err in results:
        if code in (EXIT_OK, EXIT_CHECK_FAILED):
            validate(json.loads(out), _ref(command))
            succeeded.add(command)
        else:
            assert out == "", argv
            assert err.count("\n") == 1, (argv, err)  # one line of JSON, nothing else
            validate(json.loads(err), "#/$defs/error")
    no_json = {c for c, s in SCHEMA["properties"]["commands"]["properties"].items() if s.get("x-no-json")}
    missing = set(leaf_commands()) - succeeded - no_json - set(NOT_RUN)
    assert not missing, f"commands the scenario does not run: {sorted(missing)}"


def test_the_validator_rejects_what_the_contract_forbids() -> None:
    # The schema is strict enough to catch the inconsistencies: a string version, a bare list for a
    # listing, a tag command printing only the tag.
    bad = [
        ({"name": "m", "version": "4", "download_uri": "/x"}, "versions download-uri"),
        ([{"name": "m"}], "models list"),
        ({"name": "m", "key": "k", "value": "v"}, "models tag"),
        ({"error": "boom"}, None),
    ]
    for data, command in bad:
        with pytest.raises(jsonschema.ValidationError):
            validate(data, _ref(command) if command else "#/$defs/error")


def test_commands_without_json_say_why() -> None:
    for name, entry in SCHEMA["properties"]["commands"]["properties"].items():
        if entry.get("x-no-json"):
            assert len(entry["x-no-json"].split()) >= 3, name
