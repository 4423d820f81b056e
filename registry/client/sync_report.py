"""What one replica sync did (`SyncReport`, returned by ``Registry.sync_from``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["SyncReport"]


@attrs.frozen
class SyncReport:
    """What one sync did. ``up_to_date``: the source had not moved, nothing was read or written."""

    source: str
    up_to_date: bool = False
    created_models: list[str] = attrs.field(factory=list)
    synced_models: list[str] = attrs.field(factory=list)
    deleted_models: list[str] = attrs.field(factory=list)
    files_fetched: int = 0
    bytes_fetched: int = 0
    bytes_reused: int = 0
    position: Any = None
    policy: str | None = None
    """The name of the source's stage policy, when this sync stored it in the replica (it differed)."""

    @property
    def changed(self) -> bool:
        return bool(self.created_models or self.synced_models or self.deleted_models or self.policy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "up_to_date": self.up_to_date,
            "created_models": list(self.created_models),
            "synced_models": list(self.synced_models),
            "deleted_models": list(self.deleted_models),
            "files_fetched": self.files_fetched,
            "bytes_fetched": self.bytes_fetched,
            "bytes_reused": self.bytes_reused,
            "position": self.position,
            "policy": self.policy,
        }
