"""Shared fixtures. The suite runs against both backends through the ``reg`` fixture (as tinydb does)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow_venv import VenvUnavailable, ensure_venv
from s3_support import MOTO_ENV, fresh_bucket_url, moto_server

from registry import Registry


class TickingClock:
    """A clock that advances one millisecond per reading, so every event has a distinct, known time."""

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self._ticks = itertools.count(start)

    def __call__(self) -> int:
        return next(self._ticks)


def registry_uri(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh registry location on ``backend`` (folder, memory or bucket: a new bucket on the S3 server, its
    local cache under ``tmp_path``)."""
    if backend == "folder":
        return str(tmp_path / "registry")
    if backend == "bucket":
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "bucket-cache"))
        return str(request.getfixturevalue("s3_url"))
    return "memory://"


@pytest.fixture(params=["folder", "memory", "bucket"])
def reg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """A fresh registry on each backend (the folder one is durable, as users get it by default; the bucket one
    is on the S3-compatible server the suite starts)."""
    uri = registry_uri(request.param, request, tmp_path)
    registry = Registry(uri, clock=TickingClock(), user="tester")
    yield registry
    registry.close()


@pytest.fixture
def model_dir(tmp_path: Path) -> Callable[..., str]:
    """Make a small model folder (a few files, one nested) with the given contents; returns its path."""
    counter = itertools.count()

    def make(content: str = "weights") -> str:
        folder = tmp_path / f"model-src-{next(counter)}"
        (folder / "data").mkdir(parents=True)
        (folder / "MLmodel").write_text("flavors: {}\n")
        (folder / "model.bin").write_text(content)
        (folder / "data" / "extra.txt").write_text("nested")
        return str(folder)

    return make


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """The python of the separate MLflow virtual environment (built once, cached); skips where it cannot be had."""
    if os.environ.get("REGISTRY_SKIP_MLFLOW"):
        pytest.skip("REGISTRY_SKIP_MLFLOW is set")
    try:
        return ensure_venv()
    except VenvUnavailable as exc:
        pytest.skip(f"cannot build the MLflow venv: {exc}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str | None]:
    """The S3-compatible server the object-storage tests use: moto on 127.0.0.1 (started here), or none when
    ``$REGISTRY_TEST_S3_URL`` names another endpoint."""
    if os.environ.get("REGISTRY_TEST_S3_URL"):
        yield None
        return
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_url(s3_endpoint: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty ``s3://bucket/prefix`` for one test, with the environment pointing at its server."""
    if s3_endpoint is not None:
        for key, value in MOTO_ENV.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    return fresh_bucket_url(s3_endpoint)
