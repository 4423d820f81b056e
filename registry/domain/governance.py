"""Transition requests and comments on versions: their entities and how events change them (pure).

The workflow follows Databricks' registry: someone asks for a version to move to a stage
(``create_transition_request``), someone else approves it (the move happens in the same event) or rejects it,
and the requester may withdraw it. A request never dangles: when its version is deleted or moves to another
stage by any other route, the event that deletes or moves it closes the request, with the reason, so every
replay of the journal agrees on every request's status.

A request's id is the ``seq`` of the event that created it; a comment's id is ``<model id>.<random id>``, so a
comment is found from its id alone (``update_comment(id, ...)``, as in Databricks) without an index.

This module holds the per-model record (`Governance`) the state fold keeps on each model, and knows
nothing of events beyond their payloads: `registry.domain.state` hands it the fields.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from registry.domain.stages import Stage

__all__ = ["Comment", "Governance", "RequestStatus", "TransitionRequest", "comment_model_id"]


class RequestStatus(enum.StrEnum):
    """Where a transition request stands. Only ``pending`` requests can be approved, rejected or deleted."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DELETED = "deleted"
    CLOSED = "closed"
    """Closed by the registry: the version was deleted, or moved to another stage by another route."""


@attrs.frozen
class TransitionRequest:
    """A request to move ``version`` of model ``name`` to ``to_stage`` (Databricks' TransitionRequest fields,
    plus how it ended).

    Attributes:
        id: the ``seq`` of the event that created the request.
        user_id: who asked.
        resolved_by / resolved_timestamp / resolution_comment: who approved, rejected or deleted it, when, and
            what they said (``None`` while pending; ``resolved_by`` is the actor of the closing event).
        reason: why the registry closed it (status ``closed``).
    """

    id: int
    name: str
    version: int
    to_stage: Stage
    user_id: str | None
    comment: str | None
    creation_timestamp: int
    status: RequestStatus = RequestStatus.PENDING
    last_updated_timestamp: int = 0
    resolved_by: str | None = None
    resolved_timestamp: int | None = None
    resolution_comment: str | None = None
    reason: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stage and status as strings)."""
        d = attrs.asdict(self)
        d["to_stage"] = self.to_stage.value
        d["status"] = self.status.value
        return d


@attrs.frozen
class Comment:
    """A comment on a version (Databricks' CommentObject fields)."""

    id: str
    name: str
    version: int
    user_id: str | None
    comment: str
    creation_timestamp: int
    last_updated_timestamp: int

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def comment_model_id(comment_id: str) -> str:
    """The model id a comment id starts with (``<model id>.<random id>``)."""
    return comment_id.partition(".")[0]


@attrs.define(slots=True, eq=False)
class Governance:
    """One model's requests (by id, in creation order) and comments (by id, in creation order)."""

    requests: dict[int, TransitionRequest] = attrs.field(factory=dict)
    comments: dict[str, Comment] = attrs.field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self.requests or self.comments)

    def pending(self, version: int, stage: Stage | None = None) -> list[TransitionRequest]:
        """The pending requests for ``version`` (to ``stage``, if given), oldest first."""
        return [
            r
            for r in self.requests.values()
            if r.pending and r.version == version and (stage is None or r.to_stage == stage)
        ]

    # -- folding (each checks before it changes anything) -------------------------------------------------------

    def create_request(
        self, seq: int, name: str, version: int, stage: Stage, actor: str | None, comment: str | None, timestamp: int
    ) -> None:
        if any(r.user_id == actor for r in self.pending(version, stage)):
            raise ValueError(f"{actor!r} already has a pending request to move version {version} to {stage.value}")
        self.requests[seq] = TransitionRequest(
            id=seq,
            name=name,
            version=version,
            to_stage=stage,
            user_id=actor,
            comment=comment,
            creation_timestamp=timestamp,
            last_updated_timestamp=timestamp,
        )

    def pending_by_id(self, ids: Any) -> list[TransitionRequest]:
        """The pending requests ``ids`` names (a non-empty list of integers), or raise."""
        if not isinstance(ids, list) or not ids:
            raise TypeError(f"request ids {ids!r} are not a non-empty list")
        found = []
        for request_id in ids:
            if isinstance(request_id, bool) or not isinstance(request_id, int):
                raise TypeError(f"request id {request_id!r} is not an integer")
            request = self.requests.get(request_id)
            if request is None or not request.pending:
                raise ValueError(f"request {request_id} is not pending")
            found.append(request)
        return found

    def resolve(
        self,
        found: Iterable[TransitionRequest],
        status: RequestStatus,
        actor: str | None,
        comment: str | None,
        timestamp: int,
    ) -> None:
        """Mark requests (from `pending_by_id()`) approved, rejected or deleted."""
        for request in found:
            self.requests[request.id] = attrs.evolve(
                request,
                status=status,
                last_updated_timestamp=timestamp,
                resolved_by=actor,
                resolved_timestamp=timestamp,
                resolution_comment=comment,
            )

    def close_for_moves(self, moves: Mapping[int, Stage | None], timestamp: int, actor: str | None) -> None:
        """Close the pending requests of versions that moved (to a stage, or ``None``: deleted): a request to
        the stage a version reached is fulfilled, any other is moot. Deterministic, so replays agree."""
        for request in list(self.requests.values()):
            if not request.pending or request.version not in moves:
                continue
            reached = moves[request.version]
            if reached is None:
                reason = f"version {request.version} was deleted"
            elif reached == request.to_stage:
                reason = f"version {request.version} was moved to {reached.value} by another route"
            else:
                reason = f"version {request.version} was moved to {reached.value}"
            self.requests[request.id] = attrs.evolve(
                request,
                status=RequestStatus.CLOSED,
                last_updated_timestamp=timestamp,
                resolved_by=actor,
                resolved_timestamp=timestamp,
                reason=reason,
            )

    def rename(self, new_name: str) -> None:
        self.requests = {i: attrs.evolve(r, name=new_name) for i, r in self.requests.items()}
        self.comments = {i: attrs.evolve(c, name=new_name) for i, c in self.comments.items()}

    def drop_version_comments(self, version: int) -> None:
        self.comments = {i: c for i, c in self.comments.items() if c.version != version}

    def add_comment(
        self, comment_id: str, name: str, version: int, actor: str | None, text: str, timestamp: int
    ) -> None:
        if comment_id in self.comments:
            raise ValueError(f"comment {comment_id!r} already exists")
        self.comments[comment_id] = Comment(comment_id, name, version, actor, text, timestamp, timestamp)

    def edit_comment(self, comment_id: str, text: str, timestamp: int) -> None:
        old = self.comments[comment_id]
        self.comments[comment_id] = attrs.evolve(old, comment=text, last_updated_timestamp=timestamp)

    def delete_comment(self, comment_id: str) -> None:
        del self.comments[comment_id]

    # -- documents ------------------------------------------------------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        return {
            "requests": [r.to_dict() for r in self.requests.values()],
            "comments": [c.to_dict() for c in self.comments.values()],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Governance:
        requests = {}
        for r in doc.get("requests") or ():
            fields = dict(r)
            fields["to_stage"] = Stage(fields["to_stage"])
            fields["status"] = RequestStatus(fields["status"])
            requests[int(fields["id"])] = TransitionRequest(**fields)
        comments = {str(c["id"]): Comment(**c) for c in doc.get("comments") or ()}
        return cls(requests, comments)
