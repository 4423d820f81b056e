"""A separate virtual environment with real MLflow, scikit-learn, onnx(runtime), xgboost and lightgbm, built once
and cached.

The interop tests and ``benchmarks/bench_models.py`` run MLflow in subprocesses inside this environment, so
MLflow never becomes a dependency of the package or of the test environment. The environment lives under
``~/.cache/registry-tests/mlflow-venv-<hash>`` (``$REGISTRY_TEST_CACHE`` overrides the cache root), where the
hash covers the pinned requirements and the Python version: changing a pin builds a fresh one, and an existing
one is reused as is. It is built in place under a file lock and counts as built only once its ``.complete``
marker is written after a successful install, so parallel test processes and interrupted builds never use a
half-built venv (an unmarked folder is removed and built again). Building in place keeps the console scripts'
``#!`` lines right, so ``mlflow models serve`` works from it too.

Run ``python tests/mlflow_venv.py`` to build it ahead of the test run (CI does this once and caches it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from filelock import FileLock

# Pinned so that a cached venv matches what the tests were written against and the install stays bounded.
PINNED_REQUIREMENTS: tuple[str, ...] = (
    "mlflow==3.17.2",
    "scikit-learn==1.9.1",
    "cloudpickle==3.1.2",
    "skops==0.16.0",
    # the onnx, xgboost and lightgbm flavors (registry/flavors/): onnx builds test graphs, onnxruntime runs them;
    # xgboost-cpu is xgboost without the CUDA libraries (the same `xgboost` module, a tenth of the download)
    "onnx==1.23.2",
    "onnxruntime==1.31.1",
    "xgboost-cpu==3.2.0",
    "lightgbm==4.7.0",
    # this library's own dependencies (attrs, cloudpickle and PyYAML come with MLflow), so tests can also run
    # our loader inside this venv, next to real scikit-learn
    "filelock==4.2.11",
)

BUILD_TIMEOUT_S = 1200.0

# MLflow 3 refuses to unpickle models unless told to; the tests load pickles they wrote themselves.
MLFLOW_ENV = {
    "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    "MLFLOW_TRACKING_URI": "",
    "PYTHONWARNINGS": "ignore",
    "GIT_PYTHON_REFRESH": "quiet",
}


class VenvUnavailable(Exception):
    """The MLflow venv cannot be built here (no network, no index, a failed install)."""


def cache_root() -> Path:
    root = os.environ.get("REGISTRY_TEST_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "registry-tests"


def venv_path() -> Path:
    """Where the venv for the current pins and Python version lives (built or not)."""
    key = "\n".join((*PINNED_REQUIREMENTS, f"py{sys.version_info.major}.{sys.version_info.minor}"))
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / f"mlflow-venv-{digest}"


def python_of(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def existing_venv() -> Path | None:
    """The venv's python if it is already built, without building anything."""
    python = python_of(venv_path())
    return python if (venv_path() / ".complete").exists() and python.exists() else None


def ensure_venv(timeout: float = BUILD_TIMEOUT_S) -> Path:
    """Return the python of the MLflow venv, building it first if needed.

    Raises:
        VenvUnavailable: with the reason (the tail of pip's output) when the build fails.
    """
    target = venv_path()
    python = existing_venv()
    if python is not None:
        return python
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=timeout):
        python = existing_venv()  # another process may have built it while we waited
        if python is not None:
            return python
        if target.exists():
            shutil.rmtree(target)  # an interrupted build: never trust it
        try:
            venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(target)
            try:
                proc = subprocess.run(
                    [str(python_of(target)), "-m", "pip", "install", "--quiet", *PINNED_REQUIREMENTS],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired as exc:
                raise VenvUnavailable(f"pip install did not finish within {timeout:.0f} s") from exc
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
                raise VenvUnavailable(f"pip install {' '.join(PINNED_REQUIREMENTS)} failed:\n{tail}")
            (target / ".complete").write_text("\n".join(PINNED_REQUIREMENTS) + "\n")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return python_of(target)


if __name__ == "__main__":
    try:
        print(ensure_venv())
    except VenvUnavailable as exc:
        print(f"MLflow venv unavailable: {exc}", file=sys.stderr)
        sys.exit(1)
