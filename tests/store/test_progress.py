"""Progress callbacks (registry.store.progress): what register, export, check and bundles report, that a
refused callback fails up front, and that the verified export leaves nothing behind when a file differs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from registry import Registry
from registry.domain.progress import Progress
from registry.errors import ArtifactVerificationError, InvalidParameterValue
from registry.store.progress import ProgressMeter


def _model(tmp_path: Path, files: int = 5, size: int = 3_000_000) -> tuple[str, int]:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    for i in range(files):
        (folder / f"w{i}.bin").write_bytes(os.urandom(size))
    return str(folder), files * size + len("flavors: {}\n")


def _checked(reports: list[Progress], task: str, files: int, nbytes: int) -> None:
    assert reports, "no report"
    assert {r.task for r in reports} == {task}
    assert reports[0].files_done == 0 and not reports[0].finished  # the totals, before any work
    last = reports[-1]
    assert last.finished and [r.finished for r in reports].count(True) == 1
    assert (last.files_done, last.files_total, last.bytes_done, last.bytes_total) == (files, files, nbytes, nbytes)
    done = [r.bytes_done for r in reports]
    assert done == sorted(done)  # never backwards
    assert all(r.elapsed >= 0 for r in reports)


def test_register_export_check_and_bundles_report_files_and_bytes(tmp_path: Path) -> None:
    source, size = _model(tmp_path)
    with Registry(str(tmp_path / "reg")) as reg:
        reg.create_registered_model("m")
        reports: list[Progress] = []
        reg.create_model_version("m", source, progress=reports.append)
        _checked(reports, "register", 6, size)
        reports = []
        reg.export_model_version("models:/m/1", str(tmp_path / "out"), progress=reports.append)
        _checked(reports, "export", 6, size)
        assert sorted(os.listdir(tmp_path / "out")) == sorted([*os.listdir(source), "MANIFEST.sha256"])
        reports = []
        assert reg.check(progress=reports.append).ok
        _checked(reports, "check", 6, size)
        reports = []
        reg.export_bundle(str(tmp_path / "m.tar"), progress=reports.append)
        _checked(reports, "bundle", 6, size)
    with Registry(str(tmp_path / "other")) as other:
        reports = []
        other.import_bundle(str(tmp_path / "m.tar"), progress=reports.append)
        _checked(reports, "import", 6, size)


def test_a_callback_that_is_not_callable_is_refused_before_any_work(tmp_path: Path) -> None:
    source, _ = _model(tmp_path, files=1, size=10)
    with Registry(str(tmp_path / "reg")) as reg:
        reg.create_registered_model("m")
        for call in (
            lambda: reg.create_model_version("m", source, progress="bar"),  # type: ignore[arg-type]
            lambda: reg.check(progress=42),  # type: ignore[arg-type]
            lambda: reg.export_bundle(str(tmp_path / "x.tar"), progress=[]),  # type: ignore[arg-type]
        ):
            with pytest.raises(InvalidParameterValue, match="progress must be a callable"):
                call()
        assert reg.list_model_versions("m") == [] and not os.path.exists(tmp_path / "x.tar")


def test_reports_are_throttled() -> None:
    calls: list[Progress] = []
    meter = ProgressMeter("t", 1000, 1000, calls.append, every=3600)
    meter.start()
    for _ in range(1000):
        meter.advance(files=1, nbytes=1)
    meter.finish()
    assert [c.files_done for c in calls] == [0, 1000]  # the start and the end, nothing between


def test_an_export_that_finds_a_changed_file_leaves_nothing_behind(
    tmp_path: Path, model_dir: Callable[..., str]
) -> None:
    with Registry(str(tmp_path / "reg")) as reg:
        reg.create_registered_model("m")
        mv = reg.create_model_version("m", model_dir())
        assert mv.storage_location is not None
        Path(mv.storage_location, "model.bin").write_text("tampered")
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(ArtifactVerificationError, match=r"model\.bin"):
            reg.export_model_version("models:/m/1", str(empty))
        assert os.listdir(empty) == []  # the empty folder stays empty
        assert sorted(os.listdir(tmp_path)) == ["empty", "model-src-0", "reg"]  # no partial copy beside it
        Path(mv.storage_location, "model.bin").write_text("weights")
        assert reg.export_model_version("models:/m/1", str(empty)) == str(empty)  # into the empty folder
        assert (empty / "model.bin").read_text() == "weights"
