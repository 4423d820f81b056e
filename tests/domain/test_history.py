"""Model history from the journal, and the one-line description of every event type."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from registry import InvalidParameterValue, Registry, ResourceDoesNotExist
from registry.domain.history import describe_event
from registry.domain.state import Event, EventType


def _types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def test_history_follows_renames_and_filters_versions(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("a")
    reg.create_registered_model("other")
    reg.create_model_version("a", model_dir())
    reg.create_model_version("a", model_dir())
    reg.transition_model_version_stage("a", 1, "Staging")
    reg.transition_model_version_stage("a", 2, "Staging", archive_existing_versions=True)
    reg.set_registered_model_alias("a", "champion", 1)
    reg.set_registered_model_alias("a", "champion", 2)
    reg.rename_registered_model("a", "b")
    reg.set_model_version_tag("b", 1, "k", "v")
    history = reg.history("b")
    assert all(e.model_id == history[0].model_id for e in history)
    assert _types(history)[0] == EventType.REGISTERED_MODEL_CREATED
    assert len(history) == 9
    v1 = reg.history("b", 1)
    assert [describe_event(e) for e in v1[1:]] == [
        "version 1: None -> Staging",
        "version 2: None -> Staging (archived 1)",
        "alias @champion -> version 1",
        "alias @champion -> version 2 (was version 1)",
        "version 1: tag k=v",
    ]
    with pytest.raises(ResourceDoesNotExist):
        reg.history("a-never")


def test_history_of_a_deleted_model_and_of_a_reused_name(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", model_dir())
    reg.delete_registered_model("m")
    gone = reg.history("m")
    assert _types(gone)[-1] == EventType.REGISTERED_MODEL_DELETED
    assert reg.history("m", 1)[-1].type == EventType.REGISTERED_MODEL_DELETED
    reg.create_registered_model("m")
    assert _types(reg.history("m")) == [EventType.REGISTERED_MODEL_CREATED]


def test_every_event_type_has_a_description(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m", tags={"t": "1"})
    reg.update_registered_model("m", "words")
    reg.set_registered_model_tag("m", "team", "risk")
    reg.delete_registered_model_tag("m", "team")
    reg.create_model_version("m", model_dir())
    reg.update_model_version("m", 1, "v-words")
    reg.set_model_version_tag("m", 1, "k", "v")
    reg.delete_model_version_tag("m", 1, "k")
    reg.set_registered_model_alias("m", "champion", 1)
    reg.delete_registered_model_alias("m", "champion")
    reg.create_model_version("m", "s3://x")
    reg.delete_model_version("m", 2)
    reg.rename_registered_model("m", "n")
    reg.delete_registered_model("n")
    described = {e.type: describe_event(e) for e in reg.events()}
    assert described == {
        EventType.REGISTERED_MODEL_CREATED: "model created",
        EventType.REGISTERED_MODEL_UPDATED: "description set to words",
        EventType.REGISTERED_MODEL_TAG_SET: "tag team=risk",
        EventType.REGISTERED_MODEL_TAG_DELETED: "tag team deleted",
        EventType.MODEL_VERSION_CREATED: "version 2 created from s3://x",
        EventType.MODEL_VERSION_UPDATED: "version 1: description set to v-words",
        EventType.MODEL_VERSION_TAG_SET: "version 1: tag k=v",
        EventType.MODEL_VERSION_TAG_DELETED: "version 1: tag k deleted",
        EventType.MODEL_VERSION_ALIAS_CREATED: "alias @champion -> version 1",
        EventType.MODEL_VERSION_ALIAS_DELETED: "alias @champion removed (was version 1)",
        EventType.MODEL_VERSION_DELETED: "version 2 deleted (was None)",
        EventType.REGISTERED_MODEL_RENAMED: "renamed 'm' -> 'n'",
        EventType.REGISTERED_MODEL_DELETED: "model deleted (versions 1)",
    }
    unknown = Event(seq=1, timestamp=0, type="something.new", actor=None, model_id=None, name=None, data={"a": 1})
    assert describe_event(unknown) == 'something.new {"a": 1}'


def test_a_logged_version_says_so() -> None:
    logged = Event(
        seq=1,
        timestamp=0,
        type=EventType.MODEL_VERSION_CREATED,
        actor=None,
        model_id="x",
        name="m",
        data={"version": 3, "source": None, "digest": "ab"},
    )
    assert describe_event(logged) == "version 3 logged into the registry"


def test_what_was_in_production_or_champion_at_a_time(reg: Registry) -> None:
    # the reg fixture's clock ticks one millisecond per reading: each commit has its own time
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", "s3://x")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 1, "Production")
    reg.set_registered_model_alias("m", "champion", 1)
    t_first = max(e.timestamp for e in reg.events())
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    reg.set_registered_model_alias("m", "champion", 2)
    reg.rename_registered_model("m", "renamed")
    assert reg.version_at("m", t_first, alias="champion").version == 1  # type: ignore[union-attr]
    assert reg.version_at("m", t_first, stage="production").version == 1  # type: ignore[union-attr]
    now = max(e.timestamp for e in reg.events())
    assert reg.version_at("renamed", now, alias="champion").version == 2  # type: ignore[union-attr]
    assert reg.version_at("renamed", now, stage="Archived").version == 1  # type: ignore[union-attr]
    assert reg.version_at("m", t_first, alias="nope") is None
    before_anything = min(e.timestamp for e in reg.events()) - 1
    assert reg.state_at(before_anything).names() == []
    with pytest.raises(ResourceDoesNotExist, match=r"'renamed' did not exist yet at .*given that name"):
        reg.version_at("renamed", t_first, alias="champion")  # it was called "m" then
    with pytest.raises(ResourceDoesNotExist, match=r"'m' did not exist yet at 20\S+Z: it was created") as exc:
        reg.version_at("m", before_anything, alias="champion")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(ResourceDoesNotExist, match="There was no model 'never' at "):
        reg.version_at("never", now, alias="champion")
    with pytest.raises(InvalidParameterValue):
        reg.version_at("m", t_first)
    with pytest.raises(InvalidParameterValue):
        reg.state_at("yesterday")  # type: ignore[arg-type]


def test_rollback_alias(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(4):
        reg.create_model_version("m", "s3://x")
    reg.set_registered_model_alias("m", "champion", 1)
    reg.set_registered_model_alias("m", "champion", 2)
    reg.set_registered_model_alias("m", "champion", 3)
    assert reg.rollback_alias("m", "champion").version == 2
    assert reg.rollback_alias("m", "champion").version == 3  # twice: back where it started
    reg.delete_model_version("m", 2)
    assert reg.rollback_alias("m", "champion").version == 1  # a deleted version is skipped
    reg.set_registered_model_alias("m", "solo", 4)
    with pytest.raises(ResourceDoesNotExist, match="nothing to roll back"):
        reg.rollback_alias("m", "solo")
    with pytest.raises(ResourceDoesNotExist):
        reg.rollback_alias("m", "absent")
