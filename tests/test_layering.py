"""Imports point down only (STYLE.md): read each module's imports with ast and check them against the layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import registry

PACKAGE = Path(registry.__file__).parent

# The domain: no IO, no clock, no store. (Modules listed by name; new domain modules belong here.)
DOMAIN = {
    "registry.errors",
    "registry.entities",
    "registry.stages",
    "registry.validation",
    "registry.uris",
    "registry.state",
    "registry.commands",
    "registry.mlmodel",
    "registry.signature",
    "registry.schema_enforcement",
    "registry.search",
    "registry.search.lexer",
    "registry.search.nodes",
    "registry.search.parser",
    "registry.search.evaluate",
    "registry.search.ordering",
    "registry.search.paging",
}
FORBIDDEN_IN_DOMAIN = {"os", "io", "time", "shutil", "tempfile", "filelock", "subprocess", "socket", "http", "urllib"}
ABOVE_STORE = ("registry.client", "registry.events", "registry.cli", "registry.serve", "registry.webhooks")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_domain_does_no_io_and_knows_no_store() -> None:
    for name in DOMAIN:
        for imported in MODULES[name]:
            top = imported.split(".")[0]
            if imported == "urllib.parse":
                continue  # parsing text, not IO
            assert top not in FORBIDDEN_IN_DOMAIN, f"{name} imports {imported}: the domain does no IO"
            assert not imported.startswith("registry.store"), f"{name} imports {imported}"
            assert not imported.startswith(ABOVE_STORE), f"{name} imports {imported}"


def test_store_knows_nothing_above_it() -> None:
    for name, imported_set in MODULES.items():
        if name.startswith("registry.store"):
            for imported in imported_set:
                assert not imported.startswith(ABOVE_STORE), f"{name} imports {imported}"
                assert not imported.startswith(("http", "argparse")), f"{name} imports {imported}"


def test_cli_and_server_do_not_reach_into_the_store() -> None:
    for name, imported_set in MODULES.items():
        if name in ("registry.cli", "registry.serve", "registry.__main__"):
            for imported in imported_set:
                assert not imported.startswith("registry.store"), f"{name} imports {imported}"


def test_import_registry_stays_light() -> None:
    code = (
        "import sys, registry; print(','.join(m for m in ('numpy', 'pandas', 'mlflow', 'sklearn') if m in sys.modules))"
    )
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert heavy == "", f"import registry pulled in {heavy}"


def test_import_registry_loads_nothing_until_used() -> None:
    code = "import sys, registry; print(sorted(m for m in sys.modules if m.startswith('registry.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
