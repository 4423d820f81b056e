"""MLflow drop-in conformance: MLflow's model registry behaviour, stated as executable checks.

Every check runs against :class:`registry.MlflowClient` on both backends (a folder and ``memory://``). The
behaviour is MLflow's as its documentation and its own registry test suites describe it (read, not copied);
where MLflow's stores disagree this follows the SQL store. Where this library deliberately differs, the check
states our behaviour and says so in a comment starting ``DIFFERENCE``; the README's "Differences from MLflow"
section lists them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from registry import (
    InvalidParameterValue,
    MlflowClient,
    ModelVersion,
    RegistryError,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    Stage,
)
from registry.testing import FrozenClock

T0 = 1_000_000


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(params=["folder", "memory"])
def client(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[MlflowClient]:
    uri = str(tmp_path / "mlflow-registry") if request.param == "folder" else "memory://"
    with MlflowClient(registry_uri=uri, clock=clock, durable=False, user="alice") as c:
        yield c


def fails(error: type[RegistryError], code: str, match: str) -> Any:
    """``pytest.raises`` that also checks MLflow's error code (``match`` is a regex searched in the message)."""

    class _Check:
        def __enter__(self) -> None:
            self._ctx = pytest.raises(error, match=match)
            self._info = self._ctx.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = self._ctx.__exit__(*exc)
            assert self._info.value.error_code == code, self._info.value.error_code
            return bool(handled)

    return _Check()


NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID = "INVALID_PARAMETER_VALUE"


def make_versions(client: MlflowClient, name: str, count: int, **kwargs: Any) -> list[ModelVersion]:
    return [client.create_model_version(name, f"path/to/{name}/{i}", **kwargs) for i in range(count)]


def latest_by_stage(versions: list[ModelVersion]) -> dict[str, int]:
    return {mv.current_stage.value: mv.version for mv in versions}


# -- registered models -----------------------------------------------------------------------------------------


def test_create_and_get_registered_model(client: MlflowClient) -> None:
    rm = client.create_registered_model("model_1", tags={"key": "value", "n": 3}, description="best")
    assert (rm.name, rm.description, rm.latest_versions) == ("model_1", "best", [])
    assert rm.tags == {"key": "value", "n": "3"}  # MlflowClient turns tag values into str
    assert rm.creation_timestamp == rm.last_updated_timestamp == T0
    assert client.get_registered_model("model_1") == rm
    assert client.create_registered_model("model_1extra").name == "model_1extra"  # similar names are fine


def test_create_registered_model_errors(client: MlflowClient) -> None:
    client.create_registered_model("m")
    with fails(ResourceAlreadyExists, EXISTS, r"^Registered Model \(name=m\) already exists"):
        client.create_registered_model("m")
    for bad in (None, ""):
        with fails(InvalidParameterValue, INVALID, "name"):
            client.create_registered_model(bad)  # type: ignore[arg-type]
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=nope not found"):
        client.get_registered_model("nope")


def test_update_registered_model_sets_the_description_and_bumps_the_time(
    client: MlflowClient, clock: FrozenClock
) -> None:
    client.create_registered_model("m")
    clock.advance(10)
    rm = client.update_registered_model("m", description="test model")
    assert rm.description == "test model" and rm.last_updated_timestamp == T0 + 10
    assert rm.creation_timestamp == T0
    assert client.get_registered_model("m") == rm
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=nope not found"):
        client.update_registered_model("nope", description="x")


def test_rename_registered_model_moves_versions_and_frees_the_old_name(
    client: MlflowClient, clock: FrozenClock
) -> None:
    client.create_registered_model("original name")
    make_versions(client, "original name", 2)
    client.set_registered_model_alias("original name", "champion", 2)
    clock.advance(5)
    rm = client.rename_registered_model("original name", "new name")
    assert rm.name == "new name" and rm.last_updated_timestamp == T0 + 5
    for number in (1, 2):
        mv = client.get_model_version("new name", number)
        assert mv.name == "new name" and mv.last_updated_timestamp == T0 + 5  # the SQL store bumps versions too
    assert client.get_model_version_by_alias("new name", "champion").version == 2
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=original name not found"):
        client.get_registered_model("original name")
    client.create_registered_model("original name")  # the old name is free again
    with fails(ResourceAlreadyExists, EXISTS, r"^Registered Model \(name=original name\) already exists"):
        client.rename_registered_model("new name", "original name")
    for bad in (None, ""):
        with fails(InvalidParameterValue, INVALID, "name"):
            client.rename_registered_model("new name", bad)  # type: ignore[arg-type]
    with fails(ResourceDoesNotExist, NOT_FOUND, "not found"):
        client.rename_registered_model("nope", "other")


def test_delete_registered_model_cascades_and_the_name_starts_over(client: MlflowClient) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 2)
    client.delete_registered_model("m")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m not found"):
        client.get_registered_model("m")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m not found"):
        client.update_registered_model("m", description="deleted")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m not found"):
        client.delete_registered_model("m")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=m, version=1\) not found$"):
        client.get_model_version("m", 1)
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=never, version=3\) not found$"):
        client.get_model_version("never", 3)
    client.create_registered_model("m")
    assert client.create_model_version("m", "s3://b/m").version == 1  # versions went with the model


# -- tags ------------------------------------------------------------------------------------------------------


def test_registered_model_tags(client: MlflowClient, clock: FrozenClock) -> None:
    initial = {"key": "value", "anotherKey": "some other value"}
    client.create_registered_model("m1", tags=initial)
    client.create_registered_model("m2", tags=initial)
    clock.advance(3)
    client.set_registered_model_tag("m1", "randomTag", "not a random value")
    client.set_registered_model_tag("m1", "key", "overriding")
    client.set_registered_model_tag("m1", "number", 12)
    m1 = client.get_registered_model("m1")
    assert m1.tags == {
        "key": "overriding",
        "anotherKey": "some other value",
        "randomTag": "not a random value",
        "number": "12",
    }
    assert m1.last_updated_timestamp == T0  # as in the SQL store, tags do not bump the model's time
    assert client.get_registered_model("m2").tags == initial  # other models keep theirs
    client.delete_registered_model_tag("m1", "randomTag")
    client.delete_registered_model_tag("m1", "randomTag")  # deleting an absent tag does nothing
    assert "randomTag" not in client.get_registered_model("m1").tags
    client.set_registered_model_tag("m2", "longTagKey", "a" * 4999)
    client.set_registered_model_tag("m2", "longerTagKey", "a" * 100_000)
    with fails(InvalidParameterValue, INVALID, "limit is 100000"):
        client.set_registered_model_tag("m2", "tooLong", "a" * 100_001)
    with fails(InvalidParameterValue, INVALID, "limit is 250"):
        client.set_registered_model_tag("m2", "k" * 251, "v")
    with fails(InvalidParameterValue, INVALID, "Tag key"):
        client.set_registered_model_tag("m2", None, "")  # type: ignore[arg-type]
    with fails(InvalidParameterValue, INVALID, "Tag key"):
        client.delete_registered_model_tag("m2", None)  # type: ignore[arg-type]
    client.delete_registered_model("m1")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m1 not found"):
        client.set_registered_model_tag("m1", "key", "value")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m1 not found"):
        client.delete_registered_model_tag("m1", "anotherKey")


def test_model_version_tags(client: MlflowClient, clock: FrozenClock) -> None:
    initial = {"key": "value", "anotherKey": "some other value"}
    for name in ("m1", "m2"):
        client.create_registered_model(name)
    make_versions(client, "m1", 2, tags=initial)
    make_versions(client, "m2", 1, tags=initial)
    clock.advance(3)
    client.set_model_version_tag("m1", 1, "randomTag", "not a random value")
    client.set_model_version_tag("m1", "1", "key", "overriding")
    mv = client.get_model_version("m1", 1)
    assert mv.tags == {"key": "overriding", "anotherKey": "some other value", "randomTag": "not a random value"}
    assert mv.last_updated_timestamp == T0  # tags do not bump timestamps (SQL store)
    assert client.get_model_version("m1", 2).tags == initial
    assert client.get_model_version("m2", 1).tags == initial
    client.delete_model_version_tag("m1", 1, "randomTag")
    client.delete_model_version_tag("m1", 1, "randomTag")  # absent: a no-op
    assert "randomTag" not in client.get_model_version("m1", 1).tags
    with fails(InvalidParameterValue, INVALID, "limit is 100000"):
        client.set_model_version_tag("m1", 1, "long", "a" * 100_001)
    with fails(InvalidParameterValue, INVALID, "version"):
        client.set_model_version_tag("m1", "I am not a version", "key", "value")
    with fails(InvalidParameterValue, INVALID, "version"):
        client.delete_model_version_tag("m1", "I am not a version", "key")
    client.delete_model_version("m1", 2)
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=m1, version=2\) not found"):
        client.set_model_version_tag("m1", 2, "key", "value")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=m1, version=2\) not found"):
        client.delete_model_version_tag("m1", 2, "key")


def test_model_version_tag_by_stage(client: MlflowClient) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 3)
    client.transition_model_version_stage("m", 1, "Production")
    client.transition_model_version_stage("m", 2, "Production")
    client.set_model_version_tag("m", key="k", value="v", stage="production")  # the latest in that stage
    assert client.get_model_version("m", 2).tags == {"k": "v"}
    client.delete_model_version_tag("m", key="k", stage="Production")
    assert client.get_model_version("m", 2).tags == {}
    with fails(InvalidParameterValue, INVALID, "not both"):
        client.set_model_version_tag("m", 1, "k", "v", stage="Production")


# -- model versions --------------------------------------------------------------------------------------------


def test_create_model_version(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    clock.advance(100)
    mv = client.create_model_version("m", "a/b/CD", run_id="abc123")
    assert (mv.name, mv.version, mv.current_stage, mv.source, mv.run_id) == ("m", 1, "None", "a/b/CD", "abc123")
    assert (mv.status, mv.status_message, mv.tags, mv.description, mv.aliases) == ("READY", None, {}, None, [])
    assert mv.creation_timestamp == mv.last_updated_timestamp == T0 + 100
    assert mv.user_id == "alice"
    assert client.get_model_version("m", 1) == client.get_model_version("m", "1") == mv
    assert client.get_registered_model("m").last_updated_timestamp == T0 + 100  # a new version bumps the model
    mv2 = client.create_model_version("m", "s3://b/2", tags={"key": "value"}, run_link="http://run/2", description="d")
    assert (mv2.version, mv2.tags, mv2.run_link, mv2.description, mv2.run_id) == (
        2,
        {"key": "value"},
        "http://run/2",
        "d",
        None,
    )
    # DIFFERENCE: version is an int (MLflow's REST entities carry it as a string).
    assert isinstance(mv2.version, int)
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=nope not found"):
        client.create_model_version("nope", "s3://b/x")


def test_update_model_version_bumps_the_version_not_the_model(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 1)
    client.transition_model_version_stage("m", 1, "Production")
    clock.advance(20)
    mv = client.update_model_version("m", 1, description="test model version")
    assert (mv.description, mv.current_stage) == ("test model version", "Production")
    assert mv.last_updated_timestamp == T0 + 20
    assert client.get_registered_model("m").last_updated_timestamp == T0  # as in the SQL store


def test_deleted_versions_are_gone_and_their_numbers_never_come_back(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 3)
    clock.advance(7)
    client.delete_model_version("m", 3)
    assert client.get_registered_model("m").last_updated_timestamp == T0 + 7  # deletion bumps the model
    for call in (
        lambda: client.get_model_version("m", 3),
        lambda: client.update_model_version("m", 3, description="deleted!"),
        lambda: client.delete_model_version("m", 3),
        lambda: client.get_model_version_download_uri("m", 3),
        lambda: client.transition_model_version_stage("m", 3, "Staging"),
    ):
        with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=m, version=3\) not found"):
            call()
    assert client.create_model_version("m", "s3://b/4").version == 4  # 3 is never reused
    assert [mv.version for mv in client.search_model_versions("name = 'm'")] == [4, 2, 1]
    with fails(InvalidParameterValue, INVALID, "version"):
        client.get_model_version("m", "I am not a version")


# -- stages ------------------------------------------------------------------------------------------------------


def test_transition_stages_are_case_insensitive_and_checked(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 1)
    for spelling in ("STAGING", "staging", "StAgInG"):
        assert client.transition_model_version_stage("m", 1, spelling).current_stage == "Staging"
    with fails(InvalidParameterValue, INVALID, r"^Invalid Model Version stage: 'unknown'"):
        client.transition_model_version_stage("m", 1, "unknown")
    clock.advance(9)
    mv = client.transition_model_version_stage("m", 1, "Archived")
    assert mv.last_updated_timestamp == T0 + 9
    assert client.get_registered_model("m").last_updated_timestamp == T0 + 9  # a transition bumps the model
    for stage in ("None", "Production", "Staging", "Archived", "None"):  # MLflow allows every move
        assert client.transition_model_version_stage("m", 1, stage).current_stage == stage


def test_archive_existing_versions(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 3)
    for stage in ("Archived", "None"):
        # DIFFERENCE: MLflow raises this with INTERNAL_ERROR (no code given); it is a bad argument.
        with fails(InvalidParameterValue, INVALID, r"cannot archive existing model versions because '\w+' is not"):
            client.transition_model_version_stage("m", 1, stage, archive_existing_versions=True)
    client.transition_model_version_stage("m", 1, "Staging")
    client.transition_model_version_stage("m", 2, "Production")
    clock.advance(4)
    client.transition_model_version_stage("m", 3, "Staging", archive_existing_versions=True)
    v1, v2, v3 = (client.get_model_version("m", n) for n in (1, 2, 3))
    assert (v1.current_stage, v2.current_stage, v3.current_stage) == ("Archived", "Production", "Staging")
    assert v1.last_updated_timestamp == v3.last_updated_timestamp == T0 + 4
    clock.advance(4)
    client.transition_model_version_stage("m", 3, "production", archive_existing_versions=True)
    v2, v3 = (client.get_model_version("m", n) for n in (2, 3))
    assert (v2.current_stage, v3.current_stage) == ("Archived", "Production")
    assert v2.last_updated_timestamp == v3.last_updated_timestamp == T0 + 8
    # Without the flag, nothing else moves.
    client.transition_model_version_stage("m", 1, "Production")
    assert latest_by_stage(client.get_latest_versions("m", ["Production"])) == {"Production": 3}
    assert client.get_model_version("m", 3).current_stage == "Production"


def test_get_latest_versions(client: MlflowClient) -> None:
    client.create_registered_model("m")
    assert client.get_registered_model("m").latest_versions == []
    assert client.get_latest_versions("m") == []
    make_versions(client, "m", 5)
    client.transition_model_version_stage("m", 2, "Production")
    client.transition_model_version_stage("m", 3, "Production")
    client.transition_model_version_stage("m", 4, "Staging")
    client.transition_model_version_stage("m", 5, "Archived")
    everything = {"None": 1, "Production": 3, "Staging": 4, "Archived": 5}  # all four stages, as the SQL store
    assert latest_by_stage(client.get_registered_model("m").latest_versions) == everything
    assert latest_by_stage(client.get_latest_versions("m")) == everything
    assert latest_by_stage(client.get_latest_versions("m", [])) == everything
    for spelling in ("Production", "production", "pROduction"):
        assert latest_by_stage(client.get_latest_versions("m", [spelling])) == {"Production": 3}
    assert latest_by_stage(client.get_latest_versions("m", ["None", "Production"])) == {"None": 1, "Production": 3}
    client.delete_model_version("m", 3)
    assert latest_by_stage(client.get_latest_versions("m", ["Production"])) == {"Production": 2}
    assert latest_by_stage(client.get_registered_model("m").latest_versions)["Production"] == 2
    with fails(InvalidParameterValue, INVALID, "Invalid Model Version stage"):
        client.get_latest_versions("m", ["Deleted"])
    with fails(ResourceDoesNotExist, NOT_FOUND, "not found"):
        client.get_latest_versions("nope")


# -- aliases -----------------------------------------------------------------------------------------------------


def test_aliases(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 2)
    clock.advance(1)
    client.set_registered_model_alias("m", "test_alias", "2")
    assert client.get_registered_model("m").aliases == {"test_alias": 2}
    assert client.get_model_version("m", 1).aliases == []
    assert client.get_model_version("m", 2).aliases == ["test_alias"]
    assert client.get_model_version_by_alias("m", "test_alias").aliases == ["test_alias"]
    assert client.get_latest_versions("m", ["None"])[0].aliases == ["test_alias"]
    assert client.get_registered_model("m").last_updated_timestamp == T0  # aliases do not bump times
    client.set_registered_model_alias("m", "test_alias", 1)  # moving an alias
    assert client.get_model_version("m", 2).aliases == []
    assert client.resolve_model_uri("models:/m@test_alias").version == 1
    client.set_registered_model_alias("m", "other", 1)
    assert client.get_model_version("m", 1).aliases == ["other", "test_alias"]
    client.delete_registered_model_alias("m", "test_alias")
    client.delete_registered_model_alias("m", "test_alias")  # absent: a no-op, as in the SQL store
    assert client.get_registered_model("m").aliases == {"other": 1}
    # DIFFERENCE: a missing alias is RESOURCE_DOES_NOT_EXIST; MLflow's SQL store says INVALID_PARAMETER_VALUE.
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered model alias test_alias not found"):
        client.get_model_version_by_alias("m", "test_alias")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Model Version \(name=m, version=9\) not found"):
        client.set_registered_model_alias("m", "x", 9)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest", "v1", "V12", "v0"])
def test_reserved_alias_names(client: MlflowClient, alias: str) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 1)
    with fails(InvalidParameterValue, INVALID, "reserved"):
        client.set_registered_model_alias("m", alias, 1)


@pytest.mark.parametrize("alias", ["", "a/b", "with space", "a.b", "x" * 256])
def test_malformed_alias_names(client: MlflowClient, alias: str) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 1)
    with fails(InvalidParameterValue, INVALID, "lias"):
        client.set_registered_model_alias("m", alias, 1)


def test_deleting_a_version_or_model_deletes_its_aliases(client: MlflowClient) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 2)
    client.set_registered_model_alias("m", "test_alias", 2)
    client.delete_model_version("m", 2)
    assert client.get_registered_model("m").aliases == {}
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered model alias test_alias not found"):
        client.get_model_version_by_alias("m", "test_alias")
    client.set_registered_model_alias("m", "test_alias", 1)
    client.delete_registered_model("m")
    with fails(ResourceDoesNotExist, NOT_FOUND, r"^Registered Model with name=m not found"):
        client.get_model_version_by_alias("m", "test_alias")


# -- copy and download URIs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("same_model", [False, True])
def test_copy_model_version(client: MlflowClient, clock: FrozenClock, same_model: bool) -> None:
    client.create_registered_model("src")
    src = client.create_model_version(
        "src", "path/to/source", run_id="r1", tags={"key": "value"}, run_link="dummylink", description="test"
    )
    client.transition_model_version_stage("src", 1, "Production")  # stages are not copied
    client.set_registered_model_alias("src", "champion", 1)  # nor aliases
    clock.advance(50)
    dst_name = "src" if same_model else "dst"
    copied = client.copy_model_version("models:/src/1", dst_name)
    assert (copied.name, copied.version) == (dst_name, 2 if same_model else 1)
    assert copied == client.get_model_version(dst_name, copied.version)
    assert (copied.current_stage, copied.aliases, copied.status) == ("None", [], "READY")
    assert copied.creation_timestamp == copied.last_updated_timestamp == T0 + 50
    assert (copied.description, copied.run_link, copied.run_id) == ("test", "dummylink", "r1")
    assert copied.tags == {"key": "value"}
    assert copied.source == "models:/src/1"
    assert client.get_model_version_download_uri(dst_name, copied.version) == src.source
    again = client.copy_model_version(f"models:/{dst_name}/{copied.version}", "third")
    assert again.source == f"models:/{dst_name}/{copied.version}"
    assert client.get_model_version_download_uri("third", 1) == src.source
    with fails(ResourceDoesNotExist, NOT_FOUND, "not found"):
        client.copy_model_version("models:/src/9", "dst")


def test_download_uri_is_the_source_until_deleted(client: MlflowClient) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", "path/to/source")
    assert client.get_model_version_download_uri("m", 1) == "path/to/source"
    client.transition_model_version_stage("m", 1, "Production")
    client.update_model_version("m", 1, description="Test for Path")
    assert client.get_model_version_download_uri("m", "1") == "path/to/source"


def test_download_uri_of_a_local_folder_is_the_registrys_own_copy(client: MlflowClient, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    client.create_registered_model("m")
    mv = client.create_model_version("m", str(folder))
    # DIFFERENCE: local folders are copied into the registry (MLflow records the path as given).
    assert mv.source == str(folder)
    uri = client.get_model_version_download_uri("m", 1)
    assert uri == mv.storage_location and Path(uri, "MLmodel").is_file() and uri != str(folder)
    copied = client.copy_model_version("models:/m/1", "other")
    assert client.get_model_version_download_uri("other", copied.version) not in (uri, str(folder))


# -- search ------------------------------------------------------------------------------------------------------


def names(result: list[Any]) -> list[str]:
    return [rm.name for rm in result]


def test_search_registered_models_filters(client: MlflowClient) -> None:
    prefix = "test_for_search_"
    all_names = [prefix + n for n in ("RM1", "RM2", "RM3", "RM4", "RM4A", "RM4ab")]
    for name in all_names:
        client.create_registered_model(name)
    assert names(client.search_registered_models()) == all_names
    assert names(client.search_registered_models(f"name='{all_names[0]}'")) == all_names[:1]
    assert names(client.search_registered_models(f"name = '{all_names[0]}cats'")) == []
    assert names(client.search_registered_models(f"name LIKE '{prefix}%'")) == all_names
    assert names(client.search_registered_models("name LIKE '%RM%'")) == all_names
    assert names(client.search_registered_models("name LIKE '_e%'")) == all_names
    assert names(client.search_registered_models(f"name like '{prefix}RM4A%'")) == [all_names[4]]
    assert names(client.search_registered_models("name lIkE '%blah%'")) == []
    assert names(client.search_registered_models(f"name ILIKE '{prefix}RM4A%'")) == all_names[4:]
    assert names(client.search_registered_models("name iLike '%%'")) == all_names
    assert names(client.search_registered_models(f"name != '{all_names[0]}'")) == all_names[1:]
    for bad, message in (
        ("name!=something", "quote"),
        ("run_id='somerunID'", "run_id"),
        ("source_path = 'A/D'", "source_path"),
        ("evilhax = true", "evilhax"),
    ):
        with fails(InvalidParameterValue, INVALID, message):
            client.search_registered_models(bad)
    client.delete_registered_model(all_names[-1])
    page = client.search_registered_models(max_results=1000)
    assert (names(page), page.token) == (all_names[:-1], None)


def test_search_registered_models_by_tag(client: MlflowClient) -> None:
    client.create_registered_model("rm1", tags={"t1": "abc", "t2": "xyz"})
    client.create_registered_model("rm2", tags={"t1": "abcd", "t2": "xyz123", "t3": "XYZ"})
    assert names(client.search_registered_models("tag.t3 = 'XYZ'")) == ["rm2"]
    assert names(client.search_registered_models("tags.t3 = 'XYZ'")) == ["rm2"]
    assert names(client.search_registered_models("name = 'rm1' and tag.t1 = 'abc'")) == ["rm1"]
    assert names(client.search_registered_models("tag.t1 LIKE 'ab%'")) == ["rm1", "rm2"]
    assert names(client.search_registered_models("tag.t1 ILIKE 'aB%'")) == ["rm1", "rm2"]
    assert names(client.search_registered_models("tag.t1 LIKE 'ab%' AND tag.t2 LIKE 'xy%'")) == ["rm1", "rm2"]
    assert names(client.search_registered_models("tag.t3 = 'XYz'")) == []
    assert names(client.search_registered_models("tag.T3 = 'XYZ'")) == []
    assert names(client.search_registered_models("tag.t1 != 'abc'")) == ["rm2"]
    assert names(client.search_registered_models("tag.t1 != 'abcd' and tag.t1 LIKE 'ab%'")) == ["rm1"]
    assert names(client.search_registered_models("tags.`t1` = 'abc'")) == ["rm1"]


def test_search_registered_models_order_and_paging(client: MlflowClient, clock: FrozenClock) -> None:
    created = []
    for i in range(50):
        clock.set(i)
        created.append(client.create_registered_model(f"RM{i:03}").name)
    query = "name LIKE 'RM%'"

    def all_pages(order_by: list[str] | None, size: int) -> list[str]:
        seen, token = [], None
        while True:
            page = client.search_registered_models(query, max_results=size, order_by=order_by, page_token=token)
            seen += names(page)
            token = page.token
            if token is None:
                return seen

    assert all_pages(None, 5) == created
    assert all_pages(["name DESC"], 7) == created[::-1]
    for order in (["last_updated_timestamp DESC"], ["timestamp DESC"]):
        assert names(client.search_registered_models(query, max_results=100, order_by=order)) == created[::-1]
    for order in (["last_updated_timestamp ASC"], ["timestamp"], ["name ASC"], ["last_updated_timestamp"]):
        assert names(client.search_registered_models(query, max_results=100, order_by=order)) == created
    first = client.search_registered_models(query, max_results=5)
    assert names(first) == created[:5] and first.token is not None
    second = client.search_registered_models(query, max_results=10, page_token=first.token)
    assert names(second) == created[5:15]
    last = client.search_registered_models(query, max_results=100, page_token=second.token)
    assert names(last) == created[15:] and last.token is None
    # Ties on the timestamp fall back to name ASC.
    clock.set(1_000)
    client.create_registered_model("MR1")
    client.create_registered_model("MR2")
    clock.set(2_000)
    client.create_registered_model("MR3")
    client.create_registered_model("MR4")

    def ordered(order_by: list[str]) -> list[str]:
        return names(client.search_registered_models("name LIKE 'MR%'", order_by=order_by))

    assert ordered(["last_updated_timestamp ASC", "name DESC"]) == ["MR2", "MR1", "MR4", "MR3"]
    assert ordered(["timestamp ASC", "name   DESC"]) == ["MR2", "MR1", "MR4", "MR3"]
    assert ordered([]) == ["MR1", "MR2", "MR3", "MR4"]
    assert ordered(["last_updated_timestamp DESC"]) == ["MR3", "MR4", "MR1", "MR2"]
    assert ordered(["timestamp\tASC"]) == ordered(["timestamp  asc"]) == ["MR1", "MR2", "MR3", "MR4"]
    assert ordered(["timestamp  deSc", "name deSc"]) == ["MR4", "MR3", "MR2", "MR1"]


def test_search_registered_models_errors(client: MlflowClient) -> None:
    client.create_registered_model("RM1")
    with fails(InvalidParameterValue, INVALID, "Invalid page token"):
        client.search_registered_models(page_token="evilhax", max_results=20)
    with fails(InvalidParameterValue, INVALID, r"^Invalid value for request parameter max_results"):
        client.search_registered_models(max_results=1001)
    with fails(InvalidParameterValue, INVALID, r"Invalid order by key 'version_number'"):
        client.search_registered_models(order_by=["name ASC", "version_number DESC"])
    # DIFFERENCE: models can also be ordered by creation_timestamp (MLflow's SQL store refuses it).
    assert names(client.search_registered_models(order_by=["creation_timestamp DESC"])) == ["RM1"]
    with fails(InvalidParameterValue, INVALID, "blah"):
        client.search_registered_models(order_by=["name ASC", "last_updated_timestamp DESC blah"])
    with fails(InvalidParameterValue, INVALID, "duplicate"):
        client.search_registered_models(order_by=["timestamp", "last_updated_timestamp DESC"])


def versions(result: list[ModelVersion]) -> list[int]:
    return [mv.version for mv in result]


def test_search_model_versions_filters(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    run_1, run_2, run_3 = "a1" * 16, "b2" * 16, "c3" * 16
    for source, run in (("A/B", run_1), ("A/C", run_2), ("A/D", run_2), ("A/D", run_3)):
        clock.advance(1)
        client.create_model_version("m", source, run_id=run)

    def found(filter_string: str | None) -> set[int]:
        return set(versions(client.search_model_versions(filter_string, max_results=10)))

    assert found("name='m'") == {1, 2, 3, 4}
    assert found("version_number=2") == {2}
    assert found("version_number<=3") == {1, 2, 3}
    assert found(f"run_id='{run_1}'") == {1}
    assert found(f"run_id='{run_2}'") == {2, 3}
    assert found(f"run_id IN ('{run_1}','{run_2}')") == {1, 2, 3}
    assert found(f"run_id IN ('{run_1.upper()}', '{run_2}')") == {2, 3}  # IN is case-sensitive
    assert found(f"version_number=2 AND run_id IN ('{run_1}','{run_2}')") == {2}
    assert found(f"run_id LIKE '{run_2[:30]}%'") == {2, 3}
    assert found(f"run_id ILIKE '{run_2[:30].upper()}%'") == {2, 3}
    assert found("source_path = 'A/D'") == {3, 4}
    assert found("source_path = 'A'") == found("source_path = 'A/'") == found("source_path = ''") == set()
    for bad in ("run_id IN (1,2,3)", "run_id IN ()", "run_id IN (", "run_id IN", "name LIKE", "run_id IN (,)"):
        # DIFFERENCE: same code, but the message points at the bad part ("Invalid filter '...': expected ...").
        with fails(InvalidParameterValue, INVALID, r"^Invalid filter"):
            client.search_model_versions(bad)
    client.delete_model_version("m", 4)
    assert found("") == found(None) == found("name='m'") == {1, 2, 3}
    assert found("source_path = 'A/D'") == {3}
    client.transition_model_version_stage("m", 1, "production")
    client.update_model_version("m", 1, description="Online prediction model!")
    (mv,) = client.search_model_versions(f"run_id = '{run_1}'")
    assert (mv.current_stage, mv.source, mv.description) == ("Production", "A/B", "Online prediction model!")


def test_search_model_versions_by_tag(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", "A/B", tags={"t1": "abc", "t2": "xyz"})
    clock.advance(1)
    client.create_model_version("m", "A/C", tags={"t1": "abc", "t2": "x123"})

    def found(filter_string: str) -> list[int]:
        return versions(client.search_model_versions(filter_string))

    assert found("name = 'm' and tag.t2 = 'xyz'") == [1]
    assert found("name = 'wrong_name' and tag.t2 = 'xyz'") == []
    assert found("tag.`t2` = 'xyz'") == [1]
    assert found("tag.t3 = 'xyz'") == []
    assert found("tag.t2 != 'xy'") == [2, 1]  # newest first: last_updated_timestamp DESC
    assert found("tag.t2 LIKE 'xy%'") == [1]
    assert found("tag.t2 LIKE 'xY%'") == []
    assert found("tag.t2 ILIKE 'xY%'") == [1]
    assert found("tag.t2 LIKE 'x%'") == [2, 1]
    assert found("tag.T2 = 'xyz'") == []
    assert found("tag.t1 = 'abc' and tag.t2 LIKE 'x%'") == [2, 1]
    assert found("tag.t1 = 'abc' and tag.t2 LIKE 'y%'") == []
    assert found("tag.t2 like 'x%' and tag.t2 != 'xyz'") == [2]


def test_search_model_versions_order(client: MlflowClient, clock: FrozenClock) -> None:
    model_names = ["RM1", "RM2", "RM3", "RM4", "RM1", "RM4"]
    for name in sorted(set(model_names)):
        client.create_registered_model(name)
    for name in model_names:
        clock.advance(1)
        client.create_model_version(name, "A")

    def listed(order_by: list[str] | None) -> list[tuple[str, int]]:
        return [(mv.name, mv.version) for mv in client.search_model_versions(order_by=order_by)]

    newest_first = [("RM4", 2), ("RM1", 2), ("RM4", 1), ("RM3", 1), ("RM2", 1), ("RM1", 1)]
    assert listed(None) == newest_first  # default: last_updated_timestamp DESC, name ASC, version DESC
    assert listed(["creation_timestamp DESC"]) == newest_first
    assert listed(["name DESC"]) == [("RM4", 2), ("RM4", 1), ("RM3", 1), ("RM2", 1), ("RM1", 2), ("RM1", 1)]
    assert listed(["version_number DESC"]) == [("RM1", 2), ("RM4", 2), ("RM1", 1), ("RM2", 1), ("RM3", 1), ("RM4", 1)]
    clock.advance(1)
    client.update_model_version("RM1", 1, "latest updated")
    assert listed(["last_updated_timestamp ASC"])[-1] == ("RM1", 1)
    with fails(InvalidParameterValue, INVALID, "run_id"):
        client.search_model_versions(order_by=["name ASC", "run_id DESC"])
    with fails(InvalidParameterValue, INVALID, "blah"):
        client.search_model_versions(order_by=["name ASC", "last_updated_timestamp DESC blah"])


def test_search_model_versions_paging(client: MlflowClient, clock: FrozenClock) -> None:
    client.create_registered_model("pager")
    created = []
    for _ in range(50):
        clock.advance(1)
        created.append(client.create_model_version("pager", "A").version)
    newest_first = created[::-1]
    query = "name LIKE 'pager%'"
    seen, token = [], None
    while True:
        page = client.search_model_versions(query, max_results=5, page_token=token)
        seen += versions(page)
        if (token := page.token) is None:
            break
    assert seen == newest_first
    first = client.search_model_versions(query, max_results=5)
    second = client.search_model_versions(query, max_results=10, page_token=first.token)
    third = client.search_model_versions(query, max_results=20, page_token=second.token)
    last = client.search_model_versions(query, max_results=100, page_token=third.token)
    assert versions(first) + versions(second) + versions(third) == newest_first[:35]
    assert versions(last) == newest_first[35:] and last.token is None
    with fails(InvalidParameterValue, INVALID, "Invalid page token"):
        client.search_model_versions(query, page_token="evilhax", max_results=20)
    with fails(InvalidParameterValue, INVALID, "^Invalid value for max_results"):
        client.search_model_versions(query, max_results=1e15)  # type: ignore[arg-type]
    with fails(InvalidParameterValue, INVALID, "^Invalid value for request parameter max_results"):
        client.search_model_versions(query, max_results=200_001)


# -- behaviours MLflow's own suite checks (issue 15, item 6) -----------------------------------------------------


@pytest.mark.parametrize("spelling", ["latest", "Latest", "LATEST"])
def test_latest_is_a_case_insensitive_pseudo_alias(client: MlflowClient, spelling: str) -> None:
    client.create_registered_model("m")
    with fails(ResourceDoesNotExist, NOT_FOUND, "no versions"):
        client.get_model_version_by_alias("m", spelling)
    make_versions(client, "m", 3)
    assert client.get_model_version_by_alias("m", spelling).version == 3
    assert client.resolve_model_uri(f"models:/m@{spelling}").version == 3
    client.delete_model_version("m", 3)
    assert client.get_model_version_by_alias("m", spelling).version == 2


def test_get_latest_versions_in_mlflows_order(client: MlflowClient) -> None:
    """The order MLflow's SQL store returns (run side by side with MLflow 3): by each stage's lowest version."""
    client.create_registered_model("m")
    make_versions(client, "m", 6)
    for version, stage in [(1, "Archived"), (2, "Production"), (4, "Staging"), (5, "Production"), (3, "Staging")]:
        client.transition_model_version_stage("m", version, stage)
    everything = [(1, "Archived"), (5, "Production"), (4, "Staging"), (6, "None")]
    assert [(mv.version, mv.current_stage) for mv in client.get_latest_versions("m")] == everything
    assert [(mv.version, mv.current_stage) for mv in client.get_registered_model("m").latest_versions] == everything
    chosen = client.get_latest_versions("m", ["Production", "None", "Staging"])
    assert [(mv.version, mv.current_stage) for mv in chosen] == [(5, "Production"), (4, "Staging"), (6, "None")]


def test_current_stage_is_mlflows_plain_string_in_yaml_and_json(client: MlflowClient) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 1)
    mv = client.transition_model_version_stage("m", 1, "Production")
    assert yaml.safe_load(yaml.safe_dump({"stage": mv.current_stage})) == {"stage": "Production"}
    as_dict = attrs.asdict(mv)
    assert yaml.safe_load(yaml.safe_dump(as_dict))["current_stage"] == "Production"
    assert json.loads(json.dumps(as_dict))["current_stage"] == "Production"
    assert yaml.safe_load(yaml.dump(as_dict, Dumper=yaml.Dumper))["current_stage"] == "Production"
    none = client.create_model_version("m", "s3://b/2")
    assert yaml.safe_load(yaml.safe_dump({"s": none.current_stage})) == {"s": "None"}  # the string, not null


def test_paged_list_to_list(client: MlflowClient) -> None:
    client.create_registered_model("m")
    make_versions(client, "m", 3)
    page = client.search_model_versions("name = 'm'", max_results=2)
    plain = page.to_list()
    assert type(plain) is list and plain == list(page) and len(plain) == 2 and page.token is not None


@pytest.mark.parametrize("name", ["a", "hook-1", "Deploy.v2", "x" * 63, "9_to_5"])
def test_webhook_names_mlflow_accepts(client: MlflowClient, name: str) -> None:
    assert client.create_webhook(name, "https://example.com/h", ["model_version.created"]).name == name


@pytest.mark.parametrize("name", ["-hook", "hook-", "hook.", "_h", "x" * 64, "with space", "a/b", ""])
def test_webhook_names_mlflow_refuses(client: MlflowClient, name: str) -> None:
    with fails(InvalidParameterValue, INVALID, "[Ww]ebhook name"):
        client.create_webhook(name, "https://example.com/h", ["model_version.created"])


def test_list_webhooks_pages_between_1_and_1000(client: MlflowClient) -> None:
    client.create_webhook("h", "https://example.com/h", ["model_version.created"])
    assert len(client.list_webhooks(max_results=1000)) == 1
    for bad in (0, 1001):
        with fails(InvalidParameterValue, INVALID, "max_results"):
            client.list_webhooks(max_results=bad)


# -- the error tree --------------------------------------------------------------------------------------------


def test_errors_carry_mlflow_codes_and_refine_builtins(client: MlflowClient) -> None:
    with pytest.raises(LookupError) as missing:
        client.get_registered_model("nope")
    assert isinstance(missing.value, ResourceDoesNotExist) and missing.value.error_code == NOT_FOUND
    with pytest.raises(ValueError) as invalid:
        client.transition_model_version_stage("nope", 1, "bogus")
    assert isinstance(invalid.value, InvalidParameterValue) and invalid.value.error_code == INVALID
    assert ResourceAlreadyExists("x").error_code == EXISTS
    assert Stage.parse("production") == "Production"
