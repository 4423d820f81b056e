"""A registry with a few realistic models, and the UI server on it (port 0, 127.0.0.1), for the UI's tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import Registry, infer_signature
from registry.pyfunc import PythonModel
from registry.ui import UIServer

FRAUD_DESCRIPTION = """Scores card transactions for fraud in **real time**.

- trained on 18 months of labelled transactions
- features: `amount` (log-scaled), `country` risk, merchant category

See the [model card](https://example.com/cards/fraud) before promoting.
"""


class Scorer(PythonModel):
    """Returns a constant score per row (these tests never predict; the files only need to exist)."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return [0.5 for _ in model_input]


class FixedClock:
    """Minutes apart from a fixed start, so pages (and screenshots) show the same times on every run."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> int:
        return 1_764_590_400_000 + next(self._ticks) * 60_000  # 2025-12-01 12:00 UTC


def _log(reg: Registry, name: str, rows: list[dict[str, Any]], **kwargs: Any) -> int:
    return reg.log_model(
        Scorer(), registered_model_name=name, input_example=rows, signature=infer_signature(rows, [0.5]), **kwargs
    ).version


def populate(reg: Registry, tmp: Path) -> None:
    """Three models: fraud-detector (3 versions in three stages, aliases), churn-predictor, search-ranker."""
    reg.create_registered_model("fraud-detector", tags={"team": "risk", "owner": "ana"}, description=FRAUD_DESCRIPTION)
    base_rows = [{"amount": 12.5, "country": "DE"}, {"amount": 980.0, "country": "BR"}]
    v1 = _log(reg, "fraud-detector", base_rows, tags={"auc": "0.81"}, description="Baseline: amount and country.")
    rows = [{**r, "merchant": "grocery"} for r in base_rows]
    v2 = _log(
        reg,
        "fraud-detector",
        rows,
        tags={"auc": "0.88", "validation": "passed"},
        description="Adds the merchant category; *lower* threshold.",
    )
    v3 = _log(reg, "fraud-detector", rows, tags={"auc": "0.86"}, description="Experimental: wider features.")
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
    c1 = _log(reg, "churn-predictor", churn_rows, tags={"auc": "0.74"})
    c2 = _log(reg, "churn-predictor", churn_rows, tags={"auc": "0.79"})
    for stage in ("Staging", "Production"):
        reg.transition_model_version_stage("churn-predictor", c2, stage)
    reg.transition_model_version_stage("churn-predictor", c1, "Archived")
    reg.set_registered_model_alias("churn-predictor", "prod", c2)

    folder = tmp / "ranker-src"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00" * 2048)
    reg.create_registered_model("search-ranker")
    reg.create_model_version("search-ranker", str(folder), run_id="9f1c2e7a4b5d4c3e8a1b2c3d4e5f6a7b")


@pytest.fixture
def ui_registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(str(tmp_path / "registry"), clock=FixedClock(), user="ana")
    populate(reg, tmp_path)
    yield reg
    reg.close()


@pytest.fixture
def ui_server(ui_registry: Registry) -> Iterator[UIServer]:
    server = UIServer(ui_registry, port=0, poll_interval=0.05).start()
    yield server
    server.shutdown()
