"""Fuzzing ``MLmodel`` documents: whatever a model folder's ``MLmodel`` says, loading it (from a path, or as a
registered version whose files are verified first) raises nothing but a ``RegistryError``, and never reads,
unpickles or imports anything outside the folder (issue 11).

Each example writes a model folder holding real, loadable files (a PythonModel pickle, an sklearn-style pickle,
an artifact, a code module, an input example) next to an outside folder holding an "evil" pickle that leaves
a marker if it is ever loaded, and an ``MLmodel`` drawn from a strategy that mixes well-formed fields with
hostile paths (absolute, ``..``, links, NUL, drives), wrong types and deep nesting.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings

from registry import Registry, RegistryError, pyfunc
from registry import sklearn as sk
from registry.flavors import pickling

MARKER = "evil-was-loaded"


class Plain(pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


class Estimator:
    def predict(self, rows: Any) -> Any:
        return rows


class Evil(pyfunc.PythonModel):
    """Leaves a marker file when unpickled-and-loaded: it must never be, it lives outside every model folder."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def load_context(self, context: Any) -> None:
        Path(self.marker).write_text("loaded")

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The files an example's model folder is made from, and the outside folder with the evil pickle."""
    root = tmp_path_factory.mktemp("mlmodel-fuzz")
    outside = root / "outside"
    outside.mkdir()
    with open(outside / "evil.pkl", "wb") as f:
        pickling.dump(Evil(str(root / MARKER)), f)
    (outside / "code").mkdir()
    (outside / "code" / "outside_module.py").write_text("X = 1\n")
    parts = root / "parts"
    parts.mkdir()
    with open(parts / "python_model.pkl", "wb") as f:
        pickling.dump(Plain(), f)
    with open(parts / "model.pkl", "wb") as f:
        pickling.dump(Estimator(), f)
    (parts / "garbage.pkl").write_bytes(b"\x80\x05not really a pickle")
    (parts / "cfg.json").write_text('{"k": 1}')
    (parts / "input_example.json").write_text('{"columns": ["a"], "data": [[1]]}')
    (parts / "bad_example.json").write_text("{not json")
    yield root


HOSTILE_PATHS = [
    "/etc/passwd",
    "OUTSIDE/evil.pkl",  # replaced by the absolute path of the evil pickle
    "../outside/evil.pkl",
    "../../outside/evil.pkl",
    "code/../../outside/evil.pkl",
    "link.pkl",  # a symlink in the folder pointing at the evil pickle
    "linkdir",  # a symlink in the folder pointing at the outside code folder
    "OUTSIDE/code",
    "..",
    ".",
    "",
    "a\x00b",
    "C:\\evil.pkl",
    "\\\\server\\share\\evil.pkl",
    "~/evil.pkl",
    "file:///etc/passwd",
    "python_model.pkl",
    "model.pkl",
    "garbage.pkl",
    "artifacts/cfg.json",
    "code",
    "missing.pkl",
    "MLmodel",
    "input_example.json",
    "bad_example.json",
]

hostile = st.sampled_from(HOSTILE_PATHS)
# The values that would lead outside the folder if a loader followed them.
escapes = st.sampled_from(
    ["OUTSIDE/evil.pkl", "../outside/evil.pkl", "code/../../outside/evil.pkl", "link.pkl", "linkdir", "OUTSIDE/code"]
)
paths = st.one_of(
    hostile,
    hostile,
    hostile,
    hostile,
    st.text(max_size=20),
    st.integers(),
    st.none(),
    st.lists(st.sampled_from(HOSTILE_PATHS), max_size=2),
    st.dictionaries(st.text(max_size=4), st.sampled_from(HOSTILE_PATHS), max_size=2),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.sampled_from(HOSTILE_PATHS),
)
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12,
)

pyfunc_flavor = st.fixed_dictionaries(
    {},
    optional={
        "loader_module": st.one_of(st.sampled_from(["mlflow.pyfunc.model", "mlflow.sklearn", "os", "evil"]), nested),
        "python_model": paths,
        "model_path": paths,
        "data": paths,
        "code": paths,
        "artifacts": st.one_of(
            st.dictionaries(
                st.text(max_size=5),
                st.one_of(st.fixed_dictionaries({"path": paths}, optional={"uri": paths}), nested),
                max_size=3,
            ),
            nested,
        ),
        "predict_fn": st.one_of(st.sampled_from(["predict", "__class__", "missing", "__init__"]), nested),
        "compression": nested,
        "env": nested,
    },
)
sklearn_flavor = st.fixed_dictionaries(
    {},
    optional={
        "pickled_model": paths,
        "code": paths,
        "serialization_format": st.one_of(st.sampled_from(["cloudpickle", "pickle", "skops", "joblib"]), nested),
        "skops_trusted_types": nested,
    },
)
signature = st.one_of(
    nested,
    st.fixed_dictionaries(
        {},
        optional={
            "inputs": st.one_of(
                st.sampled_from(['[{"type": "double", "name": "a"}]', "[", '{"x": 1}', '[{"type": "tensor"}]', "[1]"]),
                nested,
            ),
            "outputs": nested,
            "params": st.one_of(st.sampled_from(['[{"name": "k", "type": "long", "default": 1}]', "[{}]"]), nested),
        },
    ),
)
example_info = st.one_of(
    nested,
    st.fixed_dictionaries(
        {},
        optional={
            "artifact_path": paths,
            "serving_input_path": paths,
            "type": st.one_of(st.sampled_from(["dataframe", "ndarray", "json_object", "x"]), nested),
            "pandas_orient": st.one_of(st.sampled_from(["split", "records", "x"]), nested),
        },
    ),
)
# Most documents start from one that loads and change a few fields, so the loaders get deep (unpickling,
# artifacts, code, the input example) before they meet the hostile value; the rest are drawn whole.
PYFUNC_BASE: dict[str, Any] = {
    "flavors": {
        "python_function": {
            "loader_module": "mlflow.pyfunc.model",
            "python_model": "python_model.pkl",
            "artifacts": {"cfg": {"path": "artifacts/cfg.json", "uri": "cfg.json"}},
            "code": "code",
        }
    },
    "saved_input_example_info": {"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split"},
    "signature": {"inputs": '[{"type": "long", "name": "a"}]'},
}
SKLEARN_BASE: dict[str, Any] = {
    "flavors": {
        "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl", "predict_fn": "predict"},
        "sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle", "code": None},
    }
}
PATH_FIELDS = [
    ("flavors", "python_function", "python_model"),
    ("flavors", "python_function", "model_path"),
    ("flavors", "python_function", "data"),
    ("flavors", "python_function", "code"),
    ("flavors", "python_function", "artifacts", "cfg", "path"),
    ("flavors", "sklearn", "pickled_model"),
    ("flavors", "sklearn", "code"),
    ("saved_input_example_info", "artifact_path"),
]
FIELDS = [
    ("flavors", "python_function", "python_model"),
    ("flavors", "python_function", "model_path"),
    ("flavors", "python_function", "data"),
    ("flavors", "python_function", "code"),
    ("flavors", "python_function", "artifacts"),
    ("flavors", "python_function", "artifacts", "cfg"),
    ("flavors", "python_function", "artifacts", "cfg", "path"),
    ("flavors", "python_function", "artifacts", "other", "path"),
    ("flavors", "python_function", "loader_module"),
    ("flavors", "python_function", "predict_fn"),
    ("flavors", "python_function", "compression"),
    ("flavors", "python_function"),
    ("flavors", "sklearn", "pickled_model"),
    ("flavors", "sklearn", "code"),
    ("flavors", "sklearn", "serialization_format"),
    ("flavors", "sklearn"),
    ("flavors",),
    ("saved_input_example_info", "artifact_path"),
    ("saved_input_example_info", "type"),
    ("saved_input_example_info", "pandas_orient"),
    ("saved_input_example_info",),
    ("signature",),
    ("signature", "inputs"),
    ("signature", "params"),
    ("model_size_bytes",),
    ("utc_time_created",),
    ("metadata",),
]


def _mutated(base: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(base)
    for keys, value in changes:
        target: Any = doc
        for key in keys[:-1]:
            if not isinstance(target, dict):
                break
            target = target.setdefault(key, {})
        else:
            if isinstance(target, dict):
                target[keys[-1]] = value
    return doc


changes = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(PATH_FIELDS), paths),
        st.tuples(st.sampled_from(PATH_FIELDS), hostile),
        st.tuples(st.sampled_from(PATH_FIELDS), escapes),
        st.tuples(st.sampled_from(FIELDS), st.one_of(paths, nested)),
    ),
    max_size=3,
)
one_escape = st.lists(st.tuples(st.sampled_from(PATH_FIELDS), escapes), min_size=1, max_size=1)
documents = st.one_of(
    st.builds(_mutated, st.sampled_from([PYFUNC_BASE, SKLEARN_BASE]), one_escape),
    st.builds(_mutated, st.just(PYFUNC_BASE), changes),
    st.builds(_mutated, st.just(SKLEARN_BASE), changes),
    st.fixed_dictionaries(
        {"flavors": st.fixed_dictionaries({}, optional={"python_function": pyfunc_flavor, "sklearn": sklearn_flavor})},
        optional={
            "signature": signature,
            "saved_input_example_info": example_info,
            "metadata": nested,
            "model_size_bytes": scalars,
            "utc_time_created": scalars,
            "model_uuid": scalars,
            "extra": nested,
        },
    ),
    nested,
)


def _resolve(value: Any, outside: Path) -> Any:
    if isinstance(value, str):
        return value.replace("OUTSIDE", str(outside))
    if isinstance(value, list):
        return [_resolve(v, outside) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, outside) for k, v in value.items()}
    return value


def make_folder(world: Path, name: str, document: Any, raw: str | None) -> Path:
    folder = world / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    parts, outside = world / "parts", world / "outside"
    for file in ("python_model.pkl", "model.pkl", "garbage.pkl", "input_example.json", "bad_example.json"):
        shutil.copy(parts / file, folder / file)
    (folder / "artifacts").mkdir()
    shutil.copy(parts / "cfg.json", folder / "artifacts" / "cfg.json")
    (folder / "code").mkdir()
    (folder / "code" / "inside_module.py").write_text("Y = 2\n")
    os.symlink(outside / "evil.pkl", folder / "link.pkl")
    os.symlink(outside / "code", folder / "linkdir")
    text = raw if raw is not None else yaml.safe_dump(_resolve(document, outside))
    (folder / "MLmodel").write_text(text)
    return folder


def assert_nothing_outside_was_used(world: Path, path_before: list[str], inside: list[Path]) -> None:
    """No evil pickle loaded, and every folder added to ``sys.path`` inside the model; restores ``sys.path``."""
    added = [p for p in sys.path if p not in path_before]
    sys.path[:] = path_before
    loaded_evil = (world / MARKER).exists()
    (world / MARKER).unlink(missing_ok=True)  # so that each example is judged alone (and replays reproduce)
    sys.modules.pop("outside_module", None)
    assert not loaded_evil, "a pickle from outside the model folder was loaded"
    roots = [os.path.realpath(p) for p in inside]
    for entry in added:
        real = os.path.realpath(entry)
        assert any(real == r or real.startswith(r + os.sep) for r in roots), f"{entry} was put on sys.path"


def load_every_way(folder: Path) -> None:
    """Load as the library's users do; any exception escapes to the test, which allows only RegistryError."""
    model = pyfunc.load_model(folder)
    _ = model.input_example
    try:
        sk.load_model(folder)
    except RegistryError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, raw=st.one_of(st.none(), st.none(), st.text(max_size=40)))
def test_loading_any_mlmodel_raises_only_registry_errors(world: Path, document: Any, raw: str | None) -> None:
    before = list(sys.path)
    folder = make_folder(world, "model", document, raw)
    try:
        load_every_way(folder)
        event("loaded")
    except RegistryError as exc:
        event(f"refused: {type(exc).__name__}")
    finally:
        assert_nothing_outside_was_used(world, before, [folder])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents)
def test_registered_versions_of_any_mlmodel_raise_only_registry_errors(world: Path, document: Any) -> None:
    """Registered, the folder is copied (its links refused, or stored as files) and verified before loading."""
    before = list(sys.path)
    folder = make_folder(world, "registered", document, None)
    reg = Registry("memory://")
    stored: list[Path] = []
    try:
        reg.create_registered_model("m")
        os.remove(folder / "link.pkl")  # links outside are refused when registering (tests/store/test_artifacts.py)
        os.remove(folder / "linkdir")
        mv = reg.create_model_version("m", str(folder))
        stored.append(Path(mv.storage_location or folder))
        model = reg.load_model(f"models:/m/{mv.version}")
        _ = model.input_example
    except RegistryError:
        pass
    finally:
        assert_nothing_outside_was_used(world, before, stored)
        reg.close()
