"""``registry bundle create/import``, ``registry import-mlflow`` and ``registry push`` through ``main(argv)``."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from registry import Registry
from registry.cli import main
from registry.cli.context import EXIT_CONFLICT, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def source(tmp_path: Path) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    path = str(tmp_path / "src")
    with Registry(path) as reg:
        reg.create_registered_model("fraud")
        reg.create_model_version("fraud", str(folder))
        reg.create_model_version("fraud", "s3://bucket/2")
        reg.set_registered_model_alias("fraud", "champion", 1)
    return path


def test_bundle_create_and_import(source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = str(tmp_path / "b.tar")
    code, out, _ = cli(capsys, "bundle", "create", bundle, "--model", "fraud@champion", "--registry", source)
    assert code == EXIT_OK and "Wrote 1 model(s), 1 version(s)" in out
    dest = str(tmp_path / "dest")
    code, out, _ = cli(capsys, "bundle", "import", bundle, "--registry", dest)
    assert code == EXIT_OK and "new versions:   fraud/1" in out
    code, out, _ = cli(capsys, "--json", "bundle", "import", bundle, "--registry", dest)
    assert code == EXIT_OK and json.loads(out)["existing_versions"] == [["fraud", 1]]
    with Registry(dest) as reg:
        assert reg.get_model_version_by_alias("fraud", "champion").version == 1


def test_bundle_import_conflicts_and_damage_exit_with_a_line(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "b.tar"
    assert cli(capsys, "bundle", "create", str(bundle), "--registry", source)[0] == EXIT_OK
    dest = str(tmp_path / "dest")
    with Registry(dest) as reg:
        reg.create_registered_model("fraud")
        reg.create_model_version("fraud", "s3://other")
    code, _, err = cli(capsys, "bundle", "import", str(bundle), "--registry", dest)
    assert code == EXIT_CONFLICT and err.startswith("error: The import would overwrite")
    raw = bytearray(bundle.read_bytes())
    with tarfile.open(bundle) as tar:  # a byte of the index's contents (not of the tar's zero padding)
        index = tar.getmembers()[0]
    raw[index.offset_data + index.size // 3] ^= 0xFF
    bundle.write_bytes(bytes(raw))
    code, _, err = cli(capsys, "bundle", "import", str(bundle), "--registry", str(tmp_path / "fresh"))
    assert code == EXIT_ERROR and "is not a sound bundle" in err and "Traceback" not in err
    code, _, err = cli(capsys, "bundle", "create", str(bundle), "--model", "nope", "--registry", source)
    assert code == EXIT_NOT_FOUND


def test_import_mlflow_and_push_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "mlflow.db"
    con = sqlite3.connect(db)
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
    dest = str(tmp_path / "dest")
    code, out, _ = cli(capsys, "import-mlflow", f"sqlite:///{db}", "--registry", dest)
    assert code == EXIT_OK and "new versions:   churn/2" in out
    code, out, _ = cli(capsys, "import-mlflow", f"sqlite:///{db}", "--registry", dest)
    assert code == EXIT_OK and "Nothing to import" in out
    code, _, err = cli(capsys, "push", "--to", "http://127.0.0.1:9", "--registry", dest)
    assert code == EXIT_ERROR and "Cannot reach the MLflow server" in err
