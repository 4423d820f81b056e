"""Storage: the store interface and its two backends (a folder, and memory).

Names load on first use, so importing one helper module (``registry.store.artifacts`` for a loader that only
verifies files) does not import the whole store.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.store.base import Store
    from registry.store.folder import FolderStore
    from registry.store.memory import MemoryStore

__all__ = ["FolderStore", "MemoryStore", "Store"]

_LAZY = {"FolderStore": "registry.store.folder", "MemoryStore": "registry.store.memory", "Store": "registry.store.base"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'registry.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
