"""A version's own copy of its files: what registering copies, and what verification accepts.

The attacks of issue 11, each a test: symlinks, FIFOs and extra files inside a stored version must fail
verification (``load_model`` and ``check`` alike); registering a folder must never copy anything from outside
it, never follow a loop, never read a device, and must leave nothing behind when it refuses.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry import ArtifactVerificationError, InvalidParameterValue, Registry, RegistryError, pyfunc
from registry.store.artifacts import CopyLimits, stage_directory, verify_artifacts


class Echo(pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return list(model_input)


@pytest.fixture
def freg(tmp_path: Path) -> Registry:
    registry = Registry(str(tmp_path / "registry"))
    registry.create_registered_model("m")
    return registry


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A model folder to register: a pyfunc model with a code folder."""
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "util.py").write_text("X = 1\n")
    path = tmp_path / "src"
    pyfunc.save_model(path, python_model=Echo(), code_paths=[str(tmp_path / "helpers")])
    return path


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.txt").write_text("root:x:0:0\n")
    for i in range(3):
        (folder / f"cert{i}.pem").write_text(f"cert {i}\n")
    return folder


def stored(reg: Registry, source: Path) -> Path:
    mv = reg.create_model_version("m", str(source))
    assert mv.storage_location is not None
    return Path(mv.storage_location)


def assert_refused(reg: Registry, match: str) -> None:
    with pytest.raises(ArtifactVerificationError, match=match):
        reg.load_model("models:/m/1")
    report = reg.check()
    assert not report.ok
    [problem] = report.problems
    assert problem.kind == "corrupt_version" and problem.version == 1
    assert __import__("re").search(match, problem.detail), problem.detail


# -- a stored version holds regular files and folders only, all of them in the manifest -----------------------


def test_an_added_symlink_to_a_folder_fails_verification(freg: Registry, source: Path, elsewhere: Path) -> None:
    location = stored(freg, source)
    freg.load_model("models:/m/1")
    os.symlink(elsewhere, location / "link")
    assert_refused(freg, r"'link'.*symbolic link")


def test_code_replaced_by_a_symlink_with_an_extra_module_fails(freg: Registry, source: Path, tmp_path: Path) -> None:
    location = stored(freg, source)
    twin = tmp_path / "twin-code"
    shutil.copytree(location / "code", twin)
    (twin / "json.py").write_text("raise SystemExit('shadowed the json module')\n")
    shutil.rmtree(location / "code")
    os.symlink(twin, location / "code")
    assert_refused(freg, r"'code'.*symbolic link")
    assert "json" in sys.modules and not hasattr(sys.modules["json"], "SystemExit")


def test_the_pickle_replaced_by_a_symlink_to_an_identical_copy_fails(
    freg: Registry, source: Path, tmp_path: Path
) -> None:
    location = stored(freg, source)
    copy = tmp_path / "identical.pkl"
    shutil.copyfile(location / "python_model.pkl", copy)
    os.remove(location / "python_model.pkl")
    os.symlink(copy, location / "python_model.pkl")
    assert_refused(freg, r"'python_model.pkl'.*symbolic link")


def test_a_fifo_in_a_stored_version_fails_without_blocking(freg: Registry, source: Path) -> None:
    location = stored(freg, source)
    os.mkfifo(location / "code" / "pipe")
    assert_refused(freg, r"'code/pipe'.*(FIFO|not a regular file)")


def test_a_socket_in_a_stored_version_fails(freg: Registry, source: Path, tmp_path: Path) -> None:
    location = stored(freg, source)
    # AF_UNIX paths are limited to ~108 bytes: bind from inside the folder with a relative name.
    here = os.getcwd()
    os.chdir(location)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock")
    finally:
        os.chdir(here)
    assert_refused(freg, r"'sock'.*(socket|not a regular file)")


def test_an_extra_file_deep_inside_fails(freg: Registry, source: Path) -> None:
    location = stored(freg, source)
    (location / "code" / "helpers" / "deeper").mkdir()
    (location / "code" / "helpers" / "deeper" / "extra.py").write_text("")
    assert_refused(freg, r"'code/helpers/deeper/extra.py', which was not there")


def test_the_version_folder_itself_replaced_by_a_symlink_fails(freg: Registry, source: Path, tmp_path: Path) -> None:
    location = stored(freg, source)
    twin = tmp_path / "twin-version"
    shutil.copytree(location, twin)
    shutil.rmtree(location)
    os.symlink(twin, location)
    with pytest.raises(ArtifactVerificationError, match="symbolic link"):
        freg.load_model("models:/m/1")


def test_the_manifest_replaced_by_a_symlink_fails(freg: Registry, source: Path, tmp_path: Path) -> None:
    location = stored(freg, source)
    copy = tmp_path / "manifest-copy"
    shutil.copyfile(location / "MANIFEST.sha256", copy)
    os.remove(location / "MANIFEST.sha256")
    os.symlink(copy, location / "MANIFEST.sha256")
    with pytest.raises(ArtifactVerificationError, match=r"MANIFEST\.sha256"):
        freg.load_model("models:/m/1")


def test_verify_artifacts_of_an_untouched_version_passes(freg: Registry, source: Path) -> None:
    mv = freg.create_model_version("m", str(source))
    assert mv.storage_location and mv.digest
    verify_artifacts(mv.storage_location, mv.digest)
    assert freg.check().ok


# -- registering a folder copies what is inside it, and nothing else ---------------------------------------------


def assert_nothing_written(reg: Registry) -> None:
    assert reg.list_model_versions("m") == []
    staging = Path(reg.uri) / "tmp"
    assert not staging.exists() or list(staging.iterdir()) == []
    models = Path(reg.uri) / "models"
    assert not any(p.name == "versions" for p in models.rglob("*")) if models.exists() else True


@pytest.mark.parametrize(
    ("name", "target", "why"),
    [
        ("passwd", lambda e: e / "secret.txt", "outside"),
        ("ssl", lambda e: e, "outside"),
        ("up", lambda e: Path(".."), "outside"),
        ("weights.bin", lambda e: Path("/dev/zero"), "outside"),
        ("dangling", lambda e: e / "missing", "does not exist|outside"),
    ],
    ids=["file-outside", "folder-outside", "parent-loop", "device", "dangling"],
)
def test_registering_refuses_symlinks_leading_outside(
    freg: Registry, source: Path, elsewhere: Path, name: str, target: Callable[[Path], Path], why: str
) -> None:
    os.symlink(target(elsewhere), source / name)
    with pytest.raises(RegistryError, match=rf"'{name}'.*({why})") as caught:
        freg.create_model_version("m", str(source))
    assert caught.value.path == name  # type: ignore[attr-defined]
    assert_nothing_written(freg)


def test_registering_refuses_a_loop_inside_the_folder(freg: Registry, source: Path) -> None:
    os.symlink("..", source / "code" / "up")
    with pytest.raises(RegistryError, match=r"'code/up'.*loop"):
        freg.create_model_version("m", str(source))
    assert_nothing_written(freg)


def test_registering_refuses_mutual_folder_links(freg: Registry, source: Path) -> None:
    (source / "a").mkdir()
    (source / "b").mkdir()
    os.symlink("../b", source / "a" / "to_b")
    os.symlink("../a", source / "b" / "to_a")
    with pytest.raises(RegistryError, match="loop"):
        freg.create_model_version("m", str(source))
    assert_nothing_written(freg)


def test_registering_refuses_a_fifo_without_blocking(freg: Registry, source: Path) -> None:
    os.mkfifo(source / "pipe")
    with pytest.raises(RegistryError, match=r"'pipe'.*FIFO"):
        freg.create_model_version("m", str(source))
    assert_nothing_written(freg)


def test_registering_refuses_a_symlink_to_a_fifo_inside(freg: Registry, source: Path) -> None:
    os.mkfifo(source / "pipe")
    os.symlink("pipe", source / "weights.bin")
    with pytest.raises(RegistryError, match="FIFO"):
        freg.create_model_version("m", str(source))
    assert_nothing_written(freg)


def test_symlinks_inside_the_folder_are_stored_as_what_they_point_to(freg: Registry, source: Path) -> None:
    os.symlink("python_model.pkl", source / "alias.pkl")
    os.symlink("code", source / "code_link")
    os.symlink(source / "MLmodel", source / "MLmodel.abs")  # absolute, but inside
    location = stored(freg, source)
    for path in location.rglob("*"):
        assert not path.is_symlink(), path
    assert (location / "alias.pkl").read_bytes() == (source / "python_model.pkl").read_bytes()
    assert (location / "code_link" / "helpers" / "util.py").read_text() == "X = 1\n"
    assert (location / "MLmodel.abs").read_text() == (source / "MLmodel").read_text()
    assert freg.load_model("models:/m/1").predict([1]) == [1]
    assert freg.check().ok


def test_a_source_that_is_itself_a_symlink_is_followed(freg: Registry, source: Path, tmp_path: Path) -> None:
    os.symlink(source, tmp_path / "current")
    location = stored(freg, tmp_path / "current")
    assert (location / "python_model.pkl").is_file()


def test_size_limits_are_enforced_with_a_clear_error(tmp_path: Path, source: Path) -> None:
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    count = sum(1 for _ in source.rglob("*"))  # files and folders
    small = Registry(str(tmp_path / "small"), max_version_bytes=total - 1)
    small.create_registered_model("m")
    with pytest.raises(InvalidParameterValue, match=r"more than .* bytes.*max_version_bytes"):
        small.create_model_version("m", str(source))
    assert_nothing_written(small)
    few = Registry(str(tmp_path / "few"), max_version_files=count - 1)
    few.create_registered_model("m")
    with pytest.raises(InvalidParameterValue, match=r"more than .* files.*max_version_files"):
        few.create_model_version("m", str(source))
    assert_nothing_written(few)
    exact = Registry(str(tmp_path / "exact"), max_version_bytes=total, max_version_files=count)
    exact.create_registered_model("m")
    assert exact.create_model_version("m", str(source)).digest


def test_a_file_growing_during_the_copy_cannot_pass_the_byte_limit(tmp_path: Path) -> None:
    src = tmp_path / "growing"
    src.mkdir()
    (src / "big.bin").write_bytes(b"x" * 10)
    staging = tmp_path / "staging"
    staging.mkdir()
    # The limit holds on the bytes actually copied, not on what stat said before: /dev/zero would be endless.
    with pytest.raises(InvalidParameterValue, match="bytes"):
        stage_directory(str(src), str(staging), durable=False, limits=CopyLimits(max_bytes=5))
    assert list(staging.iterdir()) == []


def test_defaults_are_generous() -> None:
    assert CopyLimits().max_bytes == 50 * 10**9 and CopyLimits().max_files == 1_000_000


def test_relative_sources_are_read_from_the_working_directory(
    freg: Registry, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(source.parent)
    mv = freg.create_model_version("m", "src")
    assert mv.source == "src" and mv.digest  # recorded as given (MLflow's meaning), copied from ./src
    monkeypatch.chdir(source)
    assert freg.create_model_version("m", ".").digest == mv.digest


# -- a typo'd folder is refused where a folder was asked for; create_model_version warns -----------------------


def test_create_model_version_records_a_missing_path_with_a_warning(
    freg: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="registry"):
        mv = freg.create_model_version("m", "./typo_dir")
        freg.create_model_version("m", str(tmp_path / "nope"))
    assert mv.source == "./typo_dir" and mv.storage_location is None and mv.digest is None
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("registry")]
    assert any("./typo_dir" in m and "does not exist" in m for m in messages), messages
    assert any(str(tmp_path / "nope") in m for m in messages), messages


def test_create_model_version_does_not_warn_for_uris(freg: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="registry"):
        freg.create_model_version("m", "s3://bucket/model")
        freg.create_model_version("m", "runs:/abc/model")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_register_model_refuses_a_missing_folder(freg: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"'.*typo_dir' does not exist"):
        freg.register_model(str(tmp_path / "typo_dir"), "m")
    assert_nothing_written(freg)


def test_log_model_refuses_missing_code_paths(freg: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"typo_code.*does not exist"):
        freg.log_model(Echo(), registered_model_name="m", code_paths=[str(tmp_path / "typo_code")])
    assert_nothing_written(freg)


def test_the_limits_hold_for_imports_and_bundles_too(tmp_path: Path, source: Path) -> None:
    from registry.domain.imports import ImportedModel, ImportedVersion

    device = Registry(str(tmp_path / "device"), max_version_files=2)
    model = ImportedModel(name="m", versions=(ImportedVersion(version=1, source="mlruns/0/r/artifacts/model"),))
    with pytest.raises(InvalidParameterValue, match="max_version_files"):
        device.import_models([model], {("m", 1): str(source)})
    origin = Registry(str(tmp_path / "origin"))
    origin.create_registered_model("m")
    origin.create_model_version("m", str(source))
    bundle = str(tmp_path / "m.tar")
    origin.export_bundle(bundle, models=["m"])
    with pytest.raises(InvalidParameterValue, match="max_version_files"):
        device.import_bundle(bundle)
    assert device.list_registered_models() == []
