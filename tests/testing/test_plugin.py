"""The pytest plugin: registered by the package's ``pytest11`` entry point, so installing the package is enough.

The main proof runs pytest in a subprocess on a small project that has no conftest and only uses the
fixtures; the in-process tests check that this suite gets the plugin's fixtures (nothing shadows them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from registry import MlflowClient, Registry, Stage
from registry.testing import FrozenClock

EXAMPLE_APP = '''
"""Application code: it only knows the default registry, as real code would."""
import registry


def champion_source(model: str) -> str:
    return registry.default_registry().resolve_model_uri(f"models:/{model}@champion").source
'''

EXAMPLE_TESTS = """
import os

import pytest

import registry
from app import champion_source
from registry.testing import capture_events


def test_model_registry_is_a_fresh_folder(model_registry, tmp_path):
    assert model_registry.list_registered_models() == []
    assert model_registry.uri.startswith(str(tmp_path))
    model_registry.create_registered_model("fraud")


def test_each_test_gets_its_own_registry(model_registry):
    model_registry.create_registered_model("fraud")  # no clash with the test above


def test_memory_registry(memory_registry):
    assert memory_registry.uri == "memory://"
    mv = memory_registry.create_model_version(
        memory_registry.create_registered_model("m").name, "s3://b/m"
    )
    assert mv.version == 1 and mv.user_id == "pytest"


def test_mlflow_client_allows_any_stage_move(mlflow_client):
    assert isinstance(mlflow_client, registry.MlflowClient)
    mlflow_client.create_registered_model("m")
    mlflow_client.create_model_version("m", "s3://b/m")
    mv = mlflow_client.transition_model_version_stage("m", 1, "Production")
    assert mv.current_stage == "Production"


def test_frozen_clock_makes_timestamps_exact(model_registry, registry_clock):
    start = registry_clock.now
    model_registry.create_registered_model("m")
    registry_clock.advance(1500)
    mv = model_registry.create_model_version("m", "s3://b/m")
    assert model_registry.get_registered_model("m").creation_timestamp == start
    assert mv.creation_timestamp == start + 1500


@pytest.mark.registry_seed({"fraud": {"versions": [{"stage": "Production", "aliases": ["champion"]}, {}]}})
def test_seeded_registries(model_registry, memory_registry):
    for reg in (model_registry, memory_registry):
        assert reg.get_model_version_by_alias("fraud", "champion").current_stage == "Production"
        assert [mv.version for mv in reg.list_model_versions("fraud")] == [1, 2]


@pytest.mark.registry_seed({"fraud": {"versions": ["s3://models/fraud/1", {"aliases": ["champion"]}]}})
def test_code_under_test_uses_the_fixture_registry(registry_uri, model_registry):
    assert os.environ["REGISTRY_URI"] == registry_uri == model_registry.uri
    with capture_events(model_registry) as events:
        assert champion_source("fraud") == "seed:/fraud/2"
        registry.default_registry().set_registered_model_tag("fraud", "checked", "yes")
    assert events.types == ["registered_model_tag.set"]


def test_registry_uri_was_restored():
    assert "REGISTRY_URI" not in os.environ
    assert registry.get_registry_uri().endswith("mlregistry")
"""


def _run_example(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_URI", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A project with no conftest: its tests get the fixtures from the installed package alone."""
    project = tmp_path / "example"
    project.mkdir()
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers\nfilterwarnings = error\npythonpath = .\n"
    )
    (project / "app.py").write_text(textwrap.dedent(EXAMPLE_APP))
    (project / "test_app.py").write_text(textwrap.dedent(EXAMPLE_TESTS))
    return project


def test_the_package_declares_the_pytest11_entry_point() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "registry"]
    assert plugin.value == "registry.testing.plugin"


@pytest.mark.slow
def test_a_fresh_project_gets_the_fixtures_by_installing_the_package(example_project: Path) -> None:
    result = _run_example(example_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout


@pytest.mark.slow
def test_disabling_the_plugin_removes_the_fixtures(example_project: Path) -> None:
    result = _run_example(example_project, "-p", "no:registry")
    assert result.returncode != 0
    # Without the plugin the marker is unknown: an error under --strict-markers (pytest words it differently
    # across versions: "Unknown pytest.mark.registry_seed" or "'registry_seed' not found in `markers`") ...
    assert "registry_seed" in result.stdout and ("Unknown" in result.stdout or "not found" in result.stdout)
    # ... and with the marked tests left out, the fixtures are missing.
    (example_project / "test_app.py").write_text("def test_needs_the_plugin(model_registry):\n    pass\n")
    result = _run_example(example_project, "-p", "no:registry")
    assert result.returncode != 0
    assert "fixture 'model_registry' not found" in result.stdout


# -- the fixtures in this repository's own run (the lead's conftest must not shadow them) ---------------------------


def test_this_suite_loads_the_plugin(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("registry")


def test_model_registry_fixture(model_registry: Registry, tmp_path: Path, registry_clock: FrozenClock) -> None:
    assert type(model_registry) is Registry and model_registry.stage_policy.name == "mlflow"
    assert model_registry.uri == str(tmp_path / "model-registry")
    assert model_registry._store.durable is False
    mv = model_registry.create_model_version(model_registry.create_registered_model("m").name, "s3://b")
    assert (mv.user_id, mv.creation_timestamp) == ("pytest", registry_clock.now)
    assert model_registry._store.state.model("m").id == "m1"  # sequential ids: reproducible folder names


def test_memory_registry_fixture(memory_registry: Registry) -> None:
    assert memory_registry.uri == "memory://"
    assert memory_registry.list_registered_models() == []


def test_mlflow_client_fixture(mlflow_client: MlflowClient, model_registry: Registry) -> None:
    assert isinstance(mlflow_client, MlflowClient) and mlflow_client.stage_policy.name == "mlflow"
    assert mlflow_client.uri != model_registry.uri  # two isolated registries in one test


@pytest.mark.registry_seed({"m": {"versions": [{"stage": "Staging"}]}})
def test_registry_seed_marker(memory_registry: Registry, mlflow_client: MlflowClient) -> None:
    for reg in (memory_registry, mlflow_client):
        assert reg.get_latest_versions("m", ["Staging"])[0].current_stage == Stage.STAGING


@pytest.mark.registry_seed()
def test_registry_seed_marker_needs_its_spec(request: pytest.FixtureRequest) -> None:
    with pytest.raises(pytest.UsageError, match="exactly one argument"):
        request.getfixturevalue("memory_registry")


def test_registry_uri_fixture(registry_uri: str, model_registry: Registry) -> None:
    import registry

    assert registry.default_registry() is model_registry
    assert os.environ["REGISTRY_URI"] == registry_uri
