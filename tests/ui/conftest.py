"""The sample registry and the UI server on it (port 0, 127.0.0.1), for the UI's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_sample import FixedClock, counting_ids, populate

from registry import Registry
from registry.ui import UIServer


@pytest.fixture
def ui_registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(str(tmp_path / "registry"), policy="lifecycle", clock=FixedClock(), user="ana", ids=counting_ids())
    populate(reg, tmp_path)
    yield reg
    reg.close()


@pytest.fixture
def ui_server(ui_registry: Registry) -> Iterator[UIServer]:
    server = UIServer(ui_registry, port=0, poll_interval=0.05).start()
    yield server
    server.shutdown()
