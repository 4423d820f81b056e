"""Every ```python block in the README runs, in order, in one namespace (as a reader would paste them).

Blocks run in a scratch working directory. Webhook and trigger deliveries are recorded instead of sent: the
README's example URL is not on this machine, and no test may reach past the loopback interface.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import registry
from registry.events.webhooks import transport

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text())


def test_readme_has_examples() -> None:
    assert len(python_blocks()) >= 5


def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple] = []
    monkeypatch.setattr(transport, "post", lambda *args: sent.append(args) or transport.Attempt(ok=True))
    monkeypatch.setattr(transport, "run_command", lambda *args: sent.append(args) or transport.Attempt(ok=True))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGISTRY_URI", raising=False)
    opened: list[registry.Registry] = []
    original_init = registry.Registry.__init__

    def recording_init(self: registry.Registry, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(self)

    monkeypatch.setattr(registry.Registry, "__init__", recording_init)
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"README python block {number} failed:\n{block}") from exc
    finally:
        for reg in opened:  # close() also stops delivery threads while the transport is still recorded
            reg.close()
        registry.set_registry_uri(None)
