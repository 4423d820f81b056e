"""The approval workflow's commands, comments on versions, and stage rollback: pure functions that check a
request against the state and return the change it makes (as `registry.domain.commands` does).

``actor`` is the user the store will record on the event (the client's ``user``); the commands need it to
enforce the stage policy's ``distinct_approver`` and to keep one pending request per user, version and stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.domain.commands import Change, closed_requests, plan_transition
from registry.domain.governance import Comment, TransitionRequest, comment_model_id
from registry.domain.stages import Stage, StagePolicy
from registry.domain.state import Event, EventType, ModelState, RegistryState
from registry.domain.validation import validate_version
from registry.errors import (
    ApprovalRequired,
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)

__all__ = [
    "MAX_COMMENT_LENGTH",
    "approve_transition_request",
    "create_comment",
    "create_transition_request",
    "delete_comment",
    "delete_transition_request",
    "find_comment",
    "reject_transition_request",
    "rollback_stage",
    "stage_holders",
    "update_comment",
]

E = EventType

MAX_COMMENT_LENGTH = 5000
"""Longest comment or request text accepted (characters)."""


def _text(value: Any, what: str, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        kind = "a string or None" if optional else "a non-empty string"
        raise InvalidParameterValue(f"The {what} must be {kind}, got {value!r}.")
    if len(value) > MAX_COMMENT_LENGTH:
        raise InvalidParameterValue(f"The {what} is {len(value)} characters long; the limit is {MAX_COMMENT_LENGTH}.")
    return value


def _target(stage: Any) -> Stage:
    if isinstance(stage, str) and not stage.strip():
        raise InvalidParameterValue("The stage must not be an empty string.", stage=stage)
    return Stage.parse(stage)


def _version(state: RegistryState, name: str, version: Any) -> tuple[ModelState, int]:
    model = state.model(name)
    number = validate_version(version)
    model.version(number)
    return model, number


def _no_request(name: str, number: int, stage: Stage, who: str = "") -> ResourceDoesNotExist:
    return ResourceDoesNotExist(
        f"Version {number} of model '{name}' has no pending request{who} to move to {stage.value}. List them with "
        "list_transition_requests (or `registry requests list`).",
        name=name,
        version=number,
        stage=stage.value,
    )


# -- transition requests ------------------------------------------------------------------------------------------


def create_transition_request(
    state: RegistryState, policy: StagePolicy, name: str, version: Any, stage: Any, comment: Any, actor: str | None
) -> list[Change]:
    """Ask for ``version`` to move to ``stage``: refused when the policy would never allow the move."""
    target = _target(stage)
    text = _text(comment, "comment", optional=True)
    model, number = _version(state, name, version)
    mv = model.versions[number]
    if mv.current_stage == target:
        raise InvalidParameterValue(
            f"Version {number} of model '{name}' is already in {target.value}; there is nothing to request.",
            name=name,
            version=number,
        )
    if target not in policy.transitions[mv.current_stage]:
        # The policy would never allow this move: say so now (guards are checked when the request is approved)
        policy.check(mv.current_stage, target, mv.tags, name=name, version=number)
    if any(r.user_id == actor for r in model.governance.pending(number, target)):
        raise ResourceAlreadyExists(
            f"{actor or 'This user'} already has a pending request to move version {number} of model '{name}' to "
            f"{target.value}.",
            name=name,
            version=number,
        )
    data = {"version": number, "stage": target.value, "comment": text}
    return [Change(E.TRANSITION_REQUEST_CREATED, model.id, name, data)]


def approve_transition_request(
    state: RegistryState,
    policy: StagePolicy,
    name: str,
    version: Any,
    stage: Any,
    archive_existing_versions: Any,
    comment: Any,
    actor: str | None,
) -> list[Change]:
    """Approve the pending requests to move ``version`` to ``stage`` and move it, in one change."""
    target = _target(stage)
    text = _text(comment, "comment", optional=True)
    model, number = _version(state, name, version)
    pending = model.governance.pending(number, target)
    if not pending:
        raise _no_request(name, number, target)
    if policy.distinct_approver and all(r.user_id == actor for r in pending):
        raise ApprovalRequired(
            f"{actor or 'The requester'} requested this move of version {number} of model '{name}' to "
            f"{target.value}, and the '{policy.name}' stage policy requires it to be approved by someone other "
            "than the requester.",
            name=name,
            version=number,
            to_stage=target.value,
        )
    _, data = plan_transition(state, policy, name, number, target, archive_existing_versions, direct=False)
    approved = [r.id for r in pending]
    others = closed_requests(model, [number, *(a["version"] for a in data["archived"])])
    data.pop("closed_requests", None)
    data.update(stage=target.value, request_ids=approved, comment=text)
    if rest := [i for i in others if i not in approved]:
        data["closed_requests"] = rest
    return [Change(E.TRANSITION_REQUEST_APPROVED, model.id, name, data)]


def reject_transition_request(state: RegistryState, name: str, version: Any, stage: Any, comment: Any) -> list[Change]:
    """Reject the pending requests to move ``version`` to ``stage``."""
    target = _target(stage)
    text = _text(comment, "comment", optional=True)
    model, number = _version(state, name, version)
    pending = model.governance.pending(number, target)
    if not pending:
        raise _no_request(name, number, target)
    data = {"version": number, "stage": target.value, "request_ids": [r.id for r in pending], "comment": text}
    return [Change(E.TRANSITION_REQUEST_REJECTED, model.id, name, data)]


def delete_transition_request(state: RegistryState, name: str, version: Any, stage: Any, creator: Any) -> list[Change]:
    """Withdraw ``creator``'s pending request to move ``version`` to ``stage``."""
    target = _target(stage)
    if not isinstance(creator, str) or not creator:
        raise InvalidParameterValue(f"creator must be the user name of the request's creator, got {creator!r}.")
    model, number = _version(state, name, version)
    mine = [r for r in model.governance.pending(number, target) if r.user_id == creator]
    if not mine:
        raise _no_request(name, number, target, f" by {creator}")
    data = {"version": number, "stage": target.value, "request_ids": [r.id for r in mine], "creator": creator}
    return [Change(E.TRANSITION_REQUEST_DELETED, model.id, name, data)]


def transition_requests(state: RegistryState, name: str, version: Any, include_closed: Any) -> list[TransitionRequest]:
    """A version's requests, oldest first: the pending ones, or all of them with ``include_closed``."""
    if not isinstance(include_closed, bool):
        raise InvalidParameterValue(f"include_closed must be True or False, got {include_closed!r}.")
    model, number = _version(state, name, version)
    return [r for r in model.governance.requests.values() if r.version == number and (include_closed or r.pending)]


# -- comments -----------------------------------------------------------------------------------------------------


def create_comment(state: RegistryState, name: str, version: Any, comment: Any, comment_id: str) -> list[Change]:
    text = _text(comment, "comment", optional=False)
    model, number = _version(state, name, version)
    data = {"version": number, "id": f"{model.id}.{comment_id}", "comment": text}
    return [Change(E.MODEL_VERSION_COMMENT_CREATED, model.id, model.name, data)]


def find_comment(state: RegistryState, comment_id: Any) -> tuple[ModelState, Comment]:
    """The model holding comment ``comment_id`` and the comment.

    Raises:
        ResourceDoesNotExist: no such comment (any more).
    """
    if not isinstance(comment_id, str) or not comment_id:
        raise InvalidParameterValue(f"A comment id is a non-empty string, got {comment_id!r}.")
    model = state.models.get(comment_model_id(comment_id)) if "." in comment_id else None
    found = model.governance.comments.get(comment_id) if model is not None else None
    if model is None or found is None:
        raise ResourceDoesNotExist(
            f"Comment {comment_id!r} not found (deleted, or on a version since deleted). List a version's comments "
            "with list_comments.",
            id=comment_id,
        )
    return model, found


def _author_only(found: Comment, actor: str | None, doing: str) -> None:
    if found.user_id != actor:
        raise InvalidParameterValue(
            f"Only the author of comment {found.id!r} ({found.user_id}) may {doing} it; you are {actor}.",
            id=found.id,
        )


def update_comment(state: RegistryState, comment_id: Any, comment: Any, actor: str | None) -> list[Change]:
    text = _text(comment, "comment", optional=False)
    model, found = find_comment(state, comment_id)
    _author_only(found, actor, "edit")
    data = {"version": found.version, "id": found.id, "comment": text}
    return [Change(E.MODEL_VERSION_COMMENT_UPDATED, model.id, model.name, data)]


def delete_comment(state: RegistryState, comment_id: Any, actor: str | None) -> list[Change]:
    model, found = find_comment(state, comment_id)
    _author_only(found, actor, "delete")
    return [Change(E.MODEL_VERSION_COMMENT_DELETED, model.id, model.name, {"version": found.version, "id": found.id})]


# -- stage rollback -----------------------------------------------------------------------------------------------


def stage_holders(events: Sequence[Event], model_id: str, stage: Stage) -> list[int]:
    """The versions of model ``model_id`` that entered ``stage``, in the order they entered it (a version
    appears again each time it re-entered)."""
    holders: list[int] = []
    for e in events:
        if e.model_id != model_id:
            continue
        d = e.data
        if e.type in (E.MODEL_VERSION_STAGE_TRANSITIONED, E.TRANSITION_REQUEST_APPROVED):
            if d.get("to_stage") == stage.value and d.get("from_stage") != stage.value:
                holders.append(int(d["version"]))
        elif e.type == E.REGISTERED_MODEL_IMPORTED:
            entered = [v for v in (*d.get("versions", ()), *d.get("updates", ())) if v.get("stage") == stage.value]
            holders += [int(v["version"]) for v in entered]
    return holders


def rollback_stage(
    state: RegistryState,
    policy: StagePolicy,
    name: str,
    stage: Any,
    reason: Any,
    events: Sequence[Event],
) -> list[Change]:
    """Put back the version that held ``stage`` before the current one and archive the versions in it now, in
    one change (a stage transition marked as a rollback). ``events`` is the journal up to the state's position.

    Raises:
        ResourceDoesNotExist: nothing is in ``stage``, no other version ever held it, or the one that did was
            deleted since.
    """
    target = _target(stage)
    if target in (Stage.NONE, Stage.ARCHIVED):
        raise InvalidParameterValue(f"Only Staging and Production can be rolled back, not {target.value}.")
    text = _text(reason, "reason", optional=True)
    model = state.model(name)
    current = model.latest(target)
    if current is None:
        raise ResourceDoesNotExist(
            f"No version of model '{name}' is in {target.value}; there is nothing to roll back.",
            name=name,
            stage=target.value,
        )
    previous = [v for v in stage_holders(events, model.id, target) if v != current.version]
    if not previous:
        raise ResourceDoesNotExist(
            f"No version of model '{name}' held {target.value} before version {current.version}; there is nothing "
            "to roll back to.",
            name=name,
            stage=target.value,
        )
    number = previous[-1]
    if number not in model.versions:
        raise ResourceDoesNotExist(
            f"Version {number} of model '{name}', which held {target.value} before version {current.version}, was "
            "deleted; there is nothing to roll back to. Promote a version with transition_model_version_stage.",
            name=name,
            version=number,
            stage=target.value,
        )
    mv = model.versions[number]
    # A rollback restores what was approved before: it needs no new approval, but the policy's moves and
    # guards still apply (checked by plan_transition without the approval requirement).
    _, data = plan_transition(state, policy, name, number, target, False, direct=False)
    leaving = [other for other in sorted(model.by_stage[target]) if other != number]
    for other in leaving:
        policy.check(target, Stage.ARCHIVED, model.versions[other].tags, name=name, version=other)
    data["archived"] = [{"version": other, "from_stage": target.value} for other in leaving]
    data.pop("closed_requests", None)
    closed = closed_requests(model, [mv.version, *leaving])
    if closed:
        data["closed_requests"] = closed
    data["rollback"] = {"from_version": current.version, "reason": text}
    return [Change(E.MODEL_VERSION_STAGE_TRANSITIONED, model.id, name, data)]
