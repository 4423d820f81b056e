"""Typed events, in-process subscribers, reading and following the journal (registry.events)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from registry import Registry
from registry.domain.state import Event, EventType
from registry.errors import InvalidParameterValue
from registry.events import (
    EventBus,
    ModelVersionAliasCreated,
    ModelVersionCreated,
    ModelVersionStageTransitioned,
    RegisteredModelRenamed,
    RegistryEvent,
    WebhookChanged,
    known_event_types,
    typed,
)

E = EventType


def make_changes(reg: Registry) -> None:
    """One of every change the registry makes (in this order)."""
    reg.create_registered_model("fraud", tags={"team": "risk"}, description="d")
    reg.update_registered_model("fraud", description="d2")
    reg.set_registered_model_tag("fraud", "k", "v")
    reg.delete_registered_model_tag("fraud", "k")
    reg.create_model_version("fraud", "s3://bucket/1", run_id="r1")
    reg.create_model_version("fraud", "s3://bucket/2")
    reg.update_model_version("fraud", 1, description="first")
    reg.set_model_version_tag("fraud", 1, "ok", "yes")
    reg.delete_model_version_tag("fraud", 1, "ok")
    reg.transition_model_version_stage("fraud", 1, "Staging")
    reg.transition_model_version_stage("fraud", 2, "Staging", archive_existing_versions=True)
    reg.set_registered_model_alias("fraud", "champion", 2)
    reg.delete_registered_model_alias("fraud", "champion")
    reg.delete_model_version("fraud", 1)
    reg.rename_registered_model("fraud", "fraud2")
    reg.delete_registered_model("fraud2")


ALL_TYPES = [
    E.REGISTERED_MODEL_CREATED,
    E.REGISTERED_MODEL_UPDATED,
    E.REGISTERED_MODEL_TAG_SET,
    E.REGISTERED_MODEL_TAG_DELETED,
    E.MODEL_VERSION_CREATED,
    E.MODEL_VERSION_CREATED,
    E.MODEL_VERSION_UPDATED,
    E.MODEL_VERSION_TAG_SET,
    E.MODEL_VERSION_TAG_DELETED,
    E.MODEL_VERSION_STAGE_TRANSITIONED,
    E.MODEL_VERSION_STAGE_TRANSITIONED,
    E.MODEL_VERSION_ALIAS_CREATED,
    E.MODEL_VERSION_ALIAS_DELETED,
    E.MODEL_VERSION_DELETED,
    E.REGISTERED_MODEL_RENAMED,
    E.REGISTERED_MODEL_DELETED,
]


# -- typed events ---------------------------------------------------------------------------------------------------


def test_every_change_is_one_typed_event_with_seq_time_and_actor(reg: Registry) -> None:
    make_changes(reg)
    events = reg.events()
    assert [e.type for e in events] == ALL_TYPES
    assert [e.seq for e in events] == list(range(1, len(ALL_TYPES) + 1))
    assert all(e.actor == "tester" for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert all(type(e) is not RegistryEvent and isinstance(e, RegistryEvent) for e in events)
    created = events[4]
    assert isinstance(created, ModelVersionCreated)
    assert (created.version, created.source, created.run_id, created.model_name) == (1, "s3://bucket/1", "r1", "fraud")
    assert (created.entity, created.action) == ("model_version", "created")
    promoted = events[10]
    assert isinstance(promoted, ModelVersionStageTransitioned)
    assert (promoted.version, promoted.from_stage, promoted.to_stage) == (2, "None", "Staging")
    assert promoted.archived_versions == [1]
    alias = events[11]
    assert isinstance(alias, ModelVersionAliasCreated)
    assert (alias.alias, alias.version, alias.previous_version) == ("champion", 2, None)
    renamed = events[14]
    assert isinstance(renamed, RegisteredModelRenamed)
    assert (renamed.old_name, renamed.new_name) == ("fraud", "fraud2")


def test_typed_keeps_unknown_types_and_is_idempotent() -> None:
    raw = Event(seq=5, timestamp=1, type="governance.approved", actor=None, model_id=None, name="m", data={"x": 1})
    view = typed(raw)
    assert type(view) is RegistryEvent
    assert (view.entity, view.action, view.data) == ("governance", "approved", {"x": 1})
    assert typed(view) is view


def test_webhook_events_never_show_the_secret(reg: Registry) -> None:
    reg.create_webhook("hook", "http://127.0.0.1:9/x", ["model_version.created"], secret="top-secret")
    (event,) = reg.events(types="webhook.created")
    assert isinstance(event, WebhookChanged)
    assert "secret" not in event.data
    assert event.data["has_secret"] is True
    assert "top-secret" not in repr(event)


# -- subscribers ----------------------------------------------------------------------------------------------------


def test_handlers_run_after_commit_in_subscription_order(reg: Registry) -> None:
    calls: list[tuple[str, int, bool]] = []

    def first(event: RegistryEvent) -> None:
        # The change is visible to a handler: it runs after the commit.
        calls.append(("first", event.seq, reg.get_registered_model("m").name == "m"))

    reg.subscribe(first)
    reg.subscribe(lambda e: calls.append(("second", e.seq, True)))
    reg.create_registered_model("m")
    assert calls == [("first", 1, True), ("second", 1, True)]


def test_failing_handler_is_isolated_logged_and_recorded(reg: Registry, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def broken(event: RegistryEvent) -> None:
        raise RuntimeError("handler bug")

    bad = reg.subscribe(broken)
    reg.subscribe(lambda e: seen.append(e.seq))
    with caplog.at_level(logging.ERROR, logger="registry"):
        reg.create_registered_model("m")  # does not raise
    assert reg.get_registered_model("m").name == "m"  # the change stays
    assert seen == [1]  # the next handler still ran
    (failure,) = reg.handler_errors
    assert failure.subscription is bad
    assert failure.event.seq == 1
    assert isinstance(failure.exception, RuntimeError)
    assert list(bad.errors) == [failure]
    assert any("handler bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert "change stays committed" in caplog.text


def test_unsubscribe_and_context_manager(reg: Registry) -> None:
    seen: list[str] = []
    sub = reg.subscribe(lambda e: seen.append(e.name or ""))
    reg.create_registered_model("a")
    sub.unsubscribe()
    sub.unsubscribe()  # twice is harmless
    assert not sub.active
    reg.create_registered_model("b")
    with reg.subscribe(lambda e: seen.append("ctx:" + (e.name or ""))) as inner:
        assert inner.active
        reg.create_registered_model("c")
    reg.create_registered_model("d")
    assert seen == ["a", "ctx:c"]


def test_filter_by_event_type_pattern_and_model(reg: Registry) -> None:
    by_type: list[str] = []
    by_pattern: list[str] = []
    by_model: list[str] = []
    reg.subscribe(lambda e: by_type.append(e.type), events=[E.MODEL_VERSION_CREATED, E.REGISTERED_MODEL_CREATED])
    reg.subscribe(lambda e: by_pattern.append(e.type), events="model_version_tag.*")
    reg.subscribe(lambda e: by_model.append(f"{e.name}:{e.type}"), model="b")
    for name in ("a", "b"):
        reg.create_registered_model(name)
        reg.create_model_version(name, "s3://x")
        reg.set_model_version_tag(name, 1, "k", "v")
    reg.rename_registered_model("a", "b2")
    reg.rename_registered_model("b", "a")  # a rename matches the old and the new name
    assert by_type == [E.REGISTERED_MODEL_CREATED, E.MODEL_VERSION_CREATED] * 2
    assert by_pattern == [E.MODEL_VERSION_TAG_SET] * 2
    assert by_model == [
        "b:registered_model.created",
        "b:model_version.created",
        "b:model_version_tag.set",
        "b:registered_model.renamed",
    ]


def test_handler_may_unsubscribe_itself_and_others_during_dispatch(reg: Registry) -> None:
    seen: list[str] = []
    subs = {}

    def first(event: RegistryEvent) -> None:
        seen.append("first")
        subs["second"].unsubscribe()
        subs["first"].unsubscribe()

    subs["first"] = reg.subscribe(first)
    subs["second"] = reg.subscribe(lambda e: seen.append("second"))
    reg.create_registered_model("a")
    reg.create_registered_model("b")
    assert seen == ["first"]


def test_handler_writing_to_the_registry_nests_cleanly(reg: Registry) -> None:
    seen: list[str] = []

    def tag_new_versions(event: RegistryEvent) -> None:
        if isinstance(event, ModelVersionCreated):
            reg.set_model_version_tag(event.model_name or "", event.version, "checked", "yes")

    reg.subscribe(tag_new_versions)
    reg.subscribe(lambda e: seen.append(e.type))
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://x")
    assert reg.get_model_version("m", 1).tags == {"checked": "yes"}
    assert E.MODEL_VERSION_TAG_SET in seen


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": "model_version.exploded"}, "Unknown event type 'model_version.exploded'"),
        ({"events": "MODEL_VERSION_CREATED"}, "not of the form 'entity.action'"),
        ({"events": []}, "at least one event type"),
        ({"model": ""}, "model must be a model name"),
        ({"model": ["ok", 3]}, "model must be a model name"),
    ],
)
def test_subscribe_validates_up_front(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        EventBus().subscribe(print, **kwargs)


def test_subscribe_refuses_a_non_callable() -> None:
    with pytest.raises(InvalidParameterValue, match="must be callable"):
        EventBus().subscribe("print")  # type: ignore[arg-type]


def test_known_event_types_cover_the_event_type_constants() -> None:
    constants = {v for k, v in vars(EventType).items() if k.isupper()}
    assert constants <= set(known_event_types())


# -- listing and following the journal -------------------------------------------------------------------------------


def test_events_since_types_model_limit(reg: Registry) -> None:
    make_changes(reg)
    assert [e.seq for e in reg.events(since=14)] == [15, 16]
    assert [e.seq for e in reg.events(types="model_version.created")] == [5, 6]
    assert [e.seq for e in reg.events(since=5, types="model_version.*", limit=2)] == [6, 7]
    assert [e.type for e in reg.events(model="fraud2")] == [E.REGISTERED_MODEL_RENAMED, E.REGISTERED_MODEL_DELETED]
    assert reg.events(since=100) == []


@pytest.mark.parametrize("since", [-1, 1.5, "3", True, None])
def test_events_refuses_a_bad_since(reg: Registry, since: object) -> None:
    with pytest.raises(InvalidParameterValue, match="since must be a sequence number"):
        reg.events(since=since)  # type: ignore[arg-type]


def test_events_refuses_a_bad_limit(reg: Registry) -> None:
    with pytest.raises(InvalidParameterValue, match="limit"):
        reg.events(limit=0)


def test_follow_yields_backlog_then_stops_at_timeout(reg: Registry) -> None:
    reg.create_registered_model("a")
    reg.create_registered_model("b")
    assert [e.name for e in reg.follow(since=0, timeout=0)] == ["a", "b"]
    assert [e.name for e in reg.follow(since=1, timeout=0)] == ["b"]
    assert list(reg.follow(timeout=0)) == []  # since=None: from now on


def test_follow_sees_another_clients_commits_in_order_once(tmp_path: Path) -> None:
    root = str(tmp_path / "reg")
    follower, writer = Registry(root), Registry(root)
    done = threading.Event()

    def write() -> None:
        for i in range(30):
            writer.create_registered_model(f"m{i}")
        done.set()

    got = []
    thread = threading.Thread(target=write)
    stream = follower.follow(since=0, poll_interval=0.01, timeout=30)
    thread.start()
    for event in stream:
        got.append(event)
        if len(got) == 30:
            break
    thread.join(10)
    assert [e.seq for e in got] == list(range(1, 31))
    assert [e.name for e in got] == [f"m{i}" for i in range(30)]
    # resuming from the last position after a "restart" yields only what came later
    writer.create_registered_model("late")
    resumed = list(Registry(root).follow(since=got[-1].seq, timeout=0))
    assert [(e.seq, e.name) for e in resumed] == [(31, "late")]


def test_follow_filters_without_losing_its_position(reg: Registry) -> None:
    make_changes(reg)
    seen = [e.seq for e in reg.follow(since=0, types="model_version.created", timeout=0)]
    assert seen == [5, 6]


def test_follow_validates(reg: Registry) -> None:
    with pytest.raises(InvalidParameterValue, match="poll_interval"):
        next(reg.follow(poll_interval=0))
    with pytest.raises(InvalidParameterValue, match="timeout"):
        next(reg.follow(timeout=-1))


def test_tail_events_reads_only_what_was_appended(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "reg"), durable=False)
    store = reg._store
    reg.create_registered_model("a")
    events, offset = store.tail_events(0, 0)  # type: ignore[attr-defined]
    assert [e.seq for e in events] == [1]
    assert offset == os.path.getsize(tmp_path / "reg" / "journal" / "journal.log")
    assert store.tail_events(1, offset) == ([], offset)  # type: ignore[attr-defined]
    reg.create_registered_model("b")
    events, offset2 = store.tail_events(1, offset)  # type: ignore[attr-defined]
    assert [e.name for e in events] == ["b"]
    assert offset2 > offset
    # an offset past the end (a journal replaced by a shorter one) starts again from the beginning
    events, _ = store.tail_events(0, offset2 + 10_000)  # type: ignore[attr-defined]
    assert [e.seq for e in events] == [1, 2]


def test_events_survive_reopening_and_use_the_resume_hint(tmp_path: Path) -> None:
    root = str(tmp_path / "reg")
    with Registry(root) as reg:
        make_changes(reg)
        assert len(reg.events(since=10)) == 6
        assert len(reg.events(since=12)) == 4  # read from the remembered offset
        assert len(reg.events(since=3)) == 13  # before the hint: reads from the start
    assert [e.type for e in Registry(root).events()] == ALL_TYPES
