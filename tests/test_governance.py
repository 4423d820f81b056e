"""Issue 16: transition requests (every state and transition), comments, stage rollback, and history entries
with actor, time and details, on both backends, with two users sharing one registry."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TickingClock, registry_uri

from registry import (
    LIFECYCLE,
    ApprovalRequired,
    IllegalStageTransition,
    InvalidParameterValue,
    Registry,
    RequestStatus,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    Stage,
)
from registry.domain.events import known_event_types
from registry.domain.history import describe_event

GOVERNED = LIFECYCLE.with_approval("Production")


@pytest.fixture(params=["folder", "memory", "bucket"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Registry, Registry]]:
    """Alice and Bob on one registry whose policy requires an approved request (by someone else) for
    Production; model 'fraud' with versions 1-3, version 1 and 2 in Staging."""
    uri = registry_uri(request.param, request, tmp_path)
    if uri == "memory://":
        uri = f"memory://{uuid.uuid4().hex}"  # a named one, so both users share it
    clock = TickingClock()
    alice = Registry(uri, clock=clock, user="alice", policy=GOVERNED)
    bob = Registry(uri, clock=clock, user="bob")
    alice.create_registered_model("fraud")
    for n in range(3):
        alice.create_model_version("fraud", f"s3://bucket/{n}")
    for n in (1, 2):
        alice.transition_model_version_stage("fraud", n, "Staging")
    yield alice, bob
    alice.close()
    bob.close()


def test_create_then_approve_moves_the_stage_in_one_event(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    request = alice.create_transition_request("fraud", 1, "production", comment="AUC 0.91 on March")
    assert (request.status, request.user_id, request.to_stage, request.comment) == (
        RequestStatus.PENDING,
        "alice",
        Stage.PRODUCTION,
        "AUC 0.91 on March",
    )
    assert bob.list_transition_requests("fraud", 1) == [request]
    seen = []
    with bob.subscribe(seen.append, events="transition_request.*"):
        approved = bob.approve_transition_request("fraud", 1, "Production", comment="ship it")
    assert approved.status == RequestStatus.APPROVED and approved.resolved_by == "bob"
    assert approved.resolution_comment == "ship it"
    assert alice.get_model_version("fraud", 1).current_stage == Stage.PRODUCTION
    assert alice.list_transition_requests("fraud", 1) == []
    assert alice.list_transition_requests("fraud", 1, include_closed=True) == [approved]
    # One event: the request's status and the stage change together.
    [event] = seen
    assert event.type == "transition_request.approved" and event.actor == "bob"
    assert (event.from_stage, event.to_stage, event.request_ids) == ("Staging", "Production", [request.id])
    assert alice.events(event.seq - 1) == [event]


def test_create_then_reject(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    alice.create_transition_request("fraud", 1, "Production")
    rejected = bob.reject_transition_request("fraud", 1, "Production", comment="drift on segment B")
    assert (rejected.status, rejected.resolved_by, rejected.resolution_comment) == (
        RequestStatus.REJECTED,
        "bob",
        "drift on segment B",
    )
    assert alice.get_model_version("fraud", 1).current_stage == Stage.STAGING
    with pytest.raises(ResourceDoesNotExist, match="no pending request"):
        bob.approve_transition_request("fraud", 1, "Production")  # a rejected request cannot be approved
    assert alice.create_transition_request("fraud", 1, "Production").pending  # asking again is fine


def test_approval_required_but_missing(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    for who in (alice, bob):
        with pytest.raises(ApprovalRequired, match="request must be approved"):
            who.transition_model_version_stage("fraud", 1, "Production")
    with pytest.raises(ResourceDoesNotExist, match="no pending request"):
        bob.approve_transition_request("fraud", 1, "Production")
    assert alice.get_model_version("fraud", 1).current_stage == Stage.STAGING
    # Stages without the requirement move directly, as before; Archived is still free.
    alice.transition_model_version_stage("fraud", 3, "Staging")


def test_approver_equal_to_requester_is_refused_when_required(team: tuple[Registry, Registry]) -> None:
    alice, _ = team
    alice.create_transition_request("fraud", 1, "Production")
    with pytest.raises(ApprovalRequired, match="someone other than the requester"):
        alice.approve_transition_request("fraud", 1, "Production")
    assert alice.list_transition_requests("fraud", 1)[0].pending
    # Without distinct_approver, the requester may approve their own request.
    alice.set_stage_policy(LIFECYCLE.with_approval("Production", distinct_approver=False))
    assert alice.approve_transition_request("fraud", 1, "Production").resolved_by == "alice"


def test_requests_on_a_deleted_version_are_closed_by_the_delete(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    first = alice.create_transition_request("fraud", 2, "Production")
    second = bob.create_transition_request("fraud", 2, "Archived")
    bob.delete_model_version("fraud", 2)
    event = alice.events(types="model_version.deleted")[-1]
    assert event.data["closed_requests"] == [first.id, second.id]
    closed = [r for r in _all_requests(alice) if r.id in (first.id, second.id)]
    assert [(r.status, r.reason, r.resolved_by) for r in closed] == [
        (RequestStatus.CLOSED, "version 2 was deleted", "bob")
    ] * 2
    with pytest.raises(ResourceDoesNotExist):
        bob.approve_transition_request("fraud", 2, "Production")


def test_requests_of_a_version_moved_by_another_route_are_closed(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    to_prod = alice.create_transition_request("fraud", 1, "Production")
    other = alice.create_transition_request("fraud", 2, "Production")
    bob.transition_model_version_stage("fraud", 1, "Archived")
    [closed] = [r for r in _all_requests(alice) if r.id == to_prod.id]
    assert (closed.status, closed.reason) == (RequestStatus.CLOSED, "version 1 was moved to Archived")
    assert alice.list_transition_requests("fraud", 2) == [other]  # other versions' requests are untouched
    # Approving with archive_existing_versions closes the requests of the versions it archives.
    alice.transition_model_version_stage("fraud", 1, "Staging")
    third = alice.create_transition_request("fraud", 1, "Production")
    bob.approve_transition_request("fraud", 2, "Production")
    bob.approve_transition_request("fraud", 1, "Production", archive_existing_versions=True)
    assert alice.get_model_version("fraud", 2).current_stage == Stage.ARCHIVED
    assert {r.id: r.status for r in _all_requests(alice)}[third.id] == RequestStatus.APPROVED


def test_delete_a_request_and_duplicates(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    alice.create_transition_request("fraud", 1, "Production")
    with pytest.raises(ResourceAlreadyExists, match="already has a pending request"):
        alice.create_transition_request("fraud", 1, "Production")
    bob.create_transition_request("fraud", 1, "Production")  # another user may ask too
    with pytest.raises(ResourceDoesNotExist, match="by carol"):
        bob.delete_transition_request("fraud", 1, "Production", creator="carol")
    alice.delete_transition_request("fraud", 1, "Production", creator="alice")
    assert [r.user_id for r in bob.list_transition_requests("fraud", 1)] == ["bob"]
    statuses = [r.status for r in bob.list_transition_requests("fraud", 1, include_closed=True)]
    assert statuses == [RequestStatus.DELETED, RequestStatus.PENDING]
    # Bob asked too: with someone else's request pending, Bob may not approve his own alone... but Alice can.
    with pytest.raises(ApprovalRequired):
        bob.approve_transition_request("fraud", 1, "Production")
    alice.approve_transition_request("fraud", 1, "Production")


def test_a_request_the_policy_would_never_allow_is_refused_up_front(team: tuple[Registry, Registry]) -> None:
    alice, _ = team
    with pytest.raises(IllegalStageTransition, match="may move to"):
        alice.create_transition_request("fraud", 3, "Production")  # None -> Production is not a lifecycle move
    with pytest.raises(InvalidParameterValue, match="already in Staging"):
        alice.create_transition_request("fraud", 1, "Staging")


def test_comments(team: tuple[Registry, Registry]) -> None:
    alice, bob = team
    c = alice.create_comment("fraud", 1, "Calibrated on the March sample.")
    d = bob.create_comment("fraud", 1, "Looks fine.")
    assert [x.comment for x in bob.list_comments("fraud", 1)] == ["Calibrated on the March sample.", "Looks fine."]
    assert alice.list_comments("fraud", 2) == []
    edited = alice.update_comment(c.id, "Calibrated on the March and April samples.")
    assert edited.comment.endswith("April samples.") and edited.creation_timestamp == c.creation_timestamp
    with pytest.raises(InvalidParameterValue, match="Only the author"):
        bob.update_comment(c.id, "no")
    with pytest.raises(InvalidParameterValue, match="Only the author"):
        alice.delete_comment(d.id)
    bob.delete_comment(d.id)
    with pytest.raises(ResourceDoesNotExist):
        bob.delete_comment(d.id)
    alice.rename_registered_model("fraud", "fraud2")  # comments follow the model through renames
    assert [x.name for x in alice.list_comments("fraud2", 1)] == ["fraud2"]
    assert alice.update_comment(c.id, "still here").name == "fraud2"
    alice.delete_model_version("fraud2", 1)  # and go with their version
    with pytest.raises(ResourceDoesNotExist):
        alice.update_comment(c.id, "gone")


def test_history_has_requests_approvals_and_comments_with_actor_time_and_details(
    team: tuple[Registry, Registry],
) -> None:
    alice, bob = team
    alice.create_transition_request("fraud", 1, "Production", comment="validated")
    bob.create_comment("fraud", 1, "checked the report")
    bob.approve_transition_request("fraud", 1, "Production", comment="ok")
    entries = alice.history("fraud", 1)[-3:]
    assert [(e.type, e.actor) for e in entries] == [
        ("transition_request.created", "alice"),
        ("model_version_comment.created", "bob"),
        ("transition_request.approved", "bob"),
    ]
    assert all(e.timestamp > 0 for e in entries)
    assert [describe_event(e) for e in entries] == [
        "version 1: requested Production: validated",
        "version 1: comment checked the report",
        "version 1: request for Production approved, Staging -> Production: ok",
    ]
    assert alice.history("fraud", 2)[-1].type == "model_version.stage_transitioned"  # not version 1's events


def test_the_new_event_types_are_known_and_webhooks_accept_them(team: tuple[Registry, Registry]) -> None:
    alice, _ = team
    new = {
        "transition_request.created",
        "transition_request.approved",
        "transition_request.rejected",
        "transition_request.deleted",
        "model_version_comment.created",
        "model_version_comment.updated",
        "model_version_comment.deleted",
    }
    assert new <= set(known_event_types())
    hook = alice.create_webhook("gov", "http://127.0.0.1:9/hook", events=sorted(new))
    assert set(hook.events) == new
    alice.delete_webhook(hook.webhook_id)


def _all_requests(reg: Registry) -> list:
    return [
        r for mv in reg.list_model_versions("fraud") for r in reg.list_transition_requests("fraud", mv.version, True)
    ] + [r for e in reg.events(types="transition_request.created") for r in _closed_of_deleted(reg, e)]


def _closed_of_deleted(reg: Registry, created: object) -> list:
    """Requests of deleted versions, as the state keeps them (list_transition_requests needs a live version)."""
    with reg._store.reading() as state:  # type: ignore[attr-defined]
        model = state.model("fraud")
        live = set(model.versions)
        request = model.governance.requests[created.seq]  # type: ignore[attr-defined]
        return [] if request.version in live else [request]


# -- stage rollback ------------------------------------------------------------------------------------------------


@pytest.fixture(params=["folder", "memory", "bucket"])
def prod(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """Model 'fraud': version 1 promoted to Production, then version 2 (archiving 1); version 3 in Staging."""
    uri = registry_uri(request.param, request, tmp_path)
    reg = Registry(uri, clock=TickingClock(), user="alice")
    reg.create_registered_model("fraud")
    for n in range(3):
        reg.create_model_version("fraud", f"s3://bucket/{n}")
    for n in (1, 2, 3):
        reg.transition_model_version_stage("fraud", n, "Staging")
    for n in (1, 2):
        reg.transition_model_version_stage("fraud", n, "Production", archive_existing_versions=True)
    yield reg
    reg.close()


def _stages(reg: Registry, name: str = "fraud") -> dict[int, str]:
    return {mv.version: mv.current_stage.value for mv in reg.list_model_versions(name)}


def test_rollback_stage_restores_the_previous_holder_in_one_event(prod: Registry) -> None:
    seen = []
    with prod.subscribe(seen.append):
        restored = prod.rollback_stage("fraud", reason="latency regression")
    assert restored.version == 1 and restored.current_stage == Stage.PRODUCTION
    assert _stages(prod) == {1: "Production", 2: "Archived", 3: "Staging"}
    [event] = seen  # one atomic event: no reader sees both versions in Production, or neither
    assert event.type == "model_version.stage_transitioned" and event.archived_versions == [2]
    assert event.data["rollback"] == {"from_version": 2, "reason": "latency regression"}
    assert describe_event(event) == (
        "version 1: Archived -> Production (archived 2) (rollback from version 2: latency regression)"
    )
    # Rolling back twice returns to where it was.
    assert prod.rollback_stage("fraud").version == 2
    assert _stages(prod) == {1: "Archived", 2: "Production", 3: "Staging"}


def test_rollback_stage_after_a_rename(prod: Registry) -> None:
    prod.rename_registered_model("fraud", "fraud-v2")
    assert prod.rollback_stage("fraud-v2", "production").version == 1
    assert _stages(prod, "fraud-v2")[1] == "Production"


def test_rollback_stage_when_the_previous_holder_was_deleted(prod: Registry) -> None:
    prod.delete_model_version("fraud", 1)
    with pytest.raises(
        ResourceDoesNotExist, match="Version 1 of model 'fraud', which held Production before version 2, was deleted"
    ):
        prod.rollback_stage("fraud")
    assert _stages(prod) == {2: "Production", 3: "Staging"}  # nothing changed


def test_rollback_stage_with_nothing_to_roll_back_to(prod: Registry) -> None:
    prod.create_registered_model("solo")
    prod.create_model_version("solo", "s3://bucket/solo")
    prod.transition_model_version_stage("solo", 1, "Staging")
    with pytest.raises(ResourceDoesNotExist, match="No version of model 'solo' held Staging before version 1"):
        prod.rollback_stage("solo", "Staging")
    prod.transition_model_version_stage("fraud", 2, "Archived")
    with pytest.raises(ResourceDoesNotExist, match="No version of model 'fraud' is in Production"):
        prod.rollback_stage("fraud")
    with pytest.raises(InvalidParameterValue, match="Only Staging and Production"):
        prod.rollback_stage("fraud", "Archived")
    with pytest.raises(ResourceDoesNotExist):
        prod.rollback_stage("nope")


def test_rollback_stage_needs_no_new_approval_and_closes_requests(prod: Registry) -> None:
    prod.set_stage_policy(GOVERNED)
    pending = prod.create_transition_request("fraud", 3, "Production")
    prod.transition_model_version_stage("fraud", 3, "Archived")  # closes it
    assert prod.rollback_stage("fraud").version == 1  # restores an approved past, without a new request
    [request] = prod.list_transition_requests("fraud", 3, include_closed=True)
    assert request.id == pending.id and request.status == RequestStatus.CLOSED


def test_rollback_alias_has_the_same_shape(prod: Registry) -> None:
    prod.set_registered_model_alias("fraud", "champion", 1)
    prod.set_registered_model_alias("fraud", "champion", 2)
    mv = prod.rollback_alias("fraud", "champion", reason="bad canary")
    assert mv.version == 1
    event = prod.events(types="model_version_alias.created")[-1]
    assert event.data["rollback"] == {"from_version": 2, "reason": "bad canary"}
    assert describe_event(event) == "alias @champion -> version 1 (was version 2) (rollback: bad canary)"
    assert prod.rollback_alias("fraud", "champion").version == 2


def test_every_backend_keeps_the_hash_chain(reg: Registry) -> None:
    """The chain is computed in Store.write and persisted through Event.to_dict: a fresh handle reads it back."""
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://bucket/m")
    reg.create_comment("m", 1, "noted")
    events = reg.events()
    assert events[0].prev_hash == "start" and all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    report = reg.verify_history()
    assert (report.ok, report.records, report.start) == (True, 3, 1)
    if not reg.uri.startswith("memory://"):
        with Registry(reg.uri, read_only=True) as fresh:
            assert [e.hash for e in fresh.events()] == [e.hash for e in events]
            assert fresh.check().history == report
