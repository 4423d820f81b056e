"""The path rule for model directories: every file a loader opens lies inside the model's own folder.

Each test is an attack from issue 11: an ``MLmodel`` field pointing outside the version folder (an absolute
path, ``..``, or a symlink that resolves outside) must stop the load with ``ArtifactVerificationError`` naming
the field, before anything outside is read, unpickled or put on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry import ArtifactVerificationError, Registry, pyfunc
from registry.flavors import sklearn as sk_flavor
from registry.models.model_dir import load_input_example, model_file


class Echo(pyfunc.PythonModel):
    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        self.artifacts = dict(context.artifacts)

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return ["registered"] * len(model_input)


class Evil(pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return ["swapped"] * len(model_input)


class Linear:
    def predict(self, rows: Any) -> list[float]:
        return [1.0 for _ in rows]


def edit_mlmodel(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load((path / "MLmodel").read_text())
    edit(doc)
    (path / "MLmodel").write_text(yaml.safe_dump(doc))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every model folder, holding what an attacker would like a loader to read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    pyfunc.save_model(folder / "evil-model", python_model=Evil())
    (folder / "evil.pkl").write_bytes((folder / "evil-model" / "python_model.pkl").read_bytes())
    (folder / "code").mkdir()
    (folder / "code" / "shadow_me.py").write_text("VALUE = 'outside'\n")
    (folder / "cfg.json").write_text('{"k": 1}')
    return folder


@pytest.fixture
def clean_sys_path() -> Iterator[None]:
    before = list(sys.path)
    yield
    sys.path[:] = before


def pyfunc_dir(tmp_path: Path, name: str = "model") -> Path:
    (tmp_path / "cfg.json").write_text('{"k": 3}')
    path = tmp_path / name
    pyfunc.save_model(path, python_model=Echo(), artifacts={"cfg": str(tmp_path / "cfg.json")})
    return path


def set_pyfunc(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["flavors"]["python_function"][field] = value

    return edit


def set_artifact_path(value: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["flavors"]["python_function"]["artifacts"]["cfg"]["path"] = value

    return edit


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("python_model", lambda o: set_pyfunc("python_model", str(o / "evil.pkl"))),
        ("python_model", lambda o: set_pyfunc("python_model", "../../../../outside/evil.pkl")),
        ("python_model", lambda o: set_pyfunc("python_model", "artifacts/../../evil.pkl")),
        ("artifacts.cfg.path", lambda o: set_artifact_path(str(o / "cfg.json"))),
        ("artifacts.cfg.path", lambda o: set_artifact_path("../cfg.json")),
        ("code", lambda o: set_pyfunc("code", str(o / "code"))),
        ("code", lambda o: set_pyfunc("code", "..")),
        ("data", lambda o: set_pyfunc("data", str(o / "evil.pkl"))),
    ],
    ids=[
        "abs-pickle",
        "dotdot-pickle",
        "inner-dotdot",
        "abs-artifact",
        "dotdot-artifact",
        "abs-code",
        "dotdot-code",
        "abs-data",
    ],
)
def test_a_registered_version_never_reads_outside_its_folder(
    tmp_path: Path, outside: Path, clean_sys_path: None, field: str, edit: Callable[[Path], Any]
) -> None:
    path = pyfunc_dir(tmp_path)
    edit_mlmodel(path, edit(outside))
    reg = Registry(str(tmp_path / "registry"))
    reg.create_registered_model("x")
    reg.create_model_version("x", str(path))
    with pytest.raises(ArtifactVerificationError, match=rf"'{field}'") as caught:
        reg.load_model("models:/x/1")
    assert caught.value.field == field
    assert str(outside / "code") not in sys.path and not any(p.endswith(os.sep + "..") for p in sys.path)


def test_the_swapped_pickle_attack_is_refused(tmp_path: Path, outside: Path) -> None:
    """The issue's scenario: python_model names an absolute file, which is swapped after registration."""
    innocent = tmp_path / "innocent.pkl"
    innocent.write_bytes((pyfunc_dir(tmp_path, "m0") / "python_model.pkl").read_bytes())
    path = pyfunc_dir(tmp_path)
    edit_mlmodel(path, set_pyfunc("python_model", str(innocent)))
    reg = Registry(str(tmp_path / "registry"))
    reg.create_registered_model("x")
    reg.create_model_version("x", str(path))
    innocent.write_bytes((outside / "evil.pkl").read_bytes())  # the swap
    with pytest.raises(ArtifactVerificationError, match="python_model"):
        reg.load_model("models:/x/1")


@pytest.mark.parametrize("field", ["pickled_model", "model_path"])
def test_sklearn_paths_stay_inside(tmp_path: Path, outside: Path, field: str) -> None:
    path = tmp_path / "sk"
    pyfunc.save_model(path, sk_model=Linear())

    def edit(doc: dict[str, Any]) -> None:
        if field == "pickled_model":
            doc["flavors"]["sklearn"]["pickled_model"] = str(outside / "evil.pkl")
        else:
            del doc["flavors"]["sklearn"]["pickled_model"]
            doc["flavors"]["python_function"]["model_path"] = "../outside/evil.pkl"

    edit_mlmodel(path, edit)
    with pytest.raises(ArtifactVerificationError, match=f"'{field}'"):
        pyfunc.load_model(path)
    with pytest.raises(ArtifactVerificationError, match=f"'{field}'"):
        sk_flavor.load_model(path)


def test_sklearn_code_stays_inside(tmp_path: Path, outside: Path, clean_sys_path: None) -> None:
    path = tmp_path / "sk"
    pyfunc.save_model(path, sk_model=Linear())

    def edit(doc: dict[str, Any]) -> None:
        doc["flavors"]["sklearn"]["code"] = str(outside / "code")

    edit_mlmodel(path, edit)
    with pytest.raises(ArtifactVerificationError, match="'code'"):
        pyfunc.load_model(path)
    assert str(outside / "code") not in sys.path


def test_a_symlink_resolving_outside_is_refused_in_a_plain_folder(tmp_path: Path, outside: Path) -> None:
    path = pyfunc_dir(tmp_path)
    os.symlink(outside / "evil.pkl", path / "linked.pkl")
    edit_mlmodel(path, set_pyfunc("python_model", "linked.pkl"))
    with pytest.raises(ArtifactVerificationError, match=r"'python_model'.*outside"):
        pyfunc.load_model(path)


def test_the_input_example_path_stays_inside(tmp_path: Path, outside: Path) -> None:
    path = tmp_path / "model"
    pyfunc.save_model(path, python_model=Echo(), input_example=[1.0])

    def edit(doc: dict[str, Any]) -> None:
        doc["saved_input_example_info"]["artifact_path"] = str(outside / "cfg.json")

    edit_mlmodel(path, edit)
    with pytest.raises(ArtifactVerificationError, match=r"'saved_input_example_info\.artifact_path'"):
        pyfunc.load_model(path)  # a load refuses the document up front
    with pytest.raises(ArtifactVerificationError, match=r"'saved_input_example_info\.artifact_path'"):
        load_input_example(path)


@pytest.mark.parametrize(
    "value",
    ["", "/etc/passwd", "..", "a/../../b", "a\x00b", "C:\\Windows\\x", "\\\\server\\share", 7, None, ["x"]],
    ids=["empty", "absolute", "dotdot", "inner-dotdot", "nul", "drive", "unc", "int", "none", "list"],
)
def test_model_file_refuses_every_form_of_escape(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ArtifactVerificationError, match="'python_model'"):
        model_file(tmp_path, value, "python_model")


def test_model_file_accepts_plain_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.pkl").write_bytes(b"x")
    assert model_file(tmp_path, "sub/f.pkl", "python_model") == tmp_path / "sub" / "f.pkl"
    assert model_file(tmp_path, "./sub/./f.pkl", "python_model") == tmp_path / "sub" / "f.pkl"
    assert model_file(tmp_path, ".", "code") == tmp_path


def test_models_that_stay_inside_still_load(tmp_path: Path) -> None:
    path = pyfunc_dir(tmp_path)
    model = pyfunc.load_model(path)
    assert model.predict([1, 2]) == ["registered", "registered"]
    cfg = model.unwrap_python_model().artifacts["cfg"]  # type: ignore[attr-defined]
    assert Path(cfg).parent.parent == path and json.loads(Path(cfg).read_text()) == {"k": 3}
