"""The process's default registry: what ``models:/`` URIs resolve against when no registry is passed.

It is the `Registry` opened on `get_registry_uri()` (set with
`set_registry_uri()`, else ``$REGISTRY_URI``, else ``./mlregistry``), opened once per
process and URI. The MLflow-style module functions (``registry.pyfunc.load_model``, ``registry.register_model``,
``registry.sklearn.load_model``) use it; everything below the client takes a registry as an argument instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from registry.client import Registry
from registry.domain.entities import ModelVersion
from registry.domain.uris import is_models_uri
from registry.store.uris import explicit_registry_uri, get_registry_uri, resolve_registry_uri, set_registry_uri

__all__ = ["default_registry", "register_model", "registry_as_default", "registry_for", "registry_for_uri"]

_defaults: dict[str, Registry] = {}
_defaults_lock = threading.Lock()


def default_registry() -> Registry:
    """The `Registry` for `get_registry_uri()`, opened once per process and URI."""
    uri = resolve_registry_uri(get_registry_uri())
    with _defaults_lock:
        reg = _defaults.get(uri)
        if reg is None:
            reg = _defaults[uri] = Registry(uri)
        return reg


def registry_for(registry: Registry | None) -> Registry:
    """``registry`` itself, or the default registry when it is ``None``."""
    return default_registry() if registry is None else registry


def registry_for_uri(model_uri: str | os.PathLike[str], registry: Registry | None) -> Registry | None:
    """``registry``, or the default registry when a ``models:/`` URI needs one. A path needs none: loading a
    folder must not create ``./mlregistry``."""
    if registry is None and isinstance(model_uri, str) and is_models_uri(model_uri):
        return default_registry()
    return registry


@contextlib.contextmanager
def registry_as_default(reg: Registry) -> Iterator[Registry]:
    """Within the block, ``reg`` is the default registry: its URI is ``get_registry_uri()``'s and
    `default_registry()` returns ``reg`` itself. Both are restored afterwards (``registry.testing``)."""
    uri = reg.uri
    with _defaults_lock:
        previous_uri, previous = explicit_registry_uri(), _defaults.get(uri)
        _defaults[uri] = reg
    set_registry_uri(uri)
    try:
        yield reg
    finally:
        set_registry_uri(previous_uri)
        with _defaults_lock:
            if previous is None:
                _defaults.pop(uri, None)
            else:
                _defaults[uri] = previous


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    *,
    registry: Registry | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register a model directory (path or ``file:`` URI) or a ``models:/`` version as a new version of ``name``,
    creating the registered model if needed, in ``registry`` or the default registry (as ``mlflow.register_model``).

    See `Registry.register_model()`.
    """
    return registry_for(registry).register_model(model_uri, name, tags=tags, description=description)
