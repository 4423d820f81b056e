"""Registry.check: verification of every version's files, orphans, staging leftovers, and the rebuild."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from registry import Registry
from registry.errors import ArtifactVerificationError
from registry.store.check import verify_version


def test_a_clean_registry_is_ok(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", model_dir())
    reg.create_model_version("m", "s3://bucket/model")  # no files of its own: nothing to verify
    report = reg.check()
    assert report.ok and report.versions_checked == 1 and report.problems == []
    assert report.to_dict()["ok"] is True


def test_changed_files_are_reported_and_never_fixed(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", model_dir())
    assert mv.storage_location is not None
    with open(os.path.join(mv.storage_location, "model.bin"), "w") as f:
        f.write("tampered")
    with pytest.raises(ArtifactVerificationError, match=r"model\.bin"):
        verify_version(mv)
    for fix in (False, True):
        report = reg.check(fix=fix)
        assert not report.ok
        [problem] = report.problems
        assert (problem.kind, problem.name, problem.version, problem.fixed) == ("corrupt_version", "m", 1, False)
        assert "model.bin" in problem.detail


@pytest.fixture
def folder_reg(tmp_path: Path) -> Registry:
    return Registry(str(tmp_path / "registry"))


def test_orphans_and_leftovers_are_found_and_fixed(folder_reg: Registry, model_dir: Callable[..., str]) -> None:
    reg = folder_reg
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", model_dir())
    assert mv.storage_location is not None
    root = reg.uri
    orphan_model = os.path.join(root, "models", "deadbeef")
    os.makedirs(os.path.join(orphan_model, "versions", "1"))
    orphan_version = os.path.join(os.path.dirname(mv.storage_location), "7")
    os.makedirs(orphan_version)
    old_leftover = os.path.join(root, "tmp", "stage-old")
    young_leftover = os.path.join(root, "tmp", "stage-young")
    os.makedirs(old_leftover)
    os.makedirs(young_leftover)
    hours_ago = time.time() - 7200
    os.utime(old_leftover, (hours_ago, hours_ago))
    report = reg.check()
    assert report.ok  # garbage a crash leaves by design is reported, but is not a failure
    assert report.problems == []
    kinds = sorted((p.kind, os.path.basename(p.path), p.fixed) for p in report.leftovers)
    assert kinds == [
        ("orphan_model_folder", "deadbeef", False),
        ("orphan_version_folder", "7", False),
        ("staging_leftover", "stage-old", False),
        ("staging_leftover", "stage-young", False),
    ]
    assert all(os.path.exists(p) for p in (orphan_model, orphan_version, old_leftover))
    report = reg.check(fix=True)
    fixed = {os.path.basename(p.path): p.fixed for p in report.leftovers}
    assert fixed == {"deadbeef": True, "7": True, "stage-old": True, "stage-young": False}
    assert not os.path.exists(orphan_model) and not os.path.exists(orphan_version)
    assert not os.path.exists(old_leftover)
    assert os.path.exists(young_leftover)  # a writer may be copying it right now
    assert report.rebuilt
    assert reg.get_model_version("m", 1).digest == mv.digest
    os.utime(young_leftover, (hours_ago, hours_ago))  # the writer copying it has long gone
    assert reg.check(fix=True).ok


def test_fix_rewrites_damaged_model_documents(folder_reg: Registry, model_dir: Callable[..., str]) -> None:
    reg = folder_reg
    reg.create_registered_model("m", description="kept")
    reg.create_model_version("m", model_dir())
    reg.close()  # writes the checkpoint: model.json and view.json
    [doc] = list(Path(reg.uri, "models").glob("*/model.json"))
    doc.write_text("{ damaged")
    again = Registry(reg.uri)
    assert again.check(fix=True).ok
    assert json.loads(doc.read_text())["description"] == "kept"
    assert Registry(reg.uri).get_registered_model("m").description == "kept"
