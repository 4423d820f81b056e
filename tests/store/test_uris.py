"""URIs MLflow accepts that this library cannot serve: a clear refusal saying what to use, and no folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import registry
from registry import InvalidParameterValue, MlflowClient, Registry
from registry.cli import main

CASES = [
    ("databricks", "Databricks workspace"),
    ("databricks-uc", "Databricks workspace"),
    ("databricks://my-profile", "Databricks workspace"),
    ("uc:databricks-uc", "Databricks workspace"),
    ("sqlite:///mlflow.db", "registry import-mlflow sqlite:///mlflow.db"),
    ("postgresql://me@db.example/mlflow", "through the MLflow server"),
    ("mysql+pymysql://me@db.example/mlflow", "MLflow database"),
    ("http://127.0.0.1:5000", "registry push --to http://127.0.0.1:5000"),
    ("https://mlflow.example", "MLflow tracking server"),
]


@pytest.mark.parametrize(("uri", "says"), CASES)
def test_unservable_uris_say_what_to_use_and_create_nothing(
    uri: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for attempt in (
        lambda: Registry(uri),
        lambda: MlflowClient(tracking_uri=uri),
        lambda: MlflowClient(registry_uri=uri),
    ):
        with pytest.raises(InvalidParameterValue) as info:
            attempt()
        assert says in str(info.value) and "Use a folder path" in str(info.value)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    monkeypatch.setenv("REGISTRY_URI", uri)
    with pytest.raises(InvalidParameterValue, match="Use a folder path"):
        Registry()
    monkeypatch.delenv("REGISTRY_URI")
    registry.set_registry_uri(uri)
    try:
        with pytest.raises(InvalidParameterValue, match="Use a folder path"):
            registry.pyfunc.load_model("models:/m/1")
    finally:
        registry.set_registry_uri(None)
    assert os.listdir(tmp_path) == []  # never a folder named after the URI


def test_the_cli_refuses_them_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["--registry", "databricks", "models", "list"], ["--registry", "databricks", "demo"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: Unsupported registry URI 'databricks'") and "Use a folder path" in err
    assert os.listdir(tmp_path) == []


def test_a_folder_that_happens_to_be_named_so_still_opens_by_path(tmp_path: Path) -> None:
    with Registry(str(tmp_path / "databricks")) as reg:  # only the bare word is MLflow's workspace URI
        assert reg.uri == str(tmp_path / "databricks")
