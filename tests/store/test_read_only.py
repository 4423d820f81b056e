"""Read-only registries: explicit (``read_only=True``, ``REGISTRY_READ_ONLY=1``) and implied (a folder this user
cannot write). Opening and reading take no lock and write nothing; every write raises ReadOnlyRegistry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry import ReadOnlyRegistry, Registry, RegistryError, ResourceDoesNotExist
from registry.cli import main

MAKE = textwrap.dedent(
    """
    import sys
    from registry import Registry, pyfunc

    class Doubler(pyfunc.PythonModel):  # defined in __main__, so it is pickled by value
        def predict(self, context, model_input, params=None):
            return [2 * x for x in model_input]

    reg = Registry(sys.argv[1])
    reg.log_model(Doubler(), registered_model_name="m", tags={"k": "v"})
    reg.set_registered_model_alias("m", "champion", 1)
    reg.create_registered_model("other")
    if sys.argv[2] == "close":
        reg.close()  # writes view.json and the model documents
    """
)


def tree(root: str) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` with its size and mtime: any write shows."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            out[os.path.relpath(os.path.join(folder, name), root)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module", params=["closed", "never closed"])
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registry with a loadable model, with view.json (closed) or without (never closed, a short journal)."""
    root = str(tmp_path_factory.mktemp("ro") / "r")
    done = subprocess.run(
        [sys.executable, "-c", MAKE, root, "close" if request.param == "closed" else "keep"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert os.path.exists(os.path.join(root, "view.json")) == (request.param == "closed")
    return root


def assert_writes_refused(reg: Registry) -> None:
    for write in (
        lambda: reg.create_registered_model("new"),
        lambda: reg.set_registered_model_tag("m", "k", "w"),
        lambda: reg.rename_registered_model("m", "m2"),
        lambda: reg.delete_registered_model("other"),
        lambda: reg.create_model_version("m", "s3://x"),
        lambda: reg.set_registered_model_alias("m", "other", 1),
        lambda: reg.set_stage_policy("mlflow"),
        lambda: reg.check(fix=True),
    ):
        with pytest.raises(ReadOnlyRegistry, match=r"read-only|cannot be written") as info:
            write()
        assert info.value.error_code == "PERMISSION_DENIED"


def test_read_only_reads_and_refuses_writes(source: str, tmp_path: Path) -> None:
    copy = str(tmp_path / "copy")
    shutil.copytree(source, copy)
    before = tree(copy)
    reg = Registry(copy, read_only=True)
    assert [m.name for m in reg.list_registered_models()] == ["m", "other"]
    assert reg.get_model_version_by_alias("m", "champion").tags == {"k": "v"}
    assert [mv.version for mv in reg.search_model_versions("name = 'm'")] == [1]
    assert reg.load_model("models:/m@champion").predict([1, 2]) == [2, 4]
    assert [e.type for e in reg.events()][:2] == ["registered_model.created", "model_version.created"]
    assert reg.check().ok
    assert_writes_refused(reg)
    reg.close()
    assert tree(copy) == before  # not even the lock file


def test_the_environment_variable_makes_it_read_only(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = str(tmp_path / "copy")
    shutil.copytree(source, copy)
    before = tree(copy)
    monkeypatch.setenv("REGISTRY_READ_ONLY", "1")
    reg = Registry(copy)
    assert reg.get_registered_model("m").name == "m"
    assert_writes_refused(reg)
    reg.close()
    assert tree(copy) == before
    assert Registry(copy, read_only=False).create_registered_model("allowed").name == "allowed"


def test_read_only_never_creates_a_registry(tmp_path: Path) -> None:
    with pytest.raises(ResourceDoesNotExist, match="read-only"):
        Registry(str(tmp_path / "absent"), read_only=True)
    assert not (tmp_path / "absent").exists()


def test_read_only_must_be_a_bool(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="read_only"):
        Registry(str(tmp_path / "r"), read_only="yes")  # type: ignore[arg-type]


def test_a_read_only_memory_registry() -> None:
    reg = Registry("memory://", read_only=True)
    assert reg.list_registered_models() == []
    with pytest.raises(ReadOnlyRegistry):
        reg.create_registered_model("m")
    with pytest.raises(RegistryError, match="shared"):
        Registry("memory://shared-one", read_only=True)


def test_opening_without_view_json_writes_nothing(source: str, tmp_path: Path) -> None:
    """Even a normal handle writes nothing until it writes or closes (a short journal needs no checkpoint)."""
    copy = str(tmp_path / "copy")
    shutil.copytree(source, copy)
    before = tree(copy)
    reg = Registry(copy)
    picture = [(m.name, m.tags, m.aliases) for m in reg.list_registered_models()]
    assert picture == [("m", {}, {"champion": 1}), ("other", {}, {})]
    assert tree(copy) == before


# -- as a user who cannot write -----------------------------------------------------------------------------------

UNPRIVILEGED = textwrap.dedent(
    """
    import json, os, sys
    # Everything this script and the library will import is imported while the interpreter can still read
    # its own installation (running as root, it lives where 'nobody' may not look).
    import registry, registry.store.check, registry.cli.app, registry.search, registry.pyfunc, registry.sklearn
    import registry.store.audit, registry.flavors.registration, registry.flavors.pyfunc, registry.domain.history
    import registry.client.files, registry.client.journal, registry.events.log, registry.flavors.python_model
    from registry import Registry, ReadOnlyRegistry, RegistryError
    from registry.cli import main
    import cloudpickle, yaml, attrs, io, contextlib, base64, hashlib, zlib, uuid, shutil, tempfile, getpass, locale
    if sys.argv[2] != "-":
        os.setgid(int(sys.argv[3]))
        os.setuid(int(sys.argv[2]))
    root = sys.argv[1]
    out = {"uid": os.getuid()}
    reg = Registry(root)  # no read_only: the folder cannot be written, so it is read-only for this user
    out["models"] = [m.name for m in reg.list_registered_models()]
    out["alias"] = reg.get_model_version_by_alias("m", "champion").version
    out["search"] = [mv.version for mv in reg.search_model_versions("name = 'm'")]
    out["predict"] = reg.load_model("models:/m@champion").predict([1, 2])
    out["events"] = len(reg.events())
    report = reg.check()
    out["check_ok"] = report.ok
    refused = []
    for name, write in [
        ("create", lambda: reg.create_registered_model("new")),
        ("tag", lambda: reg.set_registered_model_tag("m", "k", "w")),
        ("rename", lambda: reg.rename_registered_model("m", "m2")),
        ("version", lambda: reg.create_model_version("m", "s3://x")),
        ("fix", lambda: reg.check(fix=True)),
    ]:
        try:
            write()
        except ReadOnlyRegistry as exc:
            refused.append((name, exc.error_code))
        except BaseException as exc:
            refused.append((name, f"{type(exc).__name__}: {exc}"))
    out["refused"] = refused
    reg.close()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        out["cli_list"] = main(["--registry", root, "models", "list"])
        out["cli_create"] = main(["--registry", root, "models", "create", "new"])
    out["cli_stderr"] = err.getvalue()
    print(json.dumps(out))
    """
)


@pytest.fixture
def unwritable_copy(source: str) -> Iterator[tuple[str, list[str]]]:
    """A copy this test's child process can read but not write, and the arguments that make it so."""
    if os.geteuid() == 0:
        try:
            import pwd

            nobody = pwd.getpwnam("nobody")
        except (ImportError, KeyError):
            pytest.skip("running as root, and there is no 'nobody' user to drop privileges to")
        ids = [str(nobody.pw_uid), str(nobody.pw_gid)]
    else:
        ids = ["-", "-"]
    parent = tempfile.mkdtemp(prefix="registry-unwritable-")
    os.chmod(parent, 0o755)
    copy = os.path.join(parent, "r")
    shutil.copytree(source, copy)
    for folder, _dirs, files in os.walk(copy):
        os.chmod(folder, 0o555 if ids[0] == "-" else 0o755)  # as root: readable, and owned by root
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444 if ids[0] == "-" else 0o644)
    try:
        yield copy, ids
    finally:
        for folder, _dirs, _files in os.walk(parent):
            os.chmod(folder, 0o755)
        shutil.rmtree(parent, ignore_errors=True)


def test_a_user_who_cannot_write_reads_everything(unwritable_copy: tuple[str, list[str]]) -> None:
    copy, ids = unwritable_copy
    before = tree(copy)
    done = subprocess.run(
        [sys.executable, "-c", UNPRIVILEGED, copy, *ids],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    if ids[0] != "-":
        assert out["uid"] == int(ids[0])
    assert out["models"] == ["m", "other"] and out["alias"] == 1 and out["search"] == [1]
    assert out["predict"] == [2, 4] and out["events"] >= 4 and out["check_ok"] is True
    assert out["refused"] == [[n, "PERMISSION_DENIED"] for n in ("create", "tag", "rename", "version", "fix")]
    assert out["cli_list"] == 0 and out["cli_create"] == 1
    assert out["cli_stderr"].startswith("error: ") and "Traceback" not in out["cli_stderr"]
    assert "cannot be written by this user" in out["cli_stderr"]
    assert tree(copy) == before


def test_cli_errors_never_show_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "r")
    Registry(root).create_registered_model("m")
    assert main(["--registry", root + "\x00", "models", "list"]) != 0
    assert main(["--registry", "/" + "x" * 5000, "models", "create", "m"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error: ") == 2
    reg = Registry(root, read_only=True)
    with pytest.raises(ReadOnlyRegistry):
        reg.delete_registered_model("m")
    assert json.loads((tmp_path / "r" / "registry.json").read_text())["format_version"] == 1
