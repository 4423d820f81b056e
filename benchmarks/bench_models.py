"""Load-and-predict of ``models:/m@champion``: warm and in a fresh process, against a raw cloudpickle.load.

Baselines measured in the same run:
  * raw            cloudpickle.load of the same model file, then predict
  * raw+verify     the same plus sha256 verification of the version's files (what a safe load must do)
  * python start   ``python -c pass`` (for the fresh-process rows)
  * MLflow         ``mlflow.pyfunc.load_model`` of the same directory, when the test suite's MLflow venv exists

Run: ``python benchmarks/bench_models.py [--size N] [--repeat R]``. Prints a table; ratios are what to quote.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cloudpickle

from registry import Registry
from registry.store.artifacts import verify_artifacts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mlflow_venv import MLFLOW_ENV, existing_venv


class WideLinear:
    """A scikit-learn-style model whose state is ``size`` floats (pickled by value: defined in __main__)."""

    def __init__(self, size: int) -> None:
        self.w = [((i * 7919) % 1000) / 1000.0 for i in range(size)]

    def predict(self, rows: list[list[float]]) -> list[float]:
        return [sum(a * b for a, b in zip(row, self.w, strict=False)) for row in rows]


ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up (imports, page cache)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh(argv: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    def once() -> None:
        subprocess.run(argv, check=True, capture_output=True, env=env)

    return median_time(once, repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000, help="floats of model state (default 200000)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        reg = Registry(os.path.join(tmp, "reg"))
        mv = reg.log_model(sk_model=WideLinear(args.size), registered_model_name="m")
        reg.set_registered_model_alias("m", "champion", mv.version)
        assert mv.storage_location is not None and mv.digest is not None
        location, digest = mv.storage_location, mv.digest
        pkl = os.path.join(location, "model.pkl")
        expected = WideLinear(args.size).predict(ROWS)
        size_mb = sum(f.stat().st_size for f in Path(location).rglob("*") if f.is_file()) / 1e6

        def ours() -> None:
            assert reg.load_model("models:/m@champion").predict(ROWS) == expected

        def raw() -> None:
            with open(pkl, "rb") as f:
                assert cloudpickle.load(f).predict(ROWS) == expected

        def raw_verified() -> None:
            verify_artifacts(location, digest)
            raw()

        rows: list[tuple[str, float, str]] = []
        t_raw = median_time(raw, args.repeat)
        t_rawv = median_time(raw_verified, args.repeat)
        t_ours = median_time(ours, args.repeat)
        rows += [
            ("warm: raw cloudpickle.load + predict", t_raw, "1.00x raw"),
            ("warm: raw + sha256 verification", t_rawv, f"{t_rawv / t_raw:.2f}x raw"),
            ("warm: pyfunc.load_model(models:/m@champion)", t_ours, f"{t_ours / t_rawv:.2f}x raw+verify"),
        ]

        env = {**os.environ, "REGISTRY_URI": os.path.join(tmp, "reg")}
        t_start = fresh([sys.executable, "-c", "pass"], args.repeat)
        raw_code = f"import cloudpickle; m = cloudpickle.load(open({pkl!r}, 'rb')); m.predict({ROWS!r})"
        t_fresh_raw = fresh([sys.executable, "-c", raw_code], args.repeat, env)
        ours_code = f"from registry import pyfunc; pyfunc.load_model('models:/m@champion').predict({ROWS!r})"
        t_fresh_ours = fresh([sys.executable, "-c", ours_code], args.repeat, env)
        rows += [
            ("fresh process: python -c pass", t_start, "1.00x start-up"),
            ("fresh process: raw cloudpickle.load + predict", t_fresh_raw, f"{t_fresh_raw / t_start:.2f}x start-up"),
            (
                "fresh process: pyfunc.load_model + predict",
                t_fresh_ours,
                f"{t_fresh_ours / t_start:.2f}x start-up, {t_fresh_ours / t_fresh_raw:.2f}x fresh raw",
            ),
        ]

        python = existing_venv()
        if python is not None:
            menv = {**os.environ, **MLFLOW_ENV}
            menv.pop("PYTHONPATH", None)
            mlflow_code = f"import mlflow; mlflow.pyfunc.load_model({location!r}).predict({ROWS!r})"
            t_mlflow = fresh([str(python), "-c", mlflow_code], max(3, args.repeat // 2), menv)
            warm_code = (
                "import mlflow, time, statistics\n"
                f"mlflow.pyfunc.load_model({location!r})\n"
                "ts = []\n"
                f"for _ in range({args.repeat}):\n"
                "    s = time.perf_counter()\n"
                f"    mlflow.pyfunc.load_model({location!r}).predict({ROWS!r})\n"
                "    ts.append(time.perf_counter() - s)\n"
                "print(statistics.median(ts))\n"
            )
            out = subprocess.run([str(python), "-c", warm_code], check=True, capture_output=True, text=True, env=menv)
            t_mlflow_warm = float(out.stdout.strip().splitlines()[-1])
            rows += [
                (
                    "warm: mlflow.pyfunc.load_model (same dir, no verification)",
                    t_mlflow_warm,
                    f"{t_mlflow_warm / t_ours:.2f}x ours warm",
                ),
                (
                    "fresh process: mlflow.pyfunc.load_model + predict",
                    t_mlflow,
                    f"{t_mlflow / t_fresh_ours:.2f}x ours fresh",
                ),
            ]
        else:
            rows.append(("MLflow rows skipped: no venv (run python tests/mlflow_venv.py)", float("nan"), ""))

    print(f"model: WideLinear with {args.size} floats, version folder {size_mb:.2f} MB; median of {args.repeat}")
    width = max(len(r[0]) for r in rows)
    print(f"{'case'.ljust(width)}  {'time':>10}  ratio")
    for name, seconds, ratio in rows:
        print(f"{name.ljust(width)}  {seconds * 1000:>8.1f}ms  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
