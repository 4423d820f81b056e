"""pytest fixtures for testing code that uses a model registry; installing the package registers them.

Fixtures (each test gets its own, isolated registry; nothing touches the network or a server):

``model_registry``
    A `Registry` in a fresh folder under ``tmp_path``, with ``durable=False`` (no fsync).
``memory_registry``
    An in-memory `Registry` (``memory://``).
``mlflow_client``
    An `MlflowClient` (the permissive ``mlflow`` stage policy) in a fresh folder.
``registry_clock``
    The `FrozenClock` all three use: timestamps are exact and move only when the test
    calls ``registry_clock.advance(ms)``.
``registry_uri``
    Makes ``model_registry`` the default registry (``$REGISTRY_URI``, `registry.set_registry_uri()` and
    `registry.default_registry()`) for the test, so ``models:/`` URIs in the code under test resolve to it,
    and restores the previous settings afterwards. Its value is the registry's URI.

Seeding: mark a test with ``@pytest.mark.registry_seed({...})`` (the spec of `registry.testing.seed()`)
and every registry fixture it uses starts with that content. All fixtures record changes as user ``pytest``
and name model folders ``m1``, ``m2``, ... so paths are reproducible too.

The plugin is registered through the ``pytest11`` entry point as ``registry``; ``-p no:registry`` disables it.
The registry package itself is imported only when a fixture is used, so a project that never uses these
fixtures pays nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from registry.client import MlflowClient, Registry
    from registry.testing import FrozenClock

__all__ = [
    "memory_registry",
    "mlflow_client",
    "model_registry",
    "registry_clock",
    "registry_uri",
]

_R = TypeVar("_R", bound="Registry")

USER = "pytest"
"""The user the fixtures' registries record on every change."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "registry_seed(spec): seed the registry fixtures (model_registry, memory_registry, mlflow_client) "
        "from a registry.testing.seed spec before the test runs",
    )


def _seeded(request: pytest.FixtureRequest, reg: _R) -> _R:
    marker = request.node.get_closest_marker("registry_seed")
    if marker is not None:
        from registry.testing import seed

        if len(marker.args) != 1 or marker.kwargs:
            raise pytest.UsageError("registry_seed takes exactly one argument: the seed spec dict.")
        seed(reg, marker.args[0])
    return reg


@pytest.fixture
def registry_clock() -> FrozenClock:
    """A frozen, advanceable clock (integer milliseconds) shared by this test's registry fixtures."""
    from registry.testing import FrozenClock

    return FrozenClock()


@pytest.fixture
def model_registry(request: pytest.FixtureRequest, tmp_path: Path, registry_clock: FrozenClock) -> Iterator[Registry]:
    """A fresh folder registry under ``tmp_path`` (``durable=False``: fixtures need no crash safety)."""
    from registry.client import Registry
    from registry.testing import sequential_ids

    reg = Registry(tmp_path / "model-registry", durable=False, clock=registry_clock, user=USER, ids=sequential_ids())
    try:
        yield _seeded(request, reg)
    finally:
        reg.close()


@pytest.fixture
def memory_registry(request: pytest.FixtureRequest, registry_clock: FrozenClock) -> Iterator[Registry]:
    """A fresh in-memory registry."""
    from registry.client import Registry
    from registry.testing import sequential_ids

    reg = Registry("memory://", clock=registry_clock, user=USER, ids=sequential_ids())
    try:
        yield _seeded(request, reg)
    finally:
        reg.close()


@pytest.fixture
def mlflow_client(
    request: pytest.FixtureRequest, tmp_path: Path, registry_clock: FrozenClock
) -> Iterator[MlflowClient]:
    """A fresh registry behind MLflow's ``MlflowClient`` API, with MLflow's permissive stage policy."""
    from registry.client import MlflowClient
    from registry.testing import sequential_ids

    client = MlflowClient(
        registry_uri=str(tmp_path / "mlflow-registry"),
        durable=False,
        clock=registry_clock,
        user=USER,
        ids=sequential_ids(),
    )
    try:
        yield _seeded(request, client)
    finally:
        client.close()


@pytest.fixture
def registry_uri(model_registry: Registry) -> Iterator[str]:
    """Point the code under test at ``model_registry`` (``$REGISTRY_URI`` and the default registry)."""
    from registry.testing import use_registry

    with use_registry(model_registry):
        yield model_registry.uri
