"""Every client method and every error, on both backends (the ``reg`` fixture is parametrized)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

import registry
from registry import (
    ArtifactVerificationError,
    IllegalStageTransition,
    InvalidParameterValue,
    MlflowClient,
    Registry,
    RegistryError,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    Stage,
)
from registry.store.artifacts import verify_artifacts

# -- registered models -------------------------------------------------------------------------------------------


def test_create_and_get_registered_model(reg: Registry) -> None:
    rm = reg.create_registered_model("fraud", tags={"team": "risk"}, description="XGBoost fraud model")
    assert rm.name == "fraud"
    assert rm.tags == {"team": "risk"}
    assert rm.description == "XGBoost fraud model"
    assert rm.creation_timestamp == rm.last_updated_timestamp
    assert rm.latest_versions == [] and rm.aliases == {}
    assert reg.get_registered_model("fraud") == rm


def test_create_duplicate_fails_with_mlflow_message(reg: Registry) -> None:
    reg.create_registered_model("fraud")
    with pytest.raises(ResourceAlreadyExists, match=r"Registered Model \(name=fraud\) already exists") as info:
        reg.create_registered_model("fraud")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_names_are_case_sensitive(reg: Registry) -> None:
    reg.create_registered_model("Fraud")
    reg.create_registered_model("fraud")
    assert [m.name for m in reg.list_registered_models()] == ["Fraud", "fraud"]


@pytest.mark.parametrize("bad", ["", "   ", "a/b", "a:b", "tab\tname", None, 3, "x" * 257])
def test_bad_names_are_refused(reg: Registry, bad: object) -> None:
    with pytest.raises(InvalidParameterValue) as info:
        reg.create_registered_model(bad)  # type: ignore[arg-type]
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert reg.list_registered_models() == []


def test_get_missing_model(reg: Registry) -> None:
    with pytest.raises(ResourceDoesNotExist, match="Registered Model with name=nope not found") as info:
        reg.get_registered_model("nope")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert isinstance(info.value, LookupError)


def test_update_registered_model_bumps_last_updated(reg: Registry) -> None:
    rm = reg.create_registered_model("m")
    updated = reg.update_registered_model("m", description="new")
    assert updated.description == "new"
    assert updated.last_updated_timestamp > rm.last_updated_timestamp
    assert updated.creation_timestamp == rm.creation_timestamp


def test_model_tags(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.set_registered_model_tag("m", "k", 5)
    assert reg.get_registered_model("m").tags == {"k": "5"}
    reg.set_registered_model_tag("m", "k", "v2")
    assert reg.get_registered_model("m").tags == {"k": "v2"}
    reg.delete_registered_model_tag("m", "k")
    assert reg.get_registered_model("m").tags == {}
    reg.delete_registered_model_tag("m", "k")  # absent: a no-op, as in MLflow's SQL store
    with pytest.raises(ResourceDoesNotExist):
        reg.set_registered_model_tag("missing", "k", "v")


def test_tag_limits(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.set_registered_model_tag("m", "k" * 250, "v" * 100_000)
    with pytest.raises(InvalidParameterValue, match="250"):
        reg.set_registered_model_tag("m", "k" * 251, "v")
    with pytest.raises(InvalidParameterValue, match="100000"):
        reg.set_registered_model_tag("m", "k", "v" * 100_001)
    with pytest.raises(InvalidParameterValue):
        reg.set_registered_model_tag("m", "", "v")
    with pytest.raises(InvalidParameterValue):
        reg.create_registered_model("n", tags={"k": None})
    assert not reg.get_registered_model("m").tags.get("k")


def test_rename_keeps_everything(reg: Registry) -> None:
    reg.create_registered_model("old", tags={"t": "1"})
    reg.create_model_version("old", source="s3://bucket/m")
    reg.create_model_version("old", source="s3://bucket/m2")
    reg.set_registered_model_alias("old", "champion", 2)
    reg.set_model_version_tag("old", 1, "k", "v")
    renamed = reg.rename_registered_model("old", "new")
    assert renamed.name == "new" and renamed.tags == {"t": "1"} and renamed.aliases == {"champion": 2}
    assert [mv.name for mv in reg.list_model_versions("new")] == ["new", "new"]
    assert reg.get_model_version("new", 1).tags == {"k": "v"}
    assert reg.get_model_version_by_alias("new", "champion").version == 2
    with pytest.raises(ResourceDoesNotExist):
        reg.get_registered_model("old")
    assert reg.create_model_version("new", source="s3://x").version == 3


def test_rename_onto_existing_fails(reg: Registry) -> None:
    reg.create_registered_model("a")
    reg.create_registered_model("b")
    with pytest.raises(ResourceAlreadyExists):
        reg.rename_registered_model("a", "b")
    with pytest.raises(InvalidParameterValue):
        reg.rename_registered_model("a", "x/y")
    with pytest.raises(ResourceDoesNotExist):
        reg.rename_registered_model("zz", "c")


def test_delete_registered_model_then_recreate_starts_at_one(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", source=model_dir())
    assert mv.storage_location and os.path.isdir(mv.storage_location)
    reg.create_model_version("m", source="s3://x")
    reg.delete_registered_model("m")
    assert not os.path.exists(mv.storage_location)
    with pytest.raises(ResourceDoesNotExist):
        reg.get_model_version("m", 1)
    reg.create_registered_model("m")
    assert reg.create_model_version("m", source="s3://y").version == 1


# -- versions ----------------------------------------------------------------------------------------------------


def test_create_model_version_fields(reg: Registry) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version(
        "m", source="s3://b/k", run_id="r1", tags={"a": "b"}, run_link="http://x", description="d"
    )
    assert (mv.name, mv.version, mv.source, mv.run_id, mv.run_link, mv.description) == (
        "m",
        1,
        "s3://b/k",
        "r1",
        "http://x",
        "d",
    )
    assert mv.tags == {"a": "b"} and mv.current_stage == "None" and mv.current_stage is Stage.NONE
    assert mv.status == "READY" and mv.user_id == "tester" and mv.aliases == []
    assert mv.storage_location is None and mv.digest is None
    assert reg.get_registered_model("m").last_updated_timestamp == mv.creation_timestamp


def test_create_version_requires_model(reg: Registry) -> None:
    with pytest.raises(ResourceDoesNotExist, match="name=ghost"):
        reg.create_model_version("ghost", source="s3://x")


def test_local_source_is_copied_and_verifiable(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    src = model_dir("w1")
    mv = reg.create_model_version("m", source=src)
    assert mv.source == src
    assert mv.storage_location and mv.storage_location != src
    assert reg.get_model_version_download_uri("m", 1) == mv.storage_location
    with open(os.path.join(mv.storage_location, "data", "extra.txt")) as f:
        assert f.read() == "nested"
    assert mv.digest is not None
    verify_artifacts(mv.storage_location, mv.digest)
    # the copy owes nothing to the source
    with open(os.path.join(src, "model.bin"), "w") as f:
        f.write("changed")
    verify_artifacts(mv.storage_location, mv.digest)


def test_file_uri_source_is_copied(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", source="file://" + model_dir())
    assert mv.storage_location is not None


def test_tampering_is_detected(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", source=model_dir())
    assert mv.storage_location and mv.digest
    path = os.path.join(mv.storage_location, "model.bin")
    with open(path, "a") as f:
        f.write("evil")
    with pytest.raises(ArtifactVerificationError, match=r"model\.bin"):
        verify_artifacts(mv.storage_location, mv.digest)
    os.remove(path)
    with pytest.raises(ArtifactVerificationError, match="missing"):
        verify_artifacts(mv.storage_location, mv.digest)
    with open(path, "w") as f:
        f.write("weights")
    verify_artifacts(mv.storage_location, mv.digest)
    with open(os.path.join(mv.storage_location, "extra.py"), "w") as f:
        f.write("import os")
    with pytest.raises(ArtifactVerificationError, match=r"extra\.py"):
        verify_artifacts(mv.storage_location, mv.digest)


def test_identical_content_gives_identical_digest(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    a = reg.create_model_version("m", source=model_dir("same"))
    b = reg.create_model_version("m", source=model_dir("same"))
    c = reg.create_model_version("m", source=model_dir("different"))
    assert a.digest == b.digest != c.digest


@pytest.mark.parametrize("bad", ["", None, 5])
def test_bad_source(reg: Registry, bad: object) -> None:
    reg.create_registered_model("m")
    with pytest.raises(InvalidParameterValue):
        reg.create_model_version("m", source=bad)  # type: ignore[arg-type]


def test_versions_accept_int_or_numeric_string(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    assert reg.get_model_version("m", "1") == reg.get_model_version("m", 1)
    for bad in ["one", "1.5", -1, 0, True, None, "", "v1"]:
        with pytest.raises(InvalidParameterValue):
            reg.get_model_version("m", bad)  # type: ignore[arg-type]
    with pytest.raises(ResourceDoesNotExist, match=r"Model Version \(name=m, version=7\) not found"):
        reg.get_model_version("m", 7)


def test_version_numbers_are_never_reused(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", source="s3://x")
    reg.delete_model_version("m", 3)
    reg.delete_model_version("m", 2)
    assert reg.create_model_version("m", source="s3://x").version == 4
    assert [mv.version for mv in reg.list_model_versions("m")] == [1, 4]


def test_deleted_version_is_invisible(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", source=model_dir())
    reg.create_model_version("m", source="s3://x")
    reg.set_registered_model_alias("m", "champion", 1)
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.delete_model_version("m", 1)
    with pytest.raises(ResourceDoesNotExist):
        reg.get_model_version("m", 1)
    with pytest.raises(ResourceDoesNotExist):
        reg.get_model_version_by_alias("m", "champion")
    assert reg.get_registered_model("m").aliases == {}
    assert reg.get_latest_versions("m", ["Staging"]) == []
    assert [v.version for v in reg.get_registered_model("m").latest_versions] == [2]
    assert mv.storage_location and not os.path.exists(mv.storage_location)
    with pytest.raises(ResourceDoesNotExist):
        reg.delete_model_version("m", 1)
    with pytest.raises(ResourceDoesNotExist):
        reg.resolve_model_uri("models:/m/1")


def test_update_model_version(reg: Registry) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", source="s3://x")
    updated = reg.update_model_version("m", 1, description="better")
    assert updated.description == "better" and updated.last_updated_timestamp > mv.last_updated_timestamp
    with pytest.raises(ResourceDoesNotExist):
        reg.update_model_version("m", 2, description="x")


def test_model_version_tags(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    reg.set_model_version_tag("m", "1", "k", "v")
    reg.set_model_version_tag("m", 1, "n", 3.5)
    assert reg.get_model_version("m", 1).tags == {"k": "v", "n": "3.5"}
    reg.delete_model_version_tag("m", 1, "k")
    assert reg.get_model_version("m", 1).tags == {"n": "3.5"}
    reg.delete_model_version_tag("m", 1, "absent")
    with pytest.raises(ResourceDoesNotExist):
        reg.set_model_version_tag("m", 9, "k", "v")
    with pytest.raises(InvalidParameterValue):
        reg.set_model_version_tag("m", 1, "k" * 251, "v")


def test_version_tag_by_stage(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    reg.create_model_version("m", source="s3://x")
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.set_model_version_tag("m", key="k", value="v", stage="staging")
    assert reg.get_model_version("m", 2).tags == {"k": "v"}
    with pytest.raises(ResourceDoesNotExist):
        reg.set_model_version_tag("m", key="k", value="v", stage="Production")
    with pytest.raises(InvalidParameterValue):
        reg.set_model_version_tag("m", 1, key="k", value="v", stage="Staging")


def test_copy_model_version(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("src")
    src = reg.create_model_version("src", source=model_dir(), run_id="r", tags={"a": "1"}, description="d")
    reg.transition_model_version_stage("src", 1, "Staging")
    copy = reg.copy_model_version("models:/src/1", "dst")
    assert (copy.name, copy.version, copy.source, copy.run_id, copy.tags, copy.description) == (
        "dst",
        1,
        "models:/src/1",
        "r",
        {"a": "1"},
        "d",
    )
    assert copy.current_stage == "None"
    assert copy.digest == src.digest and copy.storage_location != src.storage_location
    reg.delete_registered_model("src")
    assert copy.storage_location and copy.digest
    verify_artifacts(copy.storage_location, copy.digest)
    # copying into an existing model appends a version
    reg.create_registered_model("src2")
    reg.create_model_version("src2", source="s3://x")
    reg.set_registered_model_alias("src2", "best", 1)
    assert reg.copy_model_version("models:/src2@best", "dst").version == 2
    with pytest.raises(InvalidParameterValue):
        reg.copy_model_version("runs:/abc/model", "dst")


def test_models_uri_as_source_copies_files(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    first = reg.create_model_version("m", source=model_dir())
    second = reg.create_model_version("m", source="models:/m/1")
    assert second.digest == first.digest and second.source == "models:/m/1"


# -- stages -----------------------------------------------------------------------------------------------------


def test_lifecycle_transitions(reg: Registry) -> None:
    reg.set_stage_policy("lifecycle")
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    assert reg.get_model_version_stages("m", 1) == ["None", "Staging", "Archived"]
    with pytest.raises(IllegalStageTransition) as info:
        reg.transition_model_version_stage("m", 1, "Production")
    message = str(info.value)
    assert "'None'" in message and "'Production'" in message and "Staging, Archived" in message
    assert reg.get_model_version("m", 1).current_stage == "None"
    mv = reg.transition_model_version_stage("m", 1, "pROduction".replace("pRO", "sTA").replace("duction", "ging"))
    assert mv.current_stage == "Staging"
    assert reg.transition_model_version_stage("m", 1, "pROduction").current_stage == "Production"
    assert reg.transition_model_version_stage("m", "1", "staging").current_stage == "Staging"  # rollback
    assert reg.transition_model_version_stage("m", 1, "archived").current_stage == "Archived"
    assert reg.transition_model_version_stage("m", 1, "Production").current_stage == "Production"  # restore


def test_registries_created_implicitly_allow_mlflows_free_moves(tmp_path: Path) -> None:
    """Code written for MlflowClient runs on a registry made by Registry(), whichever opens it first."""
    folder = str(tmp_path / "made-by-registry")
    with Registry(folder) as made:
        assert made.stage_policy.name == "mlflow"
        made.create_model_version(made.create_registered_model("m").name, source="s3://x")
    with MlflowClient(registry_uri=folder) as client:
        assert client.transition_model_version_stage("m", 1, "Production").current_stage == "Production"
    Registry(str(tmp_path / "strict"), policy="lifecycle").close()  # the stricter table is a choice
    with Registry(str(tmp_path / "strict")) as reopened:
        assert reopened.stage_policy.name == "lifecycle"


def test_a_policy_refusal_says_how_to_change_the_policy(reg: Registry) -> None:
    reg.set_stage_policy("lifecycle")
    reg.create_model_version(reg.create_registered_model("m").name, source="s3://x")
    with pytest.raises(IllegalStageTransition) as info:
        reg.transition_model_version_stage("m", 1, "Production")
    assert "set_stage_policy('mlflow')" in str(info.value) and "registry policy set mlflow" in str(info.value)
    reg.set_stage_policy("mlflow")  # what the message says works
    assert reg.transition_model_version_stage("m", 1, "Production").current_stage == "Production"


@pytest.mark.parametrize("bad", ["", "Prod", "none ", "Deployed", None])
def test_bad_stage_names(reg: Registry, bad: object) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    if bad == "none ":
        reg.transition_model_version_stage("m", 1, bad)  # surrounding blanks are tolerated: same stage
        return
    with pytest.raises(InvalidParameterValue):
        reg.transition_model_version_stage("m", 1, bad)  # type: ignore[arg-type]


def test_archive_existing_versions_is_one_atomic_step(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", source="s3://x")
    for v in (1, 2, 3):
        reg.transition_model_version_stage("m", v, "Staging")
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 2, "Production")  # without archiving: two in Production
    assert sorted(mv.version for mv in reg.list_model_versions("m") if mv.current_stage == "Production") == [1, 2]
    mv = reg.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    stages = {mv.version: mv.current_stage for mv in reg.list_model_versions("m")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
    transitions = [e for e in reg._store.read_events() if e.type == "model_version.stage_transitioned"]
    assert transitions[-1].data["archived"] == [
        {"version": 1, "from_stage": "Production"},
        {"version": 2, "from_stage": "Production"},
    ]


def test_archive_existing_only_for_active_stages(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    with pytest.raises(InvalidParameterValue, match="active stage"):
        reg.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)


def test_get_latest_versions(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(5):
        reg.create_model_version("m", source="s3://x")
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.transition_model_version_stage("m", 3, "Staging")
    reg.transition_model_version_stage("m", 3, "Production")
    reg.transition_model_version_stage("m", 1, "Archived")
    latest = reg.get_latest_versions("m")
    # MLflow's order (checked against its SQL store): a stage comes first when its lowest version is lower
    assert [(mv.version, mv.current_stage) for mv in latest] == [
        (1, "Archived"),
        (2, "Staging"),
        (3, "Production"),
        (5, "None"),
    ]
    assert [mv.version for mv in reg.get_latest_versions("m", stages=[])] == [1, 2, 3, 5]
    assert [mv.version for mv in reg.get_latest_versions("m", ["production", "STAGING"])] == [2, 3]
    assert reg.get_registered_model("m").latest_versions == latest
    reg.transition_model_version_stage("m", 4, "Production")  # Production's lowest is now 3, None's 5
    reg.transition_model_version_stage("m", 1, "None")  # None's lowest is now 1
    assert [mv.version for mv in reg.get_latest_versions("m")] == [5, 2, 4]
    with pytest.raises(InvalidParameterValue):
        reg.get_latest_versions("m", ["Prod"])
    assert [mv.version for mv in reg.get_latest_versions("m", "Production")] == [4]  # a bare stage name


def test_mlflow_policy_allows_any_move(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = MlflowClient(str(tmp_path / "r"))
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://x")
    assert client.transition_model_version_stage("m", 1, "Production").current_stage == "Production"
    assert client.transition_model_version_stage("m", 1, "None").current_stage == "None"
    assert client.get_model_version_stages("m", 1) == ["None", "Staging", "Production", "Archived"]
    # the policy is stored: a plain Registry on the same folder enforces it too
    assert Registry(str(tmp_path / "r")).stage_policy.name == "mlflow"
    with pytest.raises(InvalidParameterValue, match="mlflow"):
        Registry(str(tmp_path / "r"), policy="lifecycle")


def test_guard_on_production(reg: Registry) -> None:
    reg.set_stage_policy(registry.LIFECYCLE.with_guard("Production", tag="validated", value="true"))
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    reg.transition_model_version_stage("m", 1, "Staging")
    with pytest.raises(IllegalStageTransition, match="validated"):
        reg.transition_model_version_stage("m", 1, "Production")
    reg.set_model_version_tag("m", 1, "validated", "true")
    assert reg.transition_model_version_stage("m", 1, "Production").current_stage == "Production"


def test_policy_change_is_seen_by_other_processes_registry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = Registry(str(tmp_path / "r"))
    b = Registry(str(tmp_path / "r"))
    a.create_registered_model("m")
    a.create_model_version("m", source="s3://x")
    a.set_stage_policy("mlflow")
    assert b.transition_model_version_stage("m", 1, "Production").current_stage == "Production"


# -- aliases ----------------------------------------------------------------------------------------------------


def test_aliases(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(2):
        reg.create_model_version("m", source="s3://x")
    reg.set_registered_model_alias("m", "champion", 1)
    reg.set_registered_model_alias("m", "Champion-2_b", "1")
    assert reg.get_model_version("m", 1).aliases == ["Champion-2_b", "champion"]
    assert reg.get_registered_model("m").aliases == {"champion": 1, "Champion-2_b": 1}
    reg.set_registered_model_alias("m", "champion", 2)  # moves
    assert reg.get_model_version("m", 1).aliases == ["Champion-2_b"]
    assert reg.get_model_version("m", 2).aliases == ["champion"]
    assert reg.get_model_version_by_alias("m", "champion").version == 2
    reg.delete_registered_model_alias("m", "champion")
    assert reg.get_model_version("m", 2).aliases == []
    with pytest.raises(ResourceDoesNotExist, match="alias champion not found"):
        reg.get_model_version_by_alias("m", "champion")
    reg.delete_registered_model_alias("m", "champion")  # absent: a no-op
    with pytest.raises(ResourceDoesNotExist):
        reg.set_registered_model_alias("m", "x", 9)


@pytest.mark.parametrize("bad", ["latest", "LATEST", "v1", "V12", "has space", "a.b", "", "x" * 256, "a/b"])
def test_bad_aliases(reg: Registry, bad: str) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    with pytest.raises(InvalidParameterValue):
        reg.set_registered_model_alias("m", bad, 1)


def test_alias_names_allowed(reg: Registry) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", source="s3://x")
    for ok in ["v", "vx1", "latest1", "x" * 255, "1"]:
        reg.set_registered_model_alias("m", ok, 1)


# -- URIs -------------------------------------------------------------------------------------------------------


def test_resolve_model_uri(reg: Registry) -> None:
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", source="s3://x")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.set_registered_model_alias("m", "champion", 1)
    assert reg.resolve_model_uri("models:/m/1").version == 1
    assert reg.resolve_model_uri("models:/m/staging").version == 2
    assert reg.resolve_model_uri("models:/m/latest").version == 3
    assert reg.resolve_model_uri("models:/m@champion").version == 1
    with pytest.raises(ResourceDoesNotExist, match="stage 'Production'"):
        reg.resolve_model_uri("models:/m/Production")
    for bad in ["models:/m", "models:/", "models:/m/1/2", "models:/m@", "runs:/r/model", "models:/m/prod", "m/1"]:
        with pytest.raises(InvalidParameterValue):
            reg.resolve_model_uri(bad)


# -- registries and URIs ------------------------------------------------------------------------------------------


def test_uri_forms(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = Registry(str(tmp_path / "a"))
    a.create_registered_model("m")
    assert Registry("file://" + str(tmp_path / "a")).get_registered_model("m").name == "m"
    assert Registry(tmp_path / "a").get_registered_model("m").name == "m"
    monkeypatch.setenv("REGISTRY_URI", str(tmp_path / "a"))
    assert Registry().get_registered_model("m").name == "m"
    monkeypatch.delenv("REGISTRY_URI")
    monkeypatch.chdir(tmp_path)
    assert Registry().uri == str(tmp_path / "mlregistry")
    for bad in ["http://localhost:5000", "sqlite:///mlflow.db", "databricks", "", 123, b"bytes"]:
        if bad == "databricks":
            continue  # a relative folder name, legitimately
        with pytest.raises(InvalidParameterValue):
            Registry(bad)  # type: ignore[arg-type]


def test_memory_registries(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = Registry("memory://")
    a.create_registered_model("m")
    assert Registry("memory://").list_registered_models() == []
    shared = Registry("memory://team")
    shared.create_registered_model("m")
    assert Registry("memory://team").get_registered_model("m").name == "m"


def test_default_registry_follows_set_registry_uri(tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        registry.set_registry_uri(str(tmp_path / "d"))
        reg = registry.default_registry()
        assert reg is registry.default_registry()
        assert reg.uri == str(tmp_path / "d")
        assert registry.get_registry_uri() == str(tmp_path / "d")
    finally:
        registry.set_registry_uri(None)


def test_non_registry_folder_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InvalidParameterValue, match="not a registry"):
        Registry(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidParameterValue, match="file"):
        Registry(str(tmp_path / "file"))


def test_bad_ids_generator_is_refused() -> None:
    reg = Registry("memory://", ids=lambda: "../escape")
    with pytest.raises(InvalidParameterValue, match="ids"):
        reg.create_registered_model("m")
    same = Registry("memory://", ids=lambda: "fixed")
    same.create_registered_model("a")
    with pytest.raises(InvalidParameterValue, match="already in use"):
        same.create_registered_model("b")


def test_errors_pickle_round_trip() -> None:
    err = ResourceDoesNotExist("gone", name="m", version=3)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ResourceDoesNotExist and str(back) == "gone" and back.name == "m" and back.version == 3
    assert isinstance(back, RegistryError) and back.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_entities_are_frozen(reg: Registry) -> None:
    rm = reg.create_registered_model("m")
    with pytest.raises(AttributeError):
        rm.name = "x"  # type: ignore[misc]
    assert rm.to_dict()["name"] == "m"
    mv = reg.create_model_version("m", source="s3://x")
    assert mv.to_dict()["current_stage"] == "None"


def test_model_names_never_become_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "r"
    reg = Registry(str(root))
    for name in ["..", "...", "~", "$HOME", "nul", "é✓", "a\\b", ".hidden", "con"]:
        reg.create_registered_model(name)
        reg.create_model_version(name, source="s3://x")
        reg.set_registered_model_tag(name, "k v", 'line\nbreak "quote" \x1b')
    reg.close()
    for entry in os.listdir(root / "models"):
        assert len(entry) == 32 and all(c in "0123456789abcdef" for c in entry)
    assert not (tmp_path / "..").joinpath("k").exists()
    again = Registry(str(root))
    assert sorted(m.name for m in again.list_registered_models()) == sorted(
        ["..", "...", "~", "$HOME", "nul", "é✓", "a\\b", ".hidden", "con"]
    )
    assert again.get_registered_model("..").tags == {"k v": 'line\nbreak "quote" \x1b'}


# -- a version's files and the journal's position ------------------------------------------------------------------


def test_list_model_version_files(reg: Registry, model_dir: Callable[..., str]) -> None:
    import hashlib

    reg.create_registered_model("fraud")
    mv = reg.create_model_version("fraud", model_dir("weights-1"))
    files = reg.list_model_version_files("fraud", mv.version)
    assert [f.path for f in files] == ["MLmodel", "data/extra.txt", "model.bin"]
    model_bin = files[2]
    assert model_bin.size == len("weights-1")
    assert model_bin.sha256 == hashlib.sha256(b"weights-1").hexdigest()
    assert model_bin.to_dict() == {"path": "model.bin", "sha256": model_bin.sha256, "size": 9}
    # a version whose source was recorded as given has no files in the registry
    remote = reg.create_model_version("fraud", "s3://bucket/fraud/2")
    assert reg.list_model_version_files("fraud", remote.version) == []
    with pytest.raises(ResourceDoesNotExist):
        reg.list_model_version_files("fraud", 9)


def test_list_model_version_files_checks_the_manifest(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("fraud")
    mv = reg.create_model_version("fraud", model_dir())
    assert mv.storage_location is not None
    os.remove(os.path.join(mv.storage_location, "model.bin"))
    missing = {f.path: f.size for f in reg.list_model_version_files("fraud", mv.version)}
    assert missing["model.bin"] is None  # listed as registered, shown as missing
    with open(os.path.join(mv.storage_location, "MANIFEST.sha256"), "a") as f:
        f.write("0" * 64 + "  sneaked-in.bin\n")
    if reg.uri.startswith("s3://"):  # the local copy of a bucket's version is a cache: a damaged one is replaced
        assert "sneaked-in.bin" not in {f.path for f in reg.list_model_version_files("fraud", mv.version)}
        return
    with pytest.raises(ArtifactVerificationError, match="manifest"):
        reg.list_model_version_files("fraud", mv.version)


def test_last_event_seq_sees_every_process(reg: Registry, tmp_path: os.PathLike[str]) -> None:
    assert reg.last_event_seq() == 0
    reg.create_registered_model("fraud")
    reg.set_registered_model_tag("fraud", "a", "b")
    assert reg.last_event_seq() == 2
    assert [e.seq for e in reg.events(reg.last_event_seq() - 1)] == [2]
    if not reg.uri.startswith("memory://"):
        other = Registry(reg.uri)
        other.set_registered_model_tag("fraud", "c", "d")
        other.close()
        assert reg.last_event_seq() == 3
