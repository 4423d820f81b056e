"""``registry demo``: runs on a fresh folder, runs again, and leaves a registry the CLI can explore."""

from __future__ import annotations

import io
import json
from pathlib import Path

from registry import Registry
from registry.cli.demo import SAMPLE_ROWS, run_demo
from registry.cli.output import Output


def test_demo_twice(tmp_path: Path) -> None:
    folder = str(tmp_path / "mlregistry")
    out = io.StringIO()
    first = run_demo(Registry(folder), Output(stream=out))
    assert [mv.version for mv in first.registered] == [1, 2]
    assert (first.champion.version, first.previous_champion) == (2, None)
    assert first.champion.current_stage == "Production"
    assert [set(p) for p in first.predictions] == [{"score", "flagged"}] * len(SAMPLE_ROWS)
    text = out.getvalue()
    assert "Pointed @champion at version 2" in text and "registry history demo-fraud" in text
    assert f"--registry {folder}" in text  # not the default registry, so the hints name it

    second = run_demo(Registry(folder), Output(stream=io.StringIO()))
    assert [mv.version for mv in second.registered] == [3, 4]
    assert (second.champion.version, second.previous_champion) == (4, 2)
    reg = Registry(folder)
    stages = {mv.version: mv.current_stage.value for mv in reg.list_model_versions("demo-fraud")}
    assert stages == {1: "None", 2: "Archived", 3: "None", 4: "Production"}
    assert reg.get_model_version_by_alias("demo-fraud", "champion").version == 4
    assert reg.stage_policy.name == "mlflow"  # created implicitly: MLflow's policy
    assert reg.load_model("models:/demo-fraud@champion").predict(SAMPLE_ROWS) == second.predictions
    assert reg.check().ok


def test_demo_json(tmp_path: Path) -> None:
    out = io.StringIO()
    run_demo(Registry(str(tmp_path / "r")), Output(json_mode=True, stream=out), name="other")
    doc = json.loads(out.getvalue())
    assert (doc["name"], doc["champion"], doc["champion_uri"]) == ("other", 2, "models:/other@champion")
    assert len(doc["predictions"]) == len(doc["rows"]) == len(SAMPLE_ROWS)


def test_the_model_scores_risky_rows_higher(tmp_path: Path) -> None:
    result = run_demo(Registry(str(tmp_path / "r")), Output(stream=io.StringIO()))
    scores = [p["score"] for p in result.predictions]
    assert scores[0] < scores[1]  # a small German payment is less risky than a large Brazilian one
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert [p["flagged"] for p in result.predictions] == [s >= 0.65 for s in scores]
