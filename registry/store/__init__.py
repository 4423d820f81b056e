"""Storage: the store interface and its two backends (a folder, and memory)."""

from registry.store.base import Store
from registry.store.folder import FolderStore
from registry.store.memory import MemoryStore

__all__ = ["FolderStore", "MemoryStore", "Store"]
