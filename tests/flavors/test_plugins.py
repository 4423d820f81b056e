"""Flavors as plugins (registry/flavors/plugin.py, registry/flavors/__init__.py), in the main test environment.

No flavor library is installed here (no numpy, onnx, onnxruntime, xgboost, lightgbm): these tests prove the
plugin interface itself, the allow-list, the path rule for flavor fields and the error for a missing library.
The flavors' behaviour with their libraries is proven against real MLflow in test_flavor_interop.py.
"""

from __future__ import annotations

import logging
import pickle
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from registry import (
    ArtifactVerificationError,
    InvalidParameterValue,
    MissingDependency,
    Registry,
    pyfunc,
)
from registry import lightgbm as rlgb
from registry import onnx as ronnx
from registry import xgboost as rxgb
from registry.flavors import BUILTIN_FLAVORS, ENTRY_POINT_GROUP, Flavor, flavor_named, registered_flavors
from registry.flavors.loading import save_flavor
from registry.flavors.onnx_files import external_data_locations

REPO = Path(__file__).resolve().parents[2]

BUILTIN_LOADERS = {
    "python_function": "mlflow.pyfunc.model",
    "sklearn": "mlflow.sklearn",
    "onnx": "mlflow.onnx",
    "xgboost": "mlflow.xgboost",
    "lightgbm": "mlflow.lightgbm",
}

# A third party's flavor package: weights in a JSON file named by its own MLmodel field, predictions k * x.
TOY_PACKAGE = """
import json
from registry.flavors import Flavor
from registry.models import model_dir

class Toy:
    def __init__(self, k):
        self.k = k

class ToyImpl:
    def __init__(self, k):
        self.k = k
    def predict(self, data, params=None):
        return [self.k * x for x in data]
    def unwrap(self):
        return Toy(self.k)

def save(path, model, *, signature=None, input_example=None, pip_requirements=None, metadata=None):
    (path / "weights.json").write_text(json.dumps({"k": model.k}))
    return model_dir.write_common(
        path,
        flavors={"python_function": {"loader_module": "toy_flavor.loader"}, "toy": {"weights": "weights.json"}},
        requirements=["toy-flavor==1.0", *(pip_requirements or ())],
        signature=signature, input_example=input_example, metadata=metadata,
    )

def _k(path, mlmodel):
    # careless on purpose: the file its own field names, opened without the path rule; the loader applies the
    # rule to the fields the Flavor declares before this runs
    return json.loads((path / mlmodel.flavor("toy")["weights"]).read_text())["k"]

def load_pyfunc(path, mlmodel, model_config=None):
    return ToyImpl(_k(path, mlmodel))

def load_model(path, mlmodel):
    return Toy(_k(path, mlmodel))

FLAVOR = Flavor(name="toy", loader_module="toy_flavor.loader", load_pyfunc=load_pyfunc, load_model=load_model,
                save=save, path_fields=("weights",))
"""


def fake_distribution(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
    """A distribution as pip leaves it in site-packages: its modules and a ``.dist-info`` with entry points."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    return site


@pytest.fixture
def toy_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = fake_distribution(tmp_path / "site", "toy_flavor", {"toy": "toy_flavor:FLAVOR"}, {"toy_flavor": TOY_PACKAGE})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("toy_flavor", None)


# -- the built-in flavors ----------------------------------------------------------------------------------------


def test_pyproject_registers_exactly_the_builtin_flavors() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"][ENTRY_POINT_GROUP] == BUILTIN_FLAVORS
    installed = {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert installed.items() >= BUILTIN_FLAVORS.items()  # the editable install carries them


def test_builtin_flavors_answer_to_mlflows_loader_modules_without_importing_their_libraries() -> None:
    flavors = registered_flavors()
    assert {name: f.loader_module for name, f in flavors.items() if name in BUILTIN_LOADERS} == BUILTIN_LOADERS
    assert flavors["onnx"].extra == "onnx" and flavors["onnx"].libraries == ("onnxruntime",)
    for library in ("numpy", "onnx", "onnxruntime", "xgboost", "lightgbm"):
        assert library not in sys.modules  # registering a flavor imports none of its libraries
    with pytest.raises(InvalidParameterValue, match="No model flavor named 'catboost' is registered; registered "):
        flavor_named("catboost")


def test_logging_with_a_flavor_that_is_not_registered_creates_nothing() -> None:
    reg = Registry("memory://")
    with pytest.raises(InvalidParameterValue, match="No model flavor named 'catboost'"):
        reg.log_model(object(), flavor="catboost", registered_model_name="m")
    with pytest.raises(InvalidParameterValue, match="do not go with flavor='onnx'"):
        reg.log_model(object(), flavor="onnx", sk_model=object(), registered_model_name="m")
    assert reg.search_registered_models() == []


def test_a_flavor_object_checks_its_names() -> None:
    with pytest.raises(InvalidParameterValue, match=r"Flavor\.name must be a non-empty string"):
        Flavor(name="", loader_module="x", load_pyfunc=lambda p, m, c: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(InvalidParameterValue, match=r"Flavor\.loader_module must be a non-empty string"):
        Flavor(name="x", loader_module=" x", load_pyfunc=lambda p, m, c: None)  # type: ignore[arg-type, return-value]


# -- the allow-list ------------------------------------------------------------------------------------------------


class Doubler(pyfunc.PythonModel):
    def predict(self, context: object, model_input: list[float], params: object = None) -> list[float]:
        return [2 * x for x in model_input]


def _set_loader(model: Path, loader: str) -> None:
    text = (model / "MLmodel").read_text()
    (model / "MLmodel").write_text(text.replace("loader_module: mlflow.pyfunc.model", f"loader_module: {loader}"))


@pytest.mark.parametrize(
    "loader",
    [
        "evil_loader_abc",  # a module that exists on sys.path
        "registry.flavors.onnx",  # our own implementation module, which is not a loader_module
        "mlflow.catboost",  # an MLflow flavor no installed distribution registers
        "toy_flavor.loader",  # a plugin's loader, while the plugin is not installed
    ],
)
def test_a_loader_module_no_registered_flavor_answers_to_is_refused_and_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str
) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "evil_loader_abc.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _set_loader(tmp_path / "m", loader)
    with pytest.raises(InvalidParameterValue) as caught:
        pyfunc.load_model(tmp_path / "m")
    message = str(caught.value)
    assert f"loader is {loader!r}: it is not the loader of any registered flavor" in message
    assert "mlflow.onnx (onnx)" in message and "mlflow.sklearn (sklearn)" in message  # what is registered
    assert "evil_loader_abc" not in sys.modules and "toy_flavor" not in sys.modules


# -- a third party's flavor ------------------------------------------------------------------------------------------


def test_a_third_party_flavor_registered_by_an_entry_point_saves_loads_and_logs(toy_site: Path, tmp_path: Path) -> None:
    toy = sys.modules.get("toy_flavor")
    assert toy is None  # nothing imported it yet
    assert "toy" in registered_flavors()
    import toy_flavor

    save_flavor(tmp_path / "m", "toy", toy_flavor.Toy(3), metadata={"by": "plugin"})
    model = pyfunc.load_model(tmp_path / "m")
    assert model.predict([1, 2]) == [3, 6]
    assert model.metadata.metadata == {"by": "plugin"}
    assert flavor_named("toy").load_model is not None
    from registry.flavors.loading import load_flavor_model

    assert load_flavor_model(tmp_path / "m", "toy").k == 3

    reg = Registry("memory://")
    mv = reg.log_model(toy_flavor.Toy(5), flavor="toy", registered_model_name="toys")
    assert pyfunc.load_model(f"models:/toys/{mv.version}", registry=reg).predict([2]) == [10]


def test_once_the_plugin_is_gone_its_directories_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_site: Path
) -> None:
    import toy_flavor

    save_flavor(tmp_path / "m", "toy", toy_flavor.Toy(3))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(toy_site)])
    assert "toy" not in registered_flavors()  # read afresh: no stale cache of what was installed
    with pytest.raises(InvalidParameterValue, match=r"'toy_flavor\.loader': it is not the loader of any registered"):
        pyfunc.load_model(tmp_path / "m")


def test_a_plugins_declared_path_fields_follow_the_path_rule(toy_site: Path, tmp_path: Path) -> None:
    import toy_flavor

    save_flavor(tmp_path / "m", "toy", toy_flavor.Toy(3))
    (tmp_path / "secret.json").write_text('{"k": 99}')
    text = (tmp_path / "m" / "MLmodel").read_text().replace("weights: weights.json", "weights: ../secret.json")
    (tmp_path / "m" / "MLmodel").write_text(text)
    with pytest.raises(ArtifactVerificationError, match=r"'toy\.weights'") as caught:
        pyfunc.load_model(tmp_path / "m")
    assert caught.value.field == "toy.weights"


def test_broken_or_clashing_plugins_are_left_out_and_the_rest_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site = fake_distribution(
        tmp_path / "site",
        "bad_flavors",
        {"broken": "bad_flavors_broken:FLAVOR", "sklearn": "bad_flavors_clash:FLAVOR", "notaflavor": "os:sep"},
        {"bad_flavors_broken": "raise ImportError('a dependency is missing')\n", "bad_flavors_clash": TOY_PACKAGE},
    )
    monkeypatch.syspath_prepend(str(site))
    with caplog.at_level(logging.WARNING, logger="registry"):
        flavors = registered_flavors()
    assert {"broken", "notaflavor"}.isdisjoint(flavors)
    assert flavors["sklearn"].loader_module == "mlflow.sklearn"  # the built-in cannot be replaced
    assert "bad_flavors_clash" not in sys.modules  # a clashing plugin is not even imported
    logged = caplog.text
    assert "'broken' from bad_flavors (bad_flavors_broken:FLAVOR) cannot be loaded: a dependency is missing" in logged
    assert "'sklearn' from bad_flavors (bad_flavors_clash:FLAVOR) ignored: the name is already registered" in logged
    assert "'notaflavor' from bad_flavors (os:sep) is not a registry Flavor" in logged
    pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    assert pyfunc.load_model(tmp_path / "m").predict([1.0]) == [2.0]


# -- a missing library ---------------------------------------------------------------------------------------------

MLFLOW_DIRS = {
    # flavor -> (the MLmodel MLflow writes, the data file): enough for the loader to get as far as the library
    "onnx": ("model.onnx", "onnx_version: 1.23.2\n    providers: [CPUExecutionProvider]"),
    "xgboost": ("model.ubj", "xgb_version: 3.2.0\n    model_class: xgboost.core.Booster\n    model_format: ubj"),
    "lightgbm": ("model.lgb", "lgb_version: 4.7.0\n    model_class: lightgbm.basic.Booster"),
}


def mlflow_dir(root: Path, flavor: str, data: str | None = None) -> Path:
    file, extra = MLFLOW_DIRS[flavor]
    root.mkdir()
    (root / file).write_bytes(b"\x00")
    (root / "MLmodel").write_text(
        "flavors:\n"
        f"  python_function:\n    loader_module: mlflow.{flavor}\n    data: {data or file}\n"
        f"  {flavor}:\n    data: {data or file}\n    code: null\n    {extra}\n"
    )
    return root


@pytest.mark.parametrize(
    ("flavor", "module", "predict_library", "native_library"),
    [
        ("onnx", ronnx, "onnxruntime", "onnx"),
        ("xgboost", rxgb, "xgboost", "xgboost"),
        ("lightgbm", rlgb, "lightgbm", "lightgbm"),
    ],
)
def test_a_missing_library_is_named_with_the_extra_to_install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flavor: str,
    module: object,
    predict_library: str,
    native_library: str,
) -> None:
    for library in {predict_library, native_library}:
        monkeypatch.setitem(sys.modules, library, None)  # absent here whether or not it is installed
    install = f"pip install 'mlregistry[{flavor}]'"
    with pytest.raises(
        MissingDependency, match=rf"The {flavor} flavor needs the '{native_library}' library to save"
    ) as caught:
        module.save_model(object(), tmp_path / "saved")  # type: ignore[attr-defined]
    assert install in str(caught.value) and not (tmp_path / "saved").exists()
    assert caught.value.error_code == "FEATURE_DISABLED" and isinstance(caught.value, ImportError)
    assert (caught.value.flavor, caught.value.library, caught.value.extra) == (flavor, native_library, flavor)
    assert pickle.loads(pickle.dumps(caught.value)).library == native_library

    model = mlflow_dir(tmp_path / "mlflow-model", flavor)
    with pytest.raises(
        MissingDependency, match=rf"'{predict_library}' library to load a model for prediction"
    ) as caught:
        pyfunc.load_model(model)
    assert install in str(caught.value)
    with pytest.raises(MissingDependency, match=rf"'{native_library}' library to load a model") as caught:
        module.load_model(model)  # type: ignore[attr-defined]
    with pytest.raises(MissingDependency):
        module.log_model(object(), name="m", registry=Registry("memory://"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("flavor", sorted(MLFLOW_DIRS))
def test_a_flavors_data_file_outside_the_folder_is_refused_before_anything_else(tmp_path: Path, flavor: str) -> None:
    (tmp_path / "outside.bin").write_bytes(b"\x00")
    model = mlflow_dir(tmp_path / "m", flavor, data="../outside.bin")
    with pytest.raises(ArtifactVerificationError, match=r"climbs out with '\.\.'") as caught:
        pyfunc.load_model(model)
    assert caught.value.field == "data"  # python_function's field, checked first
    with pytest.raises(ArtifactVerificationError):
        flavor_module = {"onnx": ronnx, "xgboost": rxgb, "lightgbm": rlgb}[flavor]
        flavor_module.load_model(model)


def test_a_directory_of_another_flavor_is_refused_by_a_flavors_load_model(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    with pytest.raises(InvalidParameterValue, match="xgboost"):
        rxgb.load_model(tmp_path / "m")


# -- ONNX external data --------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _external_tensor(location: str) -> bytes:
    entry = _field(1, b"location") + _field(2, location.encode())
    offset = _field(1, b"offset") + _field(2, b"0")
    return _field(8, b"w") + _field(13, offset) + _field(13, entry) + _varint(14 << 3) + _varint(1)


def test_external_data_locations_are_found_wherever_a_tensor_can_be() -> None:
    graph = _field(5, _external_tensor("weights.data")) + _field(15, _field(1, _external_tensor("sparse.data")))
    subgraph = _field(5, _external_tensor("../inner.data"))
    node = _field(5, _field(6, subgraph)) + _field(5, _field(5, _external_tensor("attr.data")))
    graph += _field(1, node)
    function = _field(7, _field(5, _field(10, _external_tensor("fn.data"))))
    model = _varint(1 << 3) + _varint(8) + _field(7, graph) + _field(25, function) + _field(2, b"producer")
    assert sorted(external_data_locations(model)) == [
        "../inner.data",
        "attr.data",
        "fn.data",
        "sparse.data",
        "weights.data",
    ]
    assert external_data_locations(_field(7, _field(5, _field(8, b"inline")))) == []


@pytest.mark.parametrize("data", [b"\x3a\x05ab", b"\x3a", b"\xff" * 12, b"\x3f"])
def test_a_malformed_onnx_file_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidParameterValue, match="is not a valid ONNX model file"):
        external_data_locations(data, name="m/model.onnx")
