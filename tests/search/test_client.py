"""Search through the public client, on both backends: results follow every kind of write."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from conftest import TickingClock

import registry
from registry import InvalidParameterValue, PagedList, Registry


def versions(page):
    return [(v.name, v.version) for v in page]


@pytest.fixture
def populated(reg: Registry) -> Registry:
    reg.create_registered_model("fraud", tags={"team": "risk"}, description="catches fraud")
    reg.create_registered_model("churn-eu", tags={"team": "growth"})
    reg.create_registered_model("churn-us")
    for i in range(1, 4):
        reg.create_model_version("fraud", f"s3://bucket/fraud/{i}", run_id=f"run-{i}", tags={"n": str(i)})
    reg.create_model_version("churn-eu", "s3://bucket/churn/1", run_id="run-1")
    reg.set_model_version_tag("fraud", 2, "validation_status", "passed")
    reg.set_model_version_tag("fraud", 3, "validation_status", "failed")
    reg.set_registered_model_alias("fraud", "champion", 2)
    return reg


def test_issue_examples(populated: Registry):
    page = populated.search_model_versions("name='fraud' and tags.validation_status='passed'")
    assert isinstance(page, PagedList) and versions(page) == [("fraud", 2)]
    assert page[0].aliases == ["champion"]
    models = populated.search_registered_models(
        "name LIKE 'churn-%'", order_by=["last_updated_timestamp DESC"], max_results=50
    )
    assert [m.name for m in models] == ["churn-eu", "churn-us"]  # churn-eu got a version later


def test_default_version_order_is_newest_update_first(populated: Registry):
    # As in MLflow, tag and alias writes do not touch a version's last_updated_timestamp; the TickingClock gives
    # every write its own millisecond, so creation order decides here.
    assert versions(populated.search_model_versions()) == [
        ("churn-eu", 1),
        ("fraud", 3),
        ("fraud", 2),
        ("fraud", 1),
    ]
    populated.update_model_version("fraud", 1, description="now the newest")
    assert versions(populated.search_model_versions())[0] == ("fraud", 1)


def test_fields_through_the_client(populated: Registry):
    assert versions(populated.search_model_versions("run_id = 'run-1'", order_by=["name"])) == [
        ("churn-eu", 1),
        ("fraud", 1),
    ]
    assert versions(populated.search_model_versions("source_path LIKE '%/churn/%'")) == [("churn-eu", 1)]
    assert versions(populated.search_model_versions("version_number >= 2", order_by=["version_number"])) == [
        ("fraud", 2),
        ("fraud", 3),
    ]
    assert versions(populated.search_model_versions("alias = 'champion'")) == [("fraud", 2)]
    assert [m.name for m in populated.search_registered_models("tags.team IS NOT NULL")] == ["churn-eu", "fraud"]
    assert [m.name for m in populated.search_registered_models("alias IS NOT NULL")] == ["fraud"]
    assert [m.name for m in populated.search_registered_models("description ILIKE '%FRAUD%'")] == ["fraud"]


def test_search_follows_writes(populated: Registry):
    reg = populated
    assert versions(reg.search_model_versions("stage = 'production'")) == []
    reg.transition_model_version_stage("fraud", 2, "Staging")
    reg.transition_model_version_stage("fraud", 2, "Production")
    assert versions(reg.search_model_versions("stage = 'production'")) == [("fraud", 2)]

    reg.delete_model_version("fraud", 2)
    assert versions(reg.search_model_versions("name = 'fraud'")) == [("fraud", 3), ("fraud", 1)]
    assert versions(reg.search_model_versions("alias IS NOT NULL")) == []
    assert versions(reg.search_model_versions("version_number = 2")) == []

    reg.rename_registered_model("fraud", "fraud-v2")
    assert versions(reg.search_model_versions("name = 'fraud'")) == []
    assert versions(reg.search_model_versions("name = 'fraud-v2'")) == [("fraud-v2", 3), ("fraud-v2", 1)]
    assert [m.name for m in reg.search_registered_models("tags.team = 'risk'")] == ["fraud-v2"]

    reg.delete_registered_model_tag("fraud-v2", "team")
    assert reg.search_registered_models("tags.team = 'risk'") == []
    reg.delete_registered_model("fraud-v2")
    assert [m.name for m in reg.search_registered_models()] == ["churn-eu", "churn-us"]
    assert versions(reg.search_model_versions()) == [("churn-eu", 1)]


def test_paging_through_the_client(reg: Registry):
    for i in range(7):
        reg.create_registered_model(f"m{i}")
        reg.create_model_version(f"m{i}", "s3://x")
    whole = reg.search_model_versions(order_by=["name DESC"])
    pages = []
    token = None
    while True:
        page = reg.search_model_versions(order_by=["name DESC"], max_results=3, page_token=token)
        pages.append(page)
        token = page.token
        if token is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [v for p in pages for v in p] == list(whole)


def test_errors_through_the_client(reg: Registry):
    with pytest.raises(InvalidParameterValue, match=r"unknown attribute 'nme'") as info:
        reg.search_model_versions("nme = 'x'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(InvalidParameterValue, match="at most 1000"):
        reg.search_registered_models(max_results=1001)
    with pytest.raises(InvalidParameterValue, match="Invalid page token"):
        reg.search_model_versions(page_token="evilhax")


def test_signatures_match_mlflow():
    for method, default in (("search_registered_models", 100), ("search_model_versions", 10_000)):
        params = inspect.signature(getattr(Registry, method)).parameters
        assert list(params) == ["self", "filter_string", "max_results", "order_by", "page_token"]
        assert params["filter_string"].default is None
        assert params["max_results"].default == default
        assert params["order_by"].default is None and params["page_token"].default is None
        assert getattr(Registry, method).__doc__
    assert registry.PagedList is PagedList


def test_another_process_write_is_seen_by_a_warm_search(tmp_path: Path):
    # Two clients on one folder stand in for two processes: the reader's cached sorted list must not survive
    # the writer's commit.
    root = str(tmp_path / "shared")
    with Registry(root, clock=TickingClock()) as writer, Registry(root, clock=TickingClock()) as reader:
        writer.create_registered_model("m")
        writer.create_model_version("m", "s3://a", tags={"k": "v"})
        assert versions(reader.search_model_versions("tags.k = 'v'")) == [("m", 1)]
        writer.create_model_version("m", "s3://b", tags={"k": "v"})
        writer.set_model_version_tag("m", 1, "k", "changed")
        assert versions(reader.search_model_versions("tags.k = 'v'")) == [("m", 2)]
        assert [m.name for m in reader.search_registered_models()] == ["m"]
        writer.create_registered_model("n")
        assert [m.name for m in reader.search_registered_models()] == ["m", "n"]


def test_mlflow_client_searches_too():
    client = registry.MlflowClient(registry_uri="memory://")
    client.create_registered_model("x")
    client.create_model_version("x", "s3://x", run_id="r")
    assert versions(client.search_model_versions("run_id = 'r'")) == [("x", 1)]
    client.close()
