"""``registry demo``: the whole life of a model in a few seconds, with nothing but this package.

It logs a small fraud-scoring `PythonModel` whose preprocessing (log-scaling amounts,
mapping countries to risk weights) lives in the model and whose weights travel as an artifact file; registers
two versions; promotes the better one through Staging to Production (archiving the one there before); points
the ``champion`` alias at it; loads ``models:/<name>@champion`` (verifying its files) and predicts on sample
rows. Run it again and it adds two more versions and moves ``champion``: the registry remembers everything, and
``registry history`` shows it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import attrs

from registry.cli.output import Output
from registry.client import Registry
from registry.domain.entities import ModelVersion
from registry.domain.stages import Stage
from registry.pyfunc import PythonModel, PythonModelContext

__all__ = ["SAMPLE_ROWS", "DemoResult", "FraudModel", "run_demo"]

SAMPLE_ROWS: list[dict[str, Any]] = [
    {"amount": 12.5, "country": "DE"},
    {"amount": 980.0, "country": "BR"},
    {"amount": 5400.0, "country": "US"},
    {"amount": 75.0, "country": "NG"},
]

_COUNTRY_RISK = {"DE": -0.4, "US": 0.0, "BR": 0.6, "NG": 0.9}


class FraudModel(PythonModel):
    """A toy fraud scorer: preprocessing and scoring in the model, weights in an artifact (``weights``)."""

    def load_context(self, context: PythonModelContext) -> None:
        with open(context.artifacts["weights"]) as f:
            self.weights = json.load(f)

    @staticmethod
    def preprocess(rows: Any) -> list[tuple[float, float]]:
        """Rows (a list of dicts or a DataFrame) to features: log-scaled amount and a country risk weight."""
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict(orient="records")
        return [
            (math.log1p(max(float(r["amount"]), 0.0)), _COUNTRY_RISK.get(str(r["country"]).upper(), 0.3)) for r in rows
        ]

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        w = self.weights
        threshold = float((params or {}).get("threshold", w["threshold"]))
        out = []
        for log_amount, risk in self.preprocess(model_input):
            z = w["bias"] + w["amount"] * log_amount + w["country"] * risk
            score = round(1.0 / (1.0 + math.exp(-z)), 4)
            out.append({"score": score, "flagged": score >= threshold})
        return out


@attrs.frozen
class DemoResult:
    """What the demo did: the versions it registered, the champion, and the champion's predictions."""

    registry_uri: str
    name: str
    registered: list[ModelVersion]
    champion: ModelVersion
    previous_champion: int | None
    predictions: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry_uri,
            "name": self.name,
            "registered_versions": [mv.version for mv in self.registered],
            "champion": self.champion.version,
            "previous_champion": self.previous_champion,
            "champion_uri": f"models:/{self.name}@champion",
            "rows": SAMPLE_ROWS,
            "predictions": self.predictions,
        }


def _log(reg: Registry, name: str, weights: dict[str, float], description: str, tags: dict[str, str]) -> ModelVersion:
    with tempfile.TemporaryDirectory(prefix="registry-demo-") as tmp:
        path = os.path.join(tmp, "weights.json")
        with open(path, "w") as f:
            json.dump(weights, f)
        return reg.log_model(
            FraudModel(),
            registered_model_name=name,
            artifacts={"weights": path},
            input_example=SAMPLE_ROWS[:2],
            description=description,
            tags=tags,
        )


def run_demo(reg: Registry, out: Output | None = None, name: str = "demo-fraud") -> DemoResult:
    """Run the demo against ``reg`` and print what happened to ``out`` (human text, or JSON in JSON mode)."""
    out = out or Output()
    previous: int | None
    try:
        previous = reg.get_model_version_by_alias(name, "champion").version
    except LookupError:
        previous = None
    baseline = _log(
        reg,
        name,
        {"bias": -6.0, "amount": 0.8, "country": 1.5, "threshold": 0.8},
        "baseline: amount and country",
        {"auc": "0.81", "trained_on": "2024-q1"},
    )
    candidate = _log(
        reg,
        name,
        {"bias": -7.5, "amount": 1.05, "country": 2.2, "threshold": 0.65},
        "retrained: stronger country signal, lower threshold",
        {"auc": "0.88", "trained_on": "2024-q2"},
    )
    # Promote step by step, as the lifecycle policy requires (None -> Staging -> Production), archiving the
    # versions that held each stage before, in the same atomic step.
    for stage in (Stage.STAGING, Stage.PRODUCTION):
        reg.transition_model_version_stage(name, candidate.version, stage.value, archive_existing_versions=True)
    reg.set_registered_model_alias(name, "champion", candidate.version)
    reg.set_registered_model_alias(name, "baseline", baseline.version)
    model = reg.load_model(f"models:/{name}@champion")
    predictions = list(model.predict([dict(r) for r in SAMPLE_ROWS]))
    champion = reg.get_model_version(name, candidate.version)
    result = DemoResult(reg.uri, name, [baseline, candidate], champion, previous, predictions)
    if out.json_mode:
        out.json(result.to_dict())
    else:
        _report(out, result)
    return result


def _report(out: Output, r: DemoResult) -> None:
    v1, v2 = (mv.version for mv in r.registered)
    flag = "" if _is_default(r.registry_uri) else f" --registry {r.registry_uri}"
    moved = f" (it was on version {r.previous_champion})" if r.previous_champion is not None else ""
    lines = [
        f"Registry: {r.registry_uri}",
        "",
        f"1. Logged a PythonModel (preprocessing in the model, weights in an artifact) as '{r.name}' version {v1}",
        f"   (baseline) and version {v2} (retrained), each with an MLmodel, signature, input example and digests.",
        f"2. Promoted version {v2}: None -> Staging -> Production (whatever held those stages was archived).",
        f"3. Pointed @champion at version {v2}{moved}, and @baseline at version {v1}.",
        f"4. Loaded models:/{r.name}@champion (files verified against their sha256 digests) and predicted:",
        "",
    ]
    for line in lines:
        out.write(line)
    rows = [{**row, **pred} for row, pred in zip(SAMPLE_ROWS, r.predictions, strict=True)]
    out.table(rows, ["amount", "country", "score", "flagged"])
    out.write("")
    out.write("Look around:")
    for cmd in _next_steps(r.name, flag):
        out.write(f"  {cmd}")
    out.write("")
    out.write("Run `registry demo` again: it adds two versions and moves @champion.")


def _next_steps(name: str, flag: str) -> Sequence[str]:
    return [
        f"registry models show {name}{flag}",
        f"registry history {name}{flag}",
        f"registry search versions --filter \"name = '{name}' AND tags.trained_on = '2024-q2'\"{flag}",
        'echo \'{"dataframe_records": [{"amount": 250, "country": "BR"}]}\' | '
        f"registry load-predict models:/{name}@champion --input -{flag}",
        f"registry serve models:/{name}@champion --port 5000{flag}",
        "curl -s localhost:5000/invocations -H 'Content-Type: application/json' "
        '-d \'{"dataframe_records": [{"amount": 250, "country": "BR"}]}\'',
    ]


def _is_default(uri: str) -> bool:
    from registry.client import get_registry_uri

    try:
        return os.path.abspath(get_registry_uri()) == os.path.abspath(uri)
    except (TypeError, ValueError):
        return False
