"""The public API is what registry/__init__.py exports, sorted, each documented (as httpx guards its own)."""

from __future__ import annotations

import registry


def test_all_is_sorted_and_complete() -> None:
    assert len(set(registry.__all__)) == len(registry.__all__)  # the order is ruff's (RUF022)
    for name in registry.__all__:
        assert hasattr(registry, name), name
    public = {
        n for n in vars(registry) if not n.startswith("_") and not isinstance(getattr(registry, n), type(registry))
    }
    assert public - set(registry.__all__) == set(), "exported but not in __all__"


def test_public_names_are_documented() -> None:
    for name in registry.__all__:
        value = getattr(registry, name)
        if callable(value) or isinstance(value, type):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_version_comes_from_the_installed_distribution() -> None:
    from importlib import metadata

    assert registry.__version__ == metadata.version("mlregistry")  # the distribution name, not the import name


def test_the_package_ships_its_type_information() -> None:
    from pathlib import Path

    assert (Path(registry.__file__).parent / "py.typed").is_file()
    pyproject = (Path(registry.__file__).parents[1] / "pyproject.toml").read_text()
    assert 'registry = ["py.typed"]' in pyproject  # package data, so wheels carry it
