"""The UI tests' sample registry: a few realistic models whose files, times and ids are the same on every run."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry import MLmodel, Registry, infer_signature

FRAUD_DESCRIPTION = """Scores card transactions for fraud in **real time**.

- trained on 18 months of labelled transactions
- features: `amount` (log-scaled), `country` risk, merchant category

See the [model card](https://example.com/cards/fraud) before promoting.
"""


class FixedClock:
    """Minutes apart from a fixed start, so pages (and screenshots) show the same times on every run."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> int:
        return 1_764_590_400_000 + next(self._ticks) * 60_000  # 2025-12-01 12:00 UTC


def counting_ids() -> Callable[[], str]:
    """Model ids 1, 2, 3...: the versions' folders (shown on the version page) are the same on every run."""
    counter = itertools.count(1)
    return lambda: f"m{next(counter)}"


def model_folder(tmp: Path, label: str, rows: list[dict[str, Any]], weights: bytes) -> str:
    """A model directory as log_model writes it (MLmodel with a signature, input examples, environment, a
    pickle), but with fixed contents, so its digest and files are the same on every run."""
    folder = tmp / f"model-{label}"
    folder.mkdir()
    (folder / "python_model.pkl").write_bytes(weights)
    (folder / "requirements.txt").write_text("mlregistry\ncloudpickle==3.1.0\n")
    (folder / "input_example.json").write_text(json.dumps(rows))
    (folder / "serving_input_example.json").write_text(json.dumps({"inputs": rows}, indent=2))
    mlmodel = MLmodel(
        flavors={
            "python_function": {
                "loader_module": "mlflow.pyfunc.model",
                "python_model": "python_model.pkl",
                "python_version": "3.11.7",
            }
        },
        model_uuid=hashlib.sha256(label.encode()).hexdigest()[:32],
        utc_time_created="2025-12-01 11:58:00.000000",
        signature=infer_signature(rows, [0.5]),
        saved_input_example_info={
            "artifact_path": "input_example.json",
            "serving_input_path": "serving_input_example.json",
            "type": "json_object",
        },
    )
    (folder / "MLmodel").write_text(mlmodel.to_yaml())
    return str(folder)


def _version(reg: Registry, tmp: Path, name: str, rows: list[dict[str, Any]], **kwargs: Any) -> int:
    number = len(reg.list_model_versions(name)) + 1 if name in {m.name for m in reg.list_registered_models()} else 1
    label = f"{name}-{number}"
    folder = model_folder(tmp, label, rows, f"weights of {label}".encode())
    return reg.create_model_version(name, folder, **kwargs).version


def populate(reg: Registry, tmp: Path) -> None:
    """Three models: fraud-detector (3 versions in three stages, aliases), churn-predictor, search-ranker."""
    reg.create_registered_model("fraud-detector", tags={"team": "risk", "owner": "ana"}, description=FRAUD_DESCRIPTION)
    base_rows = [{"amount": 12.5, "country": "DE"}, {"amount": 980.0, "country": "BR"}]
    v1 = _version(
        reg, tmp, "fraud-detector", base_rows, tags={"auc": "0.81"}, description="Baseline: amount and country."
    )
    rows = [{**r, "merchant": "grocery"} for r in base_rows]
    v2 = _version(
        reg,
        tmp,
        "fraud-detector",
        rows,
        tags={"auc": "0.88", "validation": "passed"},
        description="Adds the merchant category; *lower* threshold.",
    )
    v3 = _version(reg, tmp, "fraud-detector", rows, tags={"auc": "0.86"}, description="Experimental: wider features.")
    reg.transition_model_version_stage("fraud-detector", v1, "Staging")
    reg.transition_model_version_stage("fraud-detector", v1, "Production")
    reg.transition_model_version_stage("fraud-detector", v2, "Staging")
    reg.set_registered_model_alias("fraud-detector", "champion", v1)
    reg.set_registered_model_alias("fraud-detector", "challenger", v2)
    assert v3 == 3

    reg.create_registered_model(
        "churn-predictor", tags={"team": "growth"}, description="Which customers cancel within 30 days."
    )
    churn_rows = [{"tenure_months": 4, "plan": "basic", "tickets": 3}]
    runs = ("4e1a9c0d2b7f4a5e9c3d1b2a6f8e0d4c", "b3d2e1f0a9c84b7d8e6f5a4c3b2a1908")
    c1 = _version(reg, tmp, "churn-predictor", churn_rows, tags={"auc": "0.74"}, run_id=runs[0])
    c2 = _version(reg, tmp, "churn-predictor", churn_rows, tags={"auc": "0.79"}, run_id=runs[1])
    for stage in ("Staging", "Production"):
        reg.transition_model_version_stage("churn-predictor", c2, stage)
    reg.transition_model_version_stage("churn-predictor", c1, "Archived")
    reg.set_registered_model_alias("churn-predictor", "prod", c2)

    folder = tmp / "ranker-src"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00" * 2048)
    reg.create_registered_model("search-ranker")
    reg.create_model_version("search-ranker", str(folder), run_id="9f1c2e7a4b5d4c3e8a1b2c3d4e5f6a7b")
