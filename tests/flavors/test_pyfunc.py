"""Saving and loading models without MLflow: directories, flavors, URIs, verification, the allow-list."""

from __future__ import annotations

import json
import os
import pickletools
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry import (
    ArtifactVerificationError,
    InvalidParameterValue,
    Registry,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    pyfunc,
    register_model,
    set_registry_uri,
)
from registry.errors import RegistryError
from registry.flavors import pickling
from registry.flavors import sklearn as sk_flavor
from registry.models.model_dir import load_input_example

REPO = Path(__file__).resolve().parents[2]


class Scaled(pyfunc.PythonModel):
    """Multiplies column 'a' by k (an artifact) and by the 'mult' parameter."""

    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["cfg"]) as f:
            self.k = json.load(f)["k"]
        self.config = context.model_config
        self.tables = sorted(os.listdir(context.artifacts["tables"]))

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> list[float]:
        mult = (params or {}).get("mult", 1)
        return [row["a"] * self.k * mult for row in model_input]


class NoParams(pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any) -> Any:  # type: ignore[override]
        return model_input


class Linear:
    """A scikit-learn-style model: anything with .predict."""

    def __init__(self, w: list[float]) -> None:
        self.w = w

    def predict(self, rows: Any) -> list[float]:
        return [sum(a * b for a, b in zip(row, self.w, strict=True)) for row in rows]

    def predict_proba(self, rows: Any) -> list[float]:
        return [0.5 for _ in rows]


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "cfg.json").write_text('{"k": 3}')
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "t1.csv").write_text("x\n1\n")
    return {"cfg": str(tmp_path / "cfg.json"), "tables": str(tmp_path / "tables")}


def save_scaled(path: Path, artifacts: dict[str, str], **kwargs: Any) -> None:
    pyfunc.save_model(path, python_model=Scaled(), artifacts=artifacts, input_example=[{"a": 1.0, "b": "x"}], **kwargs)


def test_python_model_round_trip_with_artifacts(tmp_path: Path, artifacts: dict[str, str]) -> None:
    path = tmp_path / "model"
    save_scaled(path, artifacts)
    os.remove(artifacts["cfg"])  # the model owns its copy
    model = pyfunc.load_model(path, model_config={"threshold": 0.3})
    assert model.predict([{"a": 2, "b": "y"}]) == [6.0]
    inner = model.unwrap_python_model()
    assert isinstance(inner, Scaled) and inner.tables == ["t1.csv"] and inner.config == {"threshold": 0.3}
    assert model.get_raw_model() is inner
    conf = model.metadata.flavor("python_function")
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["artifacts"]["cfg"] == {"path": "artifacts/cfg.json", "uri": artifacts["cfg"]}
    assert pyfunc.load_model(path.as_uri()).predict([{"a": 1.0, "b": "z"}]) == [3.0]


def test_directory_layout_is_mlflows(tmp_path: Path, artifacts: dict[str, str]) -> None:
    save_scaled(tmp_path / "m", artifacts, pip_requirements=["scipy>=1"], metadata={"owner": "risk"})
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == [
        "MLmodel",
        "artifacts",
        "conda.yaml",
        "input_example.json",
        "python_env.yaml",
        "python_model.pkl",
        "requirements.txt",
        "serving_input_example.json",
    ]
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["metadata"] == {"owner": "risk"} and len(doc["model_uuid"]) == 32
    assert doc["model_size_bytes"] > 0 and doc["saved_input_example_info"]["type"] == "json_object"
    assert json.loads(doc["signature"]["inputs"])[0] == {"type": "double", "name": "a", "required": True}
    assert "scipy>=1" in (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())["dependencies"] == ["-r requirements.txt"]
    serving = json.loads((tmp_path / "m" / "serving_input_example.json").read_text())
    assert serving == {"inputs": [{"a": 1.0, "b": "x"}]}
    assert pyfunc.load_model(tmp_path / "m").input_example == [{"a": 1.0, "b": "x"}]


def test_signature_and_params_are_enforced(tmp_path: Path, artifacts: dict[str, str]) -> None:
    sig = pyfunc_signature = __import__("registry").infer_signature([{"a": 1.0}], [1.0], params={"mult": 1})
    save_scaled(tmp_path / "m", artifacts, signature=pyfunc_signature)
    model = pyfunc.load_model(tmp_path / "m")
    assert model.signature == sig
    assert model.predict([{"a": 1}], params={"mult": 2}) == [6.0]
    with pytest.raises(InvalidParameterValue, match="missing required column 'a' in row 1"):
        model.predict([{"a": 1.0}, {"b": 2.0}])
    with pytest.raises(InvalidParameterValue, match="column 'a': expected double, got str"):
        model.predict([{"a": "one"}])
    with pytest.raises(InvalidParameterValue, match="parameter 'mult'"):
        model.predict([{"a": 1.0}], params={"mult": "x"})


def test_model_without_params_argument(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=NoParams())
    assert pyfunc.load_model(tmp_path / "m").predict([1, 2], params={"ignored": 1}) == [1, 2]


def test_save_refuses_existing_folder_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ResourceAlreadyExists, match="not empty"):
        pyfunc.save_model(tmp_path / "full", python_model=NoParams())
    with pytest.raises(ResourceDoesNotExist, match="'cfg' points at"):
        pyfunc.save_model(tmp_path / "new", python_model=NoParams(), artifacts={"cfg": str(tmp_path / "nope")})
    assert not (tmp_path / "new").exists()
    with pytest.raises(InvalidParameterValue, match="exactly one"):
        pyfunc.save_model(tmp_path / "new")
    with pytest.raises(InvalidParameterValue, match=r"instance of registry.pyfunc.PythonModel"):
        pyfunc.save_model(tmp_path / "new", python_model=object())  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle"])
def test_sklearn_style_flavor(tmp_path: Path, fmt: str) -> None:
    pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0, 2.0]), serialization_format=fmt)
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert doc["flavors"]["sklearn"]["serialization_format"] == fmt
    assert doc["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    native = sk_flavor.load_model(tmp_path / "m")
    assert isinstance(native, Linear) and native.w == [1.0, 2.0]
    model = pyfunc.load_model(tmp_path / "m")
    assert model.predict([[1.0, 1.0]]) == [3.0]
    assert isinstance(model.get_raw_model(), Linear)
    with pytest.raises(InvalidParameterValue, match="get_raw_model"):
        model.unwrap_python_model()


def test_sklearn_flavor_checks_the_object(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterValue, match=r"no callable \.predict\(\)"):
        pyfunc.save_model(tmp_path / "m", sk_model=object())
    with pytest.raises(InvalidParameterValue, match="serialization_format"):
        pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0]), serialization_format="skops")


def _rewrite_mlmodel(path: Path, edit: Any) -> None:
    doc = yaml.safe_load((path / "MLmodel").read_text())
    edit(doc)
    (path / "MLmodel").write_text(yaml.safe_dump(doc))


def test_predict_fn_from_the_flavor(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0]))
    _rewrite_mlmodel(tmp_path / "m", lambda d: d["flavors"]["python_function"].update(predict_fn="predict_proba"))
    assert pyfunc.load_model(tmp_path / "m").predict([[1.0], [2.0]]) == [0.5, 0.5]


def test_skops_without_skops_says_what_to_install(tmp_path: Path) -> None:
    try:
        import skops  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("skops is installed here; the interop tests cover loading skops models")
    pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0]))
    os.rename(tmp_path / "m" / "model.pkl", tmp_path / "m" / "model.skops")

    def to_skops(d: dict[str, Any]) -> None:
        d["flavors"]["sklearn"].update(serialization_format="skops", pickled_model="model.skops")
        d["flavors"]["python_function"]["model_path"] = "model.skops"

    _rewrite_mlmodel(tmp_path / "m", to_skops)
    with pytest.raises(RegistryError, match=r"skops format .* install skops \('pip install skops'\)"):
        pyfunc.load_model(tmp_path / "m")


def test_loader_modules_come_only_from_the_allow_list(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=NoParams())
    (tmp_path / "evil_loader_xyz.py").write_text("raise SystemExit('imported!')\n")
    _rewrite_mlmodel(tmp_path / "m", lambda d: d["flavors"]["python_function"].update(loader_module="evil_loader_xyz"))
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(InvalidParameterValue, match=r"'evil_loader_xyz': it is not the loader of any registered"):
            pyfunc.load_model(tmp_path / "m")
    finally:
        sys.path.remove(str(tmp_path))
    assert "evil_loader_xyz" not in sys.modules


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ResourceDoesNotExist, match="has no MLmodel file"):
        pyfunc.load_model(tmp_path)
    with pytest.raises(ResourceDoesNotExist, match="does not exist"):
        pyfunc.load_model(tmp_path / "missing")
    for uri, message in [
        ("runs:/abc/model", "runs:/ URIs need an MLflow tracking server"),
        ("s3://bucket/model", "only local paths, file: URIs and models:/"),
    ]:
        with pytest.raises(InvalidParameterValue, match=message):
            pyfunc.load_model(uri)


def test_pickles_name_mlflows_base_class_not_ours(tmp_path: Path) -> None:
    class Local(pyfunc.PythonModel):  # a local class is pickled by value, like one defined in a notebook
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return [x + 1 for x in model_input]

    data = pickling.dumps(Local())
    strings = {arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)}
    assert "mlflow.pyfunc.model" in strings and "PythonModel" in strings
    assert not any(s.startswith("registry") for s in strings)
    loaded = pickling.loads(data)
    assert isinstance(loaded, pyfunc.PythonModel) and loaded.predict(None, [1]) == [2]
    assert "mlflow" not in sys.modules


FAKE_MLFLOW = {
    "mlflow/__init__.py": "",
    "mlflow/pyfunc/__init__.py": "",
    "mlflow/pyfunc/utils.py": textwrap.dedent(
        """
        import functools
        class TypeHints:
            def __init__(self, hint):
                self.hint = hint
        def validate(x):
            raise RuntimeError("MLflow's validation ran")
        def wrap(func):
            hints = TypeHints("list")
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                validate(hints)
                return func(*args, **kwargs)
            wrapper._is_pyfunc = True
            return wrapper
        """
    ),
    "mlflow/pyfunc/model.py": textwrap.dedent(
        """
        from mlflow.pyfunc.utils import wrap
        class PythonModel:
            def load_context(self, context):
                pass
            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                if "predict" in cls.__dict__:
                    cls.predict = wrap(cls.__dict__["predict"])
        """
    ),
    "make.py": textwrap.dedent(
        """
        import sys, cloudpickle, mlflow.pyfunc.model
        class UserModel(mlflow.pyfunc.model.PythonModel):
            def predict(self, context, model_input, params=None):
                return [v * 10 for v in model_input]
        with open(sys.argv[1], "wb") as f:
            cloudpickle.dump(UserModel(), f)
        """
    ),
}


def test_mlflow_pickles_load_without_mlflow(tmp_path: Path) -> None:
    """A pickle made against (a stand-in for) MLflow's PythonModel, with MLflow's predict wrapper around it."""
    for rel, text in FAKE_MLFLOW.items():
        (tmp_path / "fake" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fake" / rel).write_text(text)
    subprocess.run(
        [sys.executable, str(tmp_path / "fake" / "make.py"), str(tmp_path / "m.pkl")],
        check=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "fake")},
    )
    with open(tmp_path / "m.pkl", "rb") as f:
        model = pickling.load(f)
    assert isinstance(model, pyfunc.PythonModel)
    assert model.predict(None, [1, 2]) == [10, 20]  # the wrapper (which would call MLflow) is peeled off
    assert "mlflow" not in sys.modules


def test_input_examples_round_trip_without_numpy_or_pandas(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=NoParams(), input_example={"a": [1, 2], "b": ["x", "y"]})
    assert load_input_example(tmp_path / "m") == {"a": [1, 2], "b": ["x", "y"]}
    assert pyfunc.load_model(tmp_path / "m").predict({"a": [[1]], "b": [["q"]]}) == {"a": [[1]], "b": [["q"]]}


def test_numpy_input_example_and_tensor_signature(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0, 2.0]), input_example=np.array([[1.0, 2.0]]))
    model = pyfunc.load_model(tmp_path / "m")
    assert model.metadata.saved_input_example_info["type"] == "ndarray"  # type: ignore[index]
    assert model.input_example.tolist() == [[1.0, 2.0]]
    assert model.predict([[1, 1]]) == [3.0]  # lists become float64 arrays per the tensor spec
    with pytest.raises(InvalidParameterValue, match="Shape of the input tensor"):
        model.predict([[1.0, 1.0, 1.0]])


# -- through a registry -------------------------------------------------------------------------------------------


def test_log_model_and_every_models_uri_form(reg: Registry, artifacts: dict[str, str]) -> None:
    mv1 = reg.log_model(
        Scaled(),
        registered_model_name="fraud",
        artifacts=artifacts,
        input_example=[{"a": 1.0}],
        tags={"team": "risk"},
        description="first",
    )
    assert (mv1.version, mv1.tags, mv1.description) == (1, {"team": "risk"}, "first")
    assert mv1.storage_location and mv1.digest
    mv2 = reg.log_model(sk_model=Linear([2.0]), registered_model_name="fraud")
    reg.transition_model_version_stage("fraud", 1, "Staging")
    reg.set_registered_model_alias("fraud", "champion", 1)
    for uri, version in [
        ("models:/fraud/1", 1),
        ("models:/fraud/staging", 1),
        ("models:/fraud@champion", 1),
        ("models:/fraud/latest", 2),
        ("models:/fraud/2", 2),
    ]:
        model = reg.load_model(uri)
        assert model.model_version is not None and model.model_version.version == version, uri
    assert reg.load_model("models:/fraud@champion").predict([{"a": 2.0}]) == [6.0]
    assert reg.load_model(f"models:/fraud/{mv2.version}").predict([[1.0]]) == [2.0]
    with pytest.raises(ResourceDoesNotExist):
        reg.load_model("models:/fraud/Production")


def test_tampered_versions_are_refused(reg: Registry, artifacts: dict[str, str]) -> None:
    mv = reg.log_model(Scaled(), registered_model_name="m", artifacts=artifacts)
    assert mv.storage_location is not None
    reg.load_model("models:/m/1")
    cfg = Path(mv.storage_location) / "artifacts" / "cfg.json"
    cfg.write_text('{"k": 1000}')
    with pytest.raises(ArtifactVerificationError, match=r"'artifacts/cfg.json' .* changed after registration"):
        reg.load_model("models:/m/1")
    cfg.write_text('{"k": 3}')
    (Path(mv.storage_location) / "sneaky.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactVerificationError, match=r"'sneaky.pkl', which was not there"):
        reg.load_model("models:/m/1")


def test_register_model_from_dirs_and_versions(reg: Registry, tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", sk_model=Linear([1.0]))
    mv = reg.register_model(str(tmp_path / "m"), "a")
    assert mv.version == 1 and mv.digest
    assert reg.register_model((tmp_path / "m").as_uri(), "a").version == 2
    copied = register_model("models:/a/1", "b", registry=reg)
    assert (copied.name, copied.version) == ("b", 1)
    assert reg.load_model("models:/b/1").predict([[4.0]]) == [4.0]
    with pytest.raises(InvalidParameterValue, match=r"runs:/ URIs need an MLflow tracking server.*Pass the local"):
        reg.register_model("runs:/0a1b/model", "c")
    with pytest.raises(ResourceDoesNotExist, match="no MLmodel file"):
        reg.register_model(str(tmp_path), "c")
    assert [m.name for m in reg.list_registered_models()] == ["a", "b"]  # nothing created on failure


def test_default_registry_resolves_models_uris(tmp_path: Path) -> None:
    set_registry_uri(str(tmp_path / "default-reg"))
    try:
        mv = Registry(str(tmp_path / "default-reg")).log_model(sk_model=Linear([3.0]), registered_model_name="d")
        assert pyfunc.load_model(f"models:/d/{mv.version}").predict([[1.0]]) == [3.0]
        assert register_model(str(Path(mv.storage_location or "")), "e").name == "e"
    finally:
        set_registry_uri(None)


def test_code_paths_are_importable_and_leave_no_bytecode(tmp_path: Path) -> None:
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("def triple(x):\n    return 3 * x\n")
    script = tmp_path / "make.py"
    script.write_text(
        textwrap.dedent(
            f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from registry import Registry, pyfunc
        import helpers
        class UsesHelpers(pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return [helpers.triple(x) for x in model_input]
        mv = Registry({str(tmp_path / "reg")!r}).log_model(
            UsesHelpers(), registered_model_name="h", code_paths=[{str(tmp_path / "helpers")!r}])
        print(mv.storage_location)
        """
        )
    )
    out = subprocess.run([sys.executable, str(script)], check=True, capture_output=True, text=True, cwd=tmp_path)
    location = Path(out.stdout.strip())
    assert (location / "code" / "helpers" / "__init__.py").exists()
    probe = "from registry import Registry; print(Registry(%r).load_model('models:/h/1').predict([1, 2]))"
    for _ in range(2):  # the second load verifies again: no .pyc was written into the version's folder
        out = subprocess.run(
            [sys.executable, "-c", probe % str(tmp_path / "reg")], check=True, capture_output=True, text=True, cwd=REPO
        )
        assert out.stdout.strip() == "[3, 6]"


def test_loading_imports_no_numpy_pandas_sklearn_or_mlflow(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "pf", python_model=NoParams(), input_example=[{"a": 1.0}])
    pyfunc.save_model(tmp_path / "sk", sk_model=Linear([1.0]))
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from registry import pyfunc
        a = pyfunc.load_model({str(tmp_path / "pf")!r}).predict([{{"a": 2}}])
        b = pyfunc.load_model({str(tmp_path / "sk")!r}).predict([[2.0]])
        heavy = [m for m in ("numpy", "pandas", "sklearn", "mlflow") if m in sys.modules]
        print(a, b, heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "[{'a': 2.0}] [2.0] []"


def test_readme_models_example_runs(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Models\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[True]"


def test_versions_without_local_files_say_so(reg: Registry) -> None:
    reg.create_registered_model("remote")
    reg.create_model_version("remote", source="s3://bucket/model")
    with pytest.raises(InvalidParameterValue, match=r"points at 's3://bucket/model', which is not a local"):
        reg.load_model("models:/remote/1")
