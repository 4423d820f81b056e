"""Tests for registry.testing: the frozen clock, sequential ids, seeding, event capture and use_registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import registry
from registry import InvalidParameterValue, Registry, ResourceAlreadyExists, Stage, StagePolicy
from registry.domain.stages import LIFECYCLE, MLFLOW
from registry.testing import (
    DEFAULT_START,
    CapturedEvents,
    FrozenClock,
    capture_events,
    seed,
    sequential_ids,
    stage_path,
    use_registry,
)

# -- FrozenClock -----------------------------------------------------------------------------------------------


def test_frozen_clock_stands_still_until_advanced() -> None:
    clock = FrozenClock()
    assert clock() == clock() == DEFAULT_START
    assert clock.advance(250) == DEFAULT_START + 250
    assert clock() == DEFAULT_START + 250
    clock.set(5)
    assert clock() == 5 and clock.now == 5


def test_frozen_clock_with_a_step_moves_after_each_reading() -> None:
    clock = FrozenClock(100, step=10)
    assert [clock(), clock(), clock()] == [100, 110, 120]
    assert clock.now == 130  # looking does not take a reading
    assert clock.now == 130
    assert "130" in repr(clock)


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_frozen_clock_refuses_what_is_not_milliseconds(bad: object) -> None:
    with pytest.raises(InvalidParameterValue, match="non-negative int"):
        FrozenClock(bad)  # type: ignore[arg-type]
    clock = FrozenClock()
    with pytest.raises(InvalidParameterValue):
        clock.advance(bad)  # type: ignore[arg-type]
    assert clock() == DEFAULT_START  # a refused advance changes nothing


def test_registry_timestamps_come_from_the_injected_clock(reg_uri: str) -> None:
    clock = FrozenClock(1_000)
    with Registry(reg_uri, clock=clock, durable=False) as reg:
        created = reg.create_registered_model("m")
        clock.advance(7)
        mv = reg.create_model_version("m", "s3://b/m")
        assert created.creation_timestamp == 1_000
        assert mv.creation_timestamp == mv.last_updated_timestamp == 1_007
        assert reg.get_registered_model("m").last_updated_timestamp == 1_007


@pytest.fixture(params=["folder", "memory"])
def reg_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "reg") if request.param == "folder" else "memory://"


# -- sequential_ids --------------------------------------------------------------------------------------------


def test_sequential_ids_name_model_folders_reproducibly(tmp_path: Path) -> None:
    ids = sequential_ids("model-")
    assert [ids(), ids()] == ["model-1", "model-2"]
    with Registry(tmp_path / "reg", ids=sequential_ids(), durable=False) as reg:
        reg.create_registered_model("a")
        reg.create_registered_model("b")
    assert sorted(os.listdir(tmp_path / "reg" / "models")) == ["m1", "m2"]


# -- seed ------------------------------------------------------------------------------------------------------


def test_seed_builds_models_versions_stages_aliases_and_tags(reg: Registry) -> None:
    result = seed(
        reg,
        {
            "fraud": {
                "description": "card fraud",
                "tags": {"team": "risk"},
                "versions": [
                    {"stage": "Archived", "run_id": "r1"},
                    {"stage": "production", "aliases": ["champion"], "tags": {"validated": "true"}},
                    {"stage": "Staging", "description": "candidate", "run_link": "http://runs/3"},
                    "s3://bucket/fraud/4",
                ],
                "aliases": {"previous": 1},
            },
            "churn": {"versions": 2},
            "empty": None,
        },
    )
    assert list(result) == ["fraud", "churn", "empty"]
    fraud = reg.get_registered_model("fraud")
    assert fraud.description == "card fraud" and fraud.tags == {"team": "risk"}
    assert fraud.aliases == {"champion": 2, "previous": 1}
    assert [mv.current_stage for mv in result["fraud"]] == [Stage.ARCHIVED, Stage.PRODUCTION, Stage.STAGING, Stage.NONE]
    v1, v2, v3, v4 = result["fraud"]
    assert v1.run_id == "r1" and v1.aliases == ["previous"]
    assert v2.tags == {"validated": "true"} and v2.aliases == ["champion"]
    assert v3.description == "candidate" and v3.run_link == "http://runs/3"
    assert v4.source == "s3://bucket/fraud/4" and v1.source == "seed:/fraud/1"
    assert [mv.version for mv in result["churn"]] == [1, 2]
    assert result["empty"] == [] and reg.get_registered_model("empty").latest_versions == []
    # The returned versions are the registry's current ones.
    assert result["fraud"] == reg.list_model_versions("fraud")


def test_seed_copies_a_local_folder_source(reg: Registry, model_dir: Callable[..., str]) -> None:
    (mv,) = seed(reg, {"m": {"versions": [{"source": model_dir()}]}})["m"]
    assert mv.digest is not None and mv.storage_location is not None
    assert os.path.isfile(os.path.join(mv.storage_location, "model.bin"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"m": {"verisons": 2}}, "Unknown key.*'verisons'"),
        ({"m": {"versions": [{"stgae": "Production"}]}}, "Unknown key.*'stgae'.*version 1 of model 'm'"),
        ({"m": {"versions": [{"aliases": "champion"}]}}, "must be a list"),
        ({"m": {"versions": "3"}}, "must be a count or a list"),
        ({"m": {"versions": [3]}}, "must be a dict or a source string"),
        ({"m": ["v1"]}, "must be a dict"),
        (["m"], "dict of model name"),
    ],
)
def test_seed_refuses_a_malformed_spec_before_writing_anything(reg: Registry, spec: object, message: str) -> None:
    good_first = {"ok": {"versions": 1}}
    full = {**good_first, **spec} if isinstance(spec, dict) else spec
    with pytest.raises(InvalidParameterValue, match=message):
        seed(reg, full)  # type: ignore[arg-type]
    assert reg.list_registered_models() == []


def test_seed_surfaces_what_the_registry_refuses(reg: Registry) -> None:
    seed(reg, {"m": {}})
    with pytest.raises(ResourceAlreadyExists):
        seed(reg, {"m": {}})


def test_seed_reaches_stages_through_the_policy_and_its_guards(tmp_path: Path) -> None:
    guarded = LIFECYCLE.with_guard("Production", "validated", "true")
    with Registry(tmp_path / "reg", policy=guarded, durable=False) as reg:
        with capture_events(reg) as events:
            seed(reg, {"m": {"versions": [{"stage": "Production", "tags": {"validated": "true"}}]}})
        moves = [(e.data["from_stage"], e.data["to_stage"]) for e in events.of_type("model_version.stage_transitioned")]
        assert moves == [("None", "Staging"), ("Staging", "Production")]
        with pytest.raises(registry.IllegalStageTransition, match="validated"):
            seed(reg, {"n": {"versions": [{"stage": "Production"}]}})


def test_seed_reports_a_stage_the_policy_cannot_reach() -> None:
    frozen = StagePolicy("frozen", {})
    with Registry("memory://", policy=frozen) as reg, pytest.raises(InvalidParameterValue, match="no way"):
        seed(reg, {"m": {"versions": [{"stage": "Staging"}]}})


@settings(max_examples=25, deadline=None)
@given(
    policy=st.sampled_from([LIFECYCLE, MLFLOW]),
    stages=st.lists(st.sampled_from([s.value for s in Stage]), max_size=5),
)
def test_every_stage_is_reachable_under_the_built_in_policies(policy: StagePolicy, stages: list[str]) -> None:
    with Registry("memory://", policy=policy) as reg:
        result = seed(reg, {"m": {"versions": [{"stage": s} for s in stages]}})
        assert [mv.current_stage.value for mv in result["m"]] == stages


def test_stage_path_is_the_shortest_allowed_route() -> None:
    assert stage_path(MLFLOW, Stage.NONE, Stage.PRODUCTION) == [Stage.PRODUCTION]
    assert stage_path(LIFECYCLE, Stage.NONE, Stage.PRODUCTION) == [Stage.STAGING, Stage.PRODUCTION]
    assert stage_path(LIFECYCLE, Stage.ARCHIVED, Stage.ARCHIVED) == []


# -- capture_events --------------------------------------------------------------------------------------------


def test_capture_events_records_only_what_the_block_committed(reg: Registry) -> None:
    reg.create_registered_model("m")
    with capture_events(reg) as events:
        mv = reg.create_model_version("m", "s3://b/1")
        reg.set_registered_model_alias("m", "champion", mv.version)
        reg.delete_registered_model_alias("m", "absent")  # a no-op commits nothing
    reg.set_registered_model_tag("m", "after", "block")
    assert isinstance(events, CapturedEvents)
    assert events.types == ["model_version.created", "model_version_alias.created"]
    assert [e.data["version"] for e in events.of_type("model_version_alias.created")] == [1]
    assert all(e.name == "m" for e in events)
    assert [e.seq for e in events] == [2, 3]


def test_capture_events_stops_listening_when_the_block_raises(reg: Registry) -> None:
    with pytest.raises(RuntimeError), capture_events(reg) as events:
        reg.create_registered_model("m")
        raise RuntimeError("boom")
    reg.create_registered_model("n")
    assert events.types == ["registered_model.created"]


def test_capture_events_gives_typed_events_and_filters(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_registered_model("other")
    with capture_events(reg, events="model_version.*", model="m") as events:
        reg.create_model_version("other", "s3://b/o")
        mv = reg.create_model_version("m", "s3://b/m")
        reg.set_registered_model_tag("m", "k", "v")
    assert events.types == ["model_version.created"]
    assert events[0].version == mv.version  # a typed event's accessor
    assert isinstance(events[0], registry.Event)


def test_capture_events_nest(reg: Registry) -> None:
    with capture_events(reg) as outer:
        reg.create_registered_model("a")
        with capture_events(reg) as inner:
            reg.create_registered_model("b")
    assert [e.name for e in outer] == ["a", "b"]
    assert [e.name for e in inner] == ["b"]


def test_captured_timestamps_are_exact_with_a_frozen_clock() -> None:
    clock = FrozenClock(42)
    with Registry("memory://", clock=clock) as reg, capture_events(reg) as events:
        reg.create_registered_model("m")
        clock.advance(8)
        reg.set_registered_model_tag("m", "k", "v")
    assert [e.timestamp for e in events] == [42, 50]


# -- use_registry ----------------------------------------------------------------------------------------------


def test_use_registry_makes_a_registry_the_default_and_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_URI", str(tmp_path / "before"))
    uri_before = registry.get_registry_uri()
    with Registry(tmp_path / "fixture", durable=False) as reg:
        with use_registry(reg):
            assert os.environ["REGISTRY_URI"] == reg.uri
            assert registry.get_registry_uri() == reg.uri
            assert registry.default_registry() is reg
        assert os.environ["REGISTRY_URI"] == str(tmp_path / "before")
        assert registry.get_registry_uri() == uri_before
        registry.set_registry_uri(reg.uri)
        try:
            assert registry.default_registry() is not reg  # the block's registry is forgotten
        finally:
            registry.set_registry_uri(None)


def test_use_registry_restores_an_unset_environment_and_an_explicit_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REGISTRY_URI", raising=False)
    registry.set_registry_uri(str(tmp_path / "explicit"))
    try:
        with Registry("memory://") as reg:
            with use_registry(reg):
                assert registry.default_registry() is reg
            assert "REGISTRY_URI" not in os.environ
            assert registry.get_registry_uri() == str(tmp_path / "explicit")
    finally:
        registry.set_registry_uri(None)


def test_models_uris_in_code_under_test_resolve_to_the_used_registry() -> None:
    from registry import default_registry

    with Registry("memory://") as reg:
        seed(reg, {"fraud": {"versions": [{"aliases": ["champion"]}]}})
        with use_registry(reg):
            assert default_registry() is reg
            assert default_registry().resolve_model_uri("models:/fraud@champion").version == 1
