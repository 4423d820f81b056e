"""Model flavors as plugins, and the allow-list that decides which loader code a model directory may run.

A flavor is a `Flavor` object registered under the entry-point group
``registry.flavors`` (this package registers its own in ``pyproject.toml``: ``python_function``, ``sklearn``,
``onnx``, ``xgboost``, ``lightgbm``; other distributions add theirs the same way). A model's ``MLmodel`` names a
``loader_module`` (MLflow's module names, so directories stay compatible with MLflow); the loader looks that
name up among the registered flavors and runs only that flavor's own code. The name is never imported: a
directory naming anything else is refused with an error listing what is registered.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Mapping

from registry.errors import InvalidParameterValue
from registry.flavors.plugin import ENTRY_POINT_GROUP, Flavor

__all__ = ["BUILTIN_FLAVORS", "ENTRY_POINT_GROUP", "Flavor", "flavor_named", "loader_for", "registered_flavors"]

logger = logging.getLogger("registry")

# The entry points pyproject.toml declares for this package (a test keeps the two equal). They are also used
# as they are when the package runs from a source tree that was never installed, so there are no entry points.
BUILTIN_FLAVORS: dict[str, str] = {
    "lightgbm": "registry.flavors.lightgbm:FLAVOR",
    "onnx": "registry.flavors.onnx:FLAVOR",
    "python_function": "registry.flavors.python_model:FLAVOR",
    "sklearn": "registry.flavors.sklearn:FLAVOR",
    "xgboost": "registry.flavors.xgboost:FLAVOR",
}


def _load_value(value: str) -> object:
    module, _, attribute = value.partition(":")
    obj: object = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def _entry_points() -> list[tuple[str, str, str]]:
    """(name, value, distribution) of every registered entry point of the group, the built-ins first."""
    from importlib import metadata  # tens of milliseconds: only when a flavor is looked up

    found = [(name, value, "mlregistry") for name, value in BUILTIN_FLAVORS.items()]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep.dist, "name", None) or "?"
        found.append((ep.name, ep.value, dist))
    return found


def _installed_key() -> tuple[tuple[str, int], ...]:
    """What the installed distributions depend on: each ``sys.path`` folder and its modification time.

    Installing or removing a distribution adds or removes its ``.dist-info`` folder in one of these folders,
    which changes that folder's mtime, whichever process did it; so a cache keyed on this sees every change a
    fresh read would (test_plugins.py installs and removes a plugin between two loads).
    """
    key = []
    for entry in sys.path:
        try:
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            key.append((entry, -1))
    return tuple(key)


_cache_lock = threading.Lock()
_cache: tuple[tuple[tuple[str, int], ...], dict[str, Flavor]] | None = None


def registered_flavors() -> dict[str, Flavor]:
    """Flavor name -> `Flavor`, for every flavor registered now: a plugin installed or removed
    meanwhile, by this process or another, is seen at the next call.

    Reading the entry points costs tens of milliseconds, so the result is cached, keyed on every ``sys.path``
    folder and its mtime (which installing or removing a distribution changes).

    An entry point that fails to load, or that is not a `Flavor` named as its entry point, is left out
    (logged at WARNING on the ``registry`` logger): one broken plugin must not stop every other model from
    loading. A second distribution claiming a name already taken is left out the same way; the built-ins
    cannot be replaced.
    """
    global _cache
    key = _installed_key()
    with _cache_lock:
        if _cache is not None and _cache[0] == key:
            return dict(_cache[1])
    flavors = _discover()
    with _cache_lock:
        _cache = (key, flavors)
    return dict(flavors)


def _discover() -> dict[str, Flavor]:
    flavors: dict[str, Flavor] = {}
    origin: dict[str, str] = {}
    for name, value, dist in _entry_points():
        if name in origin:
            if origin[name] != value:
                logger.warning(
                    "flavor plugin %r from %s (%s) ignored: the name is already registered by %s",
                    name, dist, value, origin[name],
                )  # fmt: skip
            continue
        try:
            flavor = _load_value(value)
        except Exception as exc:  # a plugin's own import error must not break the others
            logger.warning("flavor plugin %r from %s (%s) cannot be loaded: %s", name, dist, value, exc)
            continue
        if not isinstance(flavor, Flavor) or flavor.name != name:
            logger.warning("flavor plugin %r from %s (%s) is not a registry Flavor named %r", name, dist, value, name)
            continue
        flavors[name] = flavor
        origin[name] = value
    return flavors


def flavor_named(name: str, flavors: Mapping[str, Flavor] | None = None) -> Flavor:
    """The registered flavor called ``name``.

    Raises:
        InvalidParameterValue: no flavor of that name is registered; the message lists the registered ones.
    """
    found = registered_flavors() if flavors is None else flavors
    if not isinstance(name, str) or name not in found:
        raise InvalidParameterValue(
            f"No model flavor named {name!r} is registered; registered flavors: {', '.join(sorted(found))}. "
            "A flavor is added by installing a distribution that registers it under the 'registry.flavors' "
            "entry-point group.",
            flavor=name,
        )
    return found[name]


def loader_for(loader_module: object, flavors: Mapping[str, Flavor] | None = None) -> Flavor:
    """The registered flavor whose ``loader_module`` is ``loader_module`` (the allow-list).

    Raises:
        InvalidParameterValue: no registered flavor answers to it; the message names it and the registered
            loaders. It is never imported.
    """
    found = registered_flavors() if flavors is None else flavors
    for flavor in found.values():
        if flavor.loader_module == loader_module:
            return flavor
    supported = ", ".join(sorted(f"{f.loader_module} ({f.name})" for f in found.values()))
    raise InvalidParameterValue(
        f"Cannot load a model whose python_function loader is {loader_module!r}: it is not the loader of any "
        f"registered flavor (registered: {supported}). Loader modules are never imported from a model directory; "
        "install a distribution that registers this flavor under the 'registry.flavors' entry-point group.",
        loader_module=loader_module,
    )
