"""Registry.check: verification of every version's files, orphans, staging leftovers, and the rebuild."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from registry import Registry
from registry.errors import ArtifactVerificationError, CorruptRegistry
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


# -- the caches are verifiably caches (issue 10, list 6) ------------------------------------------------------------


def closed_registry(root: Path) -> tuple[Path, dict]:
    reg = Registry(str(root))
    reg.create_registered_model("m", tags={"t": "1"})
    reg.create_model_version("m", "s3://bucket/1")
    reg.create_registered_model("n")
    reg.close()
    view = json.loads((root / "view.json").read_text())
    ids = {entry[1]: model_id for model_id, entry in view["models"].items()}
    return root / "models" / ids["m"] / "model.json", view


def kinds(report) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    return sorted((p.kind, p.fixed) for p in report.problems)


def test_a_forged_tag_with_a_raised_seq_is_detected_and_fixed(tmp_path: Path) -> None:
    doc_path, _view = closed_registry(tmp_path / "r")
    doc = json.loads(doc_path.read_text())
    doc["seq"] += 10
    doc["tags"] = {"t": "forged"}
    doc_path.write_text(json.dumps(doc))
    reg = Registry(str(tmp_path / "r"))
    assert reg.get_registered_model("m").tags == {"t": "1"}  # never served
    report = reg.check()
    assert kinds(report) == [("document_mismatch", False)] and not report.ok
    assert "journal ends at event" in report.problems[0].detail
    assert reg.check(fix=True).ok
    assert json.loads(doc_path.read_text())["tags"] == {"t": "1"}
    assert Registry(str(tmp_path / "r")).check().ok


def test_a_forged_document_at_its_own_seq_is_detected(tmp_path: Path) -> None:
    doc_path, _view = closed_registry(tmp_path / "r")
    doc = json.loads(doc_path.read_text())
    doc["tags"] = {"t": "forged"}
    doc_path.write_text(json.dumps(doc))
    report = Registry(str(tmp_path / "r")).check()
    # The document claims exactly the checkpoint's position, so a handle loading it believes it: check finds
    # both the document and the view it made.
    assert kinds(report) == [("document_mismatch", False), ("view_mismatch", False)]
    assert "tags" in report.problems[0].detail
    fixed = Registry(str(tmp_path / "r")).check(fix=True)
    assert kinds(fixed) == [("document_mismatch", True), ("view_mismatch", True)] and fixed.ok
    assert Registry(str(tmp_path / "r")).get_registered_model("m").tags == {"t": "1"}


def test_a_checkpoint_claiming_a_position_the_journal_lacks(tmp_path: Path) -> None:
    root = tmp_path / "r"
    _doc, view = closed_registry(root)
    view["seq"] += 3
    (root / "view.json").write_text(json.dumps(view))
    reg = Registry(str(root))
    with pytest.raises(CorruptRegistry, match="no record of event"):
        reg.list_registered_models()
    report = reg.check()
    assert kinds(report) == [("checkpoint_mismatch", False)]
    assert reg.check(fix=True).ok
    assert [m.name for m in Registry(str(root)).list_registered_models()] == ["m", "n"]


def test_a_journal_truncated_to_nothing_is_not_an_empty_registry(tmp_path: Path) -> None:
    root = tmp_path / "r"
    closed_registry(root)
    (root / "journal" / "journal.log").write_bytes(b"")
    reg = Registry(str(root))  # opens, so that check can run
    with pytest.raises(CorruptRegistry, match="journal has only 0 bytes"):
        reg.list_registered_models()
    with pytest.raises(CorruptRegistry, match=r"Restore journal/journal\.log from a backup"):
        reg.create_registered_model("x")
    report = reg.check()
    assert not report.ok and ("checkpoint_mismatch", False) in kinds(report)
    assert any("journal has only 0 bytes" in p.detail for p in report.problems)
    assert ("document_mismatch", False) in kinds(report)  # the documents claim events the journal lost too
    fixed = reg.check(fix=True)  # accepts the loss, now that it is known
    assert fixed.ok and reg.list_registered_models() == []
    assert Registry(str(root)).list_registered_models() == []


def test_stray_temp_files_are_leftovers_removed_by_fix(tmp_path: Path) -> None:
    root = tmp_path / "r"
    doc_path, _view = closed_registry(root)
    strays = [root / ".view.json.abc.tmp", doc_path.parent / ".x.tmp", root / "journal" / ".j.tmp"]
    for stray in strays:
        stray.write_text("half")
    reg = Registry(str(root))
    report = reg.check()
    assert report.ok and report.problems == []
    assert sorted(str(p.path) for p in report.leftovers if p.kind == "stray_temp_file") == sorted(map(str, strays))
    assert all(p.exists() for p in strays)
    assert reg.check(fix=True).ok
    assert not any(p.exists() for p in strays)


def test_log_model_stages_inside_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry import pyfunc
    from registry.flavors import pyfunc as implementation

    class Constant(pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return [1 for _ in model_input]

    reg = Registry(str(tmp_path / "r"))
    seen: list[str] = []
    real = implementation.save_model

    def save_and_crash(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(str(path))
        real(path, *args, **kwargs)
        raise KeyboardInterrupt("killed while registering")

    monkeypatch.setattr(implementation, "save_model", save_and_crash)
    with pytest.raises(KeyboardInterrupt):
        reg.log_model(Constant(), registered_model_name="m")
    assert seen and seen[0].startswith(os.path.join(reg.uri, "tmp") + os.sep)
    monkeypatch.undo()
    assert reg.log_model(Constant(), registered_model_name="m").version == 1
    assert os.listdir(os.path.join(reg.uri, "tmp")) == []  # removed on success and on failure


def test_young_staging_leftovers_are_not_failures(folder_reg: Registry) -> None:
    reg = folder_reg
    os.makedirs(os.path.join(reg.uri, "tmp", "stage-young"))
    report = reg.check()
    assert report.ok and report.problems == []
    [leftover] = report.leftovers
    assert leftover.kind == "staging_leftover" and "a writer may still be copying it" in leftover.detail
    assert reg.check(fix=True).ok and os.path.exists(os.path.join(reg.uri, "tmp", "stage-young"))


def test_check_on_a_journal_that_cannot_be_replayed(tmp_path: Path) -> None:
    root = tmp_path / "r"
    closed_registry(root)
    with open(root / "journal" / "journal.log", "ab") as f:
        from registry.store.journal import encode_record

        f.write(
            encode_record(
                {
                    "seq": 99,
                    "timestamp": 0,
                    "type": "model_version.deleted",
                    "model_id": "nope",
                    "name": "m",
                    "data": {"version": 1},
                }
            )
        )
        f.write(encode_record({"seq": 100, "timestamp": 0, "type": "unknown.kind"}))
    report = Registry(str(root), read_only=True).check()
    # Records appended by hand also break the hash chain (they carry no hash after records that do).
    assert kinds(report) == [("history_mismatch", False), ("journal_damaged", False)] and not report.ok
    assert report.history is not None and report.history.first_bad == 99
