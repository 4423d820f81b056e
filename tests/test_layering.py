"""Imports point down only, with no cycles (STYLE.md, docs/ARCHITECTURE.md).

Each module's imports are read with ``ast`` (imports inside functions and under ``TYPE_CHECKING`` included: a
lazy import is still a dependency) and checked against the layers, written here as data. The checks are plain
functions, tested on made-up graphs first, so a broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import registry

PACKAGE = Path(registry.__file__).parent

# Bottom to top. A module may import modules of its own layer or of a lower one; the first matching prefix wins.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("registry.errors",),
    ("registry.domain",),
    ("registry.search",),
    ("registry.store",),
    ("registry.events",),
    ("registry.models",),
    ("registry.flavors",),
    ("registry.exchange",),
    ("registry.client",),
    ("registry.defaults",),
    (
        "registry.pyfunc",
        "registry.sklearn",
        "registry.onnx",
        "registry.xgboost",
        "registry.lightgbm",
        "registry.webhooks",
        "registry.testing",
    ),
    ("registry.web",),
    ("registry.serving", "registry.ui"),
    ("registry.cli",),
    ("registry.__main__",),
)

# Pure code: no IO, no clock, no processes or sockets (the domain, the filter language, the MLmodel document,
# signatures and their enforcement).
PURE = (
    "registry.domain",
    "registry.search",
    "registry.ui.html",
    "registry.ui.markdown",
    "registry.models.mlmodel",
    "registry.models.signature",
    "registry.models.enforcement",
)
FORBIDDEN_IN_PURE = {
    "os",
    "io",
    "time",
    "shutil",
    "tempfile",
    "filelock",
    "subprocess",
    "socket",
    "http",
    "urllib",
    "pathlib",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from registry.x import y`` may name a submodule y: that is an import of registry.x.y
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_package() -> dict[str, set[str]]:
    """Every module of the package with everything it imports (``registry`` itself, whose names load lazily by
    string, is left out)."""
    raw = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}
    raw.pop("registry", None)
    return raw


def internal(raw: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Only the imports of the package's own modules."""
    return {name: {i for i in imported if i in raw and i != name} for name, imported in raw.items()}


def layer_of(module: str, layers: Iterable[Iterable[str]] = LAYERS) -> int:
    for rank, prefixes in enumerate(layers):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layering.py")


def upward_imports(modules: Mapping[str, set[str]], layers: Iterable[Iterable[str]] = LAYERS) -> list[str]:
    layers = [tuple(p) for p in layers]
    return sorted(
        f"{name} imports {imported}, a higher layer"
        for name, imported_set in modules.items()
        for imported in imported_set
        if layer_of(imported, layers) > layer_of(name, layers)
    )


def cycles(modules: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(modules.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(modules):
        if node not in index:
            visit(node)
    return sorted(found)


def package_cycles(modules: Mapping[str, set[str]]) -> list[list[str]]:
    """Cycles between layer folders (``registry.store`` -> ``registry.events`` -> ``registry.store``)."""

    def folder(name: str) -> str:
        return ".".join(name.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for name, imported_set in modules.items():
        graph.setdefault(folder(name), set()).update(folder(i) for i in imported_set if folder(i) != folder(name))
    return cycles(graph)


IMPORTS = read_package()
MODULES = internal(IMPORTS)


# -- the checker, on made-up graphs ---------------------------------------------------------------------------------


def test_the_checker_finds_an_upward_import_and_cycles() -> None:
    layers = (("a",), ("b",))
    assert upward_imports({"a.x": {"b.y"}, "b.y": set()}, layers) == ["a.x imports b.y, a higher layer"]
    assert upward_imports({"a.x": set(), "b.y": {"a.x"}}, layers) == []
    assert cycles({"m": {"n"}, "n": {"o"}, "o": {"m"}, "p": {"m"}}) == [["m", "n", "o"]]
    assert cycles({"m": {"n"}, "n": set()}) == []
    assert package_cycles({"r.a.x": {"r.b.y"}, "r.b.y": {"r.a.z"}, "r.a.z": set()}) == [["r.a", "r.b"]]


def test_the_reader_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from registry.client import Registry\n"
        "def f():\n    from registry.cli import main\n    import registry.serving.server\n"
    )
    assert {"registry.client", "registry.cli", "registry.cli.main", "registry.serving.server"} <= imports_of(source)


# -- the package ----------------------------------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_imports_point_down_only() -> None:
    assert upward_imports(MODULES) == []


def test_no_import_cycles_between_modules() -> None:
    assert cycles(MODULES) == []


def test_no_import_cycles_between_layer_folders() -> None:
    assert package_cycles(MODULES) == []


def test_pure_code_does_no_io() -> None:
    for name, imported_set in IMPORTS.items():
        if not name.startswith(PURE):
            continue
        for imported in imported_set:
            if imported == "urllib.parse" or imported.startswith("urllib.parse."):
                continue  # parsing text, not IO
            assert imported.split(".")[0] not in FORBIDDEN_IN_PURE, f"{name} imports {imported}: it must do no IO"


def test_cli_and_servers_reach_the_registry_only_through_the_client() -> None:
    for name, imported_set in MODULES.items():
        if layer_of(name) >= layer_of("registry.serving"):
            reached = sorted(i for i in imported_set if i.startswith(("registry.store", "registry.events.")))
            assert reached == [], f"{name} imports {reached}: call the client instead"


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
