"""scikit-learn models given columns by name (dicts) get a pandas DataFrame, as in MLflow; without pandas a real
estimator refuses with the shape to pass instead (issue 15, item 5)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mlflow_venv import MLFLOW_ENV

from registry import InvalidParameterValue
from registry.flavors.sklearn import SklearnImpl, columns_as_frame

REPO = Path(__file__).resolve().parents[2]
HAS_PANDAS = importlib.util.find_spec("pandas") is not None


class Seen:
    """Records what .predict was given (a plain object, not scikit-learn)."""

    def predict(self, data: Any) -> Any:
        self.data = data
        return data


class FakeEstimator(Seen):
    pass


FakeEstimator.__module__ = "sklearn.linear_model._fake"  # what makes an object a scikit-learn estimator here

ROWS = [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}]


@pytest.mark.skipif(HAS_PANDAS, reason="checks the behaviour without pandas; pandas is installed here")
@pytest.mark.parametrize("data", [ROWS, {"a": [1.0, 3.0], "b": [2.0, 4.0]}, {"a": 1.0, "b": 2.0}])
def test_without_pandas_an_estimator_says_what_to_pass(data: Any) -> None:
    with pytest.raises(InvalidParameterValue, match=r"pandas is not installed.*\[\[1\.0, 2\.0\]"):
        SklearnImpl(FakeEstimator(), "predict").predict(data)
    plain = Seen()
    SklearnImpl(plain, "predict").predict(data)
    assert plain.data is data  # any other .predict object gets the dicts as given
    rows = [[1.0, 2.0]]
    assert columns_as_frame(rows, FakeEstimator()) is rows  # rows of values always pass as given


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas is not installed (the MLflow venv test covers it)")
def test_with_pandas_dicts_become_a_dataframe() -> None:
    import pandas as pd

    for data in (ROWS, {"a": [1.0, 3.0], "b": [2.0, 4.0]}):
        frame = columns_as_frame(data, Seen())
        assert isinstance(frame, pd.DataFrame) and frame.to_dict("list") == {"a": [1.0, 3.0], "b": [2.0, 4.0]}
    assert columns_as_frame({"a": 1.0, "b": 2.0}, Seen()).to_dict("list") == {"a": [1.0], "b": [2.0]}


@pytest.mark.mlflow
def test_a_real_estimator_fitted_on_named_columns_takes_dicts(mlflow_python: Path, tmp_path: Path) -> None:
    """In the MLflow venv (pandas and scikit-learn there): our loader gives the estimator what MLflow's gives."""
    script = """
        import json, warnings
        warnings.simplefilter("ignore")
        import mlflow, pandas as pd
        from sklearn.linear_model import LinearRegression
        from registry import pyfunc
        frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.0]})
        est = LinearRegression().fit(frame, [1.0, 3.0, 3.0])
        pyfunc.save_model("ours", sk_model=est)
        ours = pyfunc.load_model("ours")
        theirs = mlflow.pyfunc.load_model("ours")
        inputs = [[{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 0.0}], {"a": [1.0, 2.0], "b": [1.0, 0.0]}]
        print(json.dumps({
            "ours": [[float(v) for v in ours.predict(x)] for x in inputs],
            "theirs": [[float(v) for v in theirs.predict(pd.DataFrame(x))] for x in inputs],
        }))
    """
    env = {**os.environ, **MLFLOW_ENV, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [str(mlflow_python), "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(got["ours"]) == 2 and len(got["ours"][0]) == 2
    for ours, theirs in zip(got["ours"], got["theirs"], strict=True):
        assert ours == pytest.approx(theirs)
