"""The documentation site: every ```python block in docs/ runs, the site builds with ``mkdocs build --strict``
(a broken link, a missing page or a failing API reference is an error), and the generated command-line
reference covers every command."""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import registry
from registry.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text()))


def _hooks():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_have_examples() -> None:
    assert len(PAGES) >= 4


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGISTRY_URI", raising=False)
    namespace: dict[str, object] = {"__name__": "docs"}
    try:
        for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
            try:
                exec(compile(block, f"{page.name} python block {number}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"{page.relative_to(REPO)} python block {number} failed:\n{block}") from exc
    finally:
        registry.set_registry_uri(None)


def _leaf_commands(parser: argparse.ArgumentParser, prefix: str = "registry") -> list[str]:
    names: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children = _leaf_commands(sub, f"{prefix} {name}")
                names.extend(children or [f"{prefix} {name}"])
    return names


def test_the_cli_reference_covers_every_command() -> None:
    text = _hooks().cli_reference()
    commands = _leaf_commands(build_parser())
    assert len(commands) > 30
    for command in commands:
        assert f"## `{command}`" in text, command


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extra: pip install -e '.[test]'")
    pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings-python is in the test extra")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
