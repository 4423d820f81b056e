"""The journal's records as the domain reads them: `Event` and the `EventType` names (no IO).

Every change is an `Event`; `registry.domain.state` folds them into the registry's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from registry.errors import CorruptRegistry

__all__ = ["Event", "EventType"]


class EventType:
    """The event type names (MLflow's webhook names where they exist, the same ``entity.action`` style else)."""

    REGISTERED_MODEL_CREATED = "registered_model.created"
    REGISTERED_MODEL_RENAMED = "registered_model.renamed"
    REGISTERED_MODEL_UPDATED = "registered_model.updated"
    REGISTERED_MODEL_DELETED = "registered_model.deleted"
    REGISTERED_MODEL_TAG_SET = "registered_model_tag.set"
    REGISTERED_MODEL_TAG_DELETED = "registered_model_tag.deleted"
    MODEL_VERSION_CREATED = "model_version.created"
    MODEL_VERSION_UPDATED = "model_version.updated"
    MODEL_VERSION_DELETED = "model_version.deleted"
    MODEL_VERSION_STAGE_TRANSITIONED = "model_version.stage_transitioned"
    MODEL_VERSION_TAG_SET = "model_version_tag.set"
    MODEL_VERSION_TAG_DELETED = "model_version_tag.deleted"
    MODEL_VERSION_ALIAS_CREATED = "model_version_alias.created"
    MODEL_VERSION_ALIAS_DELETED = "model_version_alias.deleted"
    # One record per model brought in from elsewhere (a bundle, an MLflow registry): see registry.domain.imports
    REGISTERED_MODEL_IMPORTED = "registered_model.imported"
    # The approval workflow and comments (Databricks' TRANSITION_REQUEST_* and COMMENT_* events, in this style):
    # see registry.domain.governance and registry.domain.approvals
    TRANSITION_REQUEST_CREATED = "transition_request.created"
    TRANSITION_REQUEST_APPROVED = "transition_request.approved"
    TRANSITION_REQUEST_REJECTED = "transition_request.rejected"
    TRANSITION_REQUEST_DELETED = "transition_request.deleted"
    MODEL_VERSION_COMMENT_CREATED = "model_version_comment.created"
    MODEL_VERSION_COMMENT_UPDATED = "model_version_comment.updated"
    MODEL_VERSION_COMMENT_DELETED = "model_version_comment.deleted"
    # One record per model a replica brought up to date with its source: see registry.domain.replicas
    REGISTERED_MODEL_SYNCED = "registered_model.synced"


@attrs.frozen
class Event:
    """One committed change: its place in the journal (``seq``), when and by whom, and what changed.

    ``model_id`` is the registry's internal key of the model the event concerns and ``name`` its name at the
    time; ``data`` holds the event's payload (JSON types only).

    ``prev_hash`` and ``hash`` make the journal a hash chain (see `registry.domain.chain`): ``hash`` is
    the digest of the record's other fields, ``prev_hash`` the ``hash`` of the record before it (or
    ``"start"`` where the chain begins). Both are ``None`` on records written before the chain existed.
    """

    seq: int
    timestamp: int
    type: str
    actor: str | None
    model_id: str | None
    name: str | None
    data: dict[str, Any] = attrs.field(factory=dict)
    prev_hash: str | None = None
    hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "type": self.type,
            "actor": self.actor,
            "model_id": self.model_id,
            "name": self.name,
            "data": self.data,
        }
        # Only when set, so a record from before the chain reads and writes back exactly as it was.
        if self.prev_hash is not None:
            record["prev_hash"] = self.prev_hash
        if self.hash is not None:
            record["hash"] = self.hash
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Event:
        """The event a journal record holds.

        Raises:
            CorruptRegistry: a field is missing or of the wrong type (a record can carry a valid checksum and
                still not be one of ours: written by hand, or by another program).
        """
        if not isinstance(record, Mapping):
            raise _bad_record(record, f"it is a {type(record).__name__}, not an object")
        data = record.get("data")
        fields: dict[str, Any] = {name: record.get(name) for name in _RECORD_FIELDS}
        for name, kinds in _RECORD_FIELDS.items():
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise _bad_record(record, f"field '{name}' is {value!r}")
        if fields["seq"] < 1:
            raise _bad_record(record, f"field 'seq' is {fields['seq']!r}")
        if data is not None and not isinstance(data, dict):
            raise _bad_record(record, f"field 'data' is {data!r}")
        for name in ("prev_hash", "hash"):
            if not isinstance(record.get(name), str | None):
                raise _bad_record(record, f"field '{name}' is {record.get(name)!r}")
        return cls(data=dict(data or {}), prev_hash=record.get("prev_hash"), hash=record.get("hash"), **fields)


_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "seq": int,
    "timestamp": int,
    "type": str,
    "actor": (str, type(None)),
    "model_id": (str, type(None)),
    "name": (str, type(None)),
}


def _bad_record(record: Any, why: str) -> CorruptRegistry:
    seq = record.get("seq") if isinstance(record, Mapping) else None
    shown = repr(record)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    return CorruptRegistry(
        f"A journal record is not a registry event ({why}): {shown}. The journal was edited or written by "
        "another program; restore it from a backup.",
        seq=seq,
    )
