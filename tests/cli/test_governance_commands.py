"""``registry requests ...``, ``registry comments ...`` and ``registry rollback`` through ``main(argv)``; the
actor is ``$REGISTRY_USER``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry import LIFECYCLE, Registry
from registry.cli import main
from registry.cli.context import EXIT_CONFLICT, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def root(tmp_path: Path) -> str:
    path = str(tmp_path / "r")
    with Registry(path, user="alice", policy=LIFECYCLE.with_approval("Production")) as reg:
        reg.create_registered_model("fraud")
        for _ in range(2):
            reg.create_model_version("fraud", "s3://bucket/fraud")
        for n in (1, 2):
            reg.transition_model_version_stage("fraud", n, "Staging")
    return path


def test_request_approve_and_list(
    root: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USER", "alice")
    code, _, err = cli(capsys, "transition", "fraud", "1", "Production", "--registry", root)
    assert code == EXIT_CONFLICT and "request must be approved" in err
    code, out, _ = cli(
        capsys, "requests", "create", "fraud", "1", "Production", "--comment", "AUC up", "--registry", root
    )
    assert code == EXIT_OK and "Requested Production for 'fraud' version 1" in out
    code, out, _ = cli(capsys, "requests", "list", "fraud", "1", "--registry", root)
    assert code == EXIT_OK and "alice" in out and "pending" in out
    code, _, err = cli(capsys, "requests", "approve", "fraud", "1", "Production", "--registry", root)
    assert code == EXIT_CONFLICT and "someone other than the requester" in err
    monkeypatch.setenv("REGISTRY_USER", "bob")
    code, out, _ = cli(capsys, "requests", "approve", "fraud", "1", "Production", "--registry", root)
    assert code == EXIT_OK and "is now in Production" in out
    code, out, _ = cli(capsys, "--json", "requests", "list", "fraud", "1", "--all", "--registry", root)
    [request] = json.loads(out)["items"]
    assert (request["status"], request["user_id"], request["resolved_by"]) == ("approved", "alice", "bob")
    code, out, _ = cli(capsys, "history", "fraud", "1", "--registry", root)
    assert "request for Production approved" in out and "bob" in out


def test_reject_and_delete(root: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_USER", "alice")
    assert cli(capsys, "requests", "create", "fraud", "2", "Production", "--registry", root)[0] == EXIT_OK
    code, out, _ = cli(capsys, "requests", "reject", "fraud", "2", "Production", "--comment", "no", "--registry", root)
    assert code == EXIT_OK and "Rejected request" in out
    assert cli(capsys, "requests", "reject", "fraud", "2", "Production", "--registry", root)[0] == EXIT_NOT_FOUND
    assert cli(capsys, "requests", "create", "fraud", "2", "Production", "--registry", root)[0] == EXIT_OK
    code, out, _ = cli(capsys, "requests", "delete", "fraud", "2", "Production", "--registry", root)
    assert code == EXIT_OK and "Withdrew alice's request" in out
    assert cli(capsys, "requests", "list", "fraud", "2", "--registry", root)[1].strip() == "(no pending requests)"
    assert cli(capsys, "requests", "create", "fraud", "2", "Nowhere", "--registry", root)[0] == EXIT_INVALID


def test_comments(root: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_USER", "carol")
    code, out, _ = cli(capsys, "--json", "comments", "add", "fraud", "1", "looks calibrated", "--registry", root)
    comment = json.loads(out)
    assert code == EXIT_OK and comment["user_id"] == "carol"
    assert cli(capsys, "comments", "edit", comment["id"], "well calibrated", "--registry", root)[0] == EXIT_OK
    code, out, _ = cli(capsys, "comments", "list", "fraud", "1", "--registry", root)
    assert "carol" in out and "well calibrated" in out
    monkeypatch.setenv("REGISTRY_USER", "dave")
    code, _, err = cli(capsys, "comments", "delete", comment["id"], "--registry", root)
    assert code == EXIT_INVALID and "Only the author" in err
    monkeypatch.setenv("REGISTRY_USER", "carol")
    assert cli(capsys, "comments", "delete", comment["id"], "--registry", root)[0] == EXIT_OK
    assert cli(capsys, "comments", "list", "fraud", "1", "--registry", root)[1].strip() == "(no comments)"


def test_rollback_stage_and_alias(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Registry(root, user="alice") as reg:
        reg.set_stage_policy("lifecycle")
        reg.transition_model_version_stage("fraud", 1, "Production")
        reg.transition_model_version_stage("fraud", 2, "Production", archive_existing_versions=True)
        reg.set_registered_model_alias("fraud", "champion", 1)
        reg.set_registered_model_alias("fraud", "champion", 2)
    code, out, _ = cli(capsys, "rollback", "fraud", "--stage", "Production", "--reason", "bad", "--registry", root)
    assert code == EXIT_OK and "version 1 restored" in out
    code, out, _ = cli(capsys, "rollback", "fraud", "--alias", "champion", "--registry", root)
    assert code == EXIT_OK and "@champion of 'fraud': version 2 -> 1." in out
    code, out, _ = cli(capsys, "alias", "rollback", "fraud", "champion", "--registry", root)  # still works
    assert code == EXIT_OK and "version 1 -> 2." in out
    assert main(["rollback", "fraud", "--registry", root]) == 2  # one of --stage or --alias is required
    assert "one of the arguments --stage --alias is required" in capsys.readouterr().err
    with Registry(root, read_only=True) as reg:
        assert reg.get_latest_versions("fraud", ["Production"])[0].version == 1
        assert reg.verify_history().ok
