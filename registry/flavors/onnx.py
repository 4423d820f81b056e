"""The ``onnx`` flavor, in the layout of MLflow's ``mlflow.onnx``; onnxruntime runs it.

::

    model.onnx                the ONNX graph (tensors in model.onnx.data or other files when saved with
                              save_as_external_data, as MLflow does by default)
    MLmodel                   flavors: python_function {loader_module: mlflow.onnx, data: model.onnx}
                                       onnx {onnx_version, data: model.onnx, providers, onnx_session_options}

Loading for prediction needs only ``onnxruntime`` (and numpy, which it brings): the edge format. Saving and
``load_model`` (the ``onnx.ModelProto``) need ``onnx``. Both come with ``pip install 'mlregistry[onnx]'``.
Every external-data file the model names is checked with the path rule before onnxruntime opens anything.
ONNX files hold no code: loading one runs only onnxruntime's operators.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.errors import InvalidParameterValue
from registry.flavors.onnx_files import external_data_locations
from registry.flavors.plugin import Flavor
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.signature import ModelSignature

__all__ = ["FLAVOR", "FLAVOR_NAME", "LOADER_MODULE", "load_native", "load_pyfunc", "save"]

FLAVOR_NAME = "onnx"
LOADER_MODULE = "mlflow.onnx"
MODEL_FILE = "model.onnx"
EXTRA = "onnx"
DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")  # MLflow's default: GPU where there is one
_SESSION_OPTIONS = {"inter_op_num_threads", "intra_op_num_threads", "execution_mode", "graph_optimization_level"}


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def save(
    path: Path,
    onnx_model: Any,
    *,
    onnx_execution_providers: Sequence[Any] | None = None,
    onnx_session_options: Mapping[str, Any] | None = None,
    save_as_external_data: bool = True,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write ``onnx_model`` (an ``onnx.ModelProto``) into the new folder ``path`` as MLflow's ``onnx`` flavor."""
    import onnx

    if not isinstance(onnx_model, onnx.ModelProto):
        raise InvalidParameterValue(
            f"The onnx flavor saves an onnx.ModelProto, got {type(onnx_model).__name__}; convert the model to "
            "ONNX first (onnx.load(...), or a converter such as skl2onnx or torch.onnx)."
        )
    options = dict(onnx_session_options or {})
    unknown = set(options) - _SESSION_OPTIONS - {"extra_session_config"}
    if unknown:
        raise InvalidParameterValue(
            f"Unknown onnx_session_options {sorted(unknown)}; known: {sorted(_SESSION_OPTIONS)} and "
            "extra_session_config.",
        )
    providers = list(onnx_execution_providers) if onnx_execution_providers is not None else list(DEFAULT_PROVIDERS)
    # onnx.save_model moves the tensors of the proto it is given out to the external file, in place: save a copy
    # so the caller's model stays whole (saving it twice, or to MLflow too, must work)
    copy = onnx.ModelProto()
    copy.CopyFrom(onnx_model)
    onnx.save_model(copy, str(path / MODEL_FILE), save_as_external_data=save_as_external_data)
    flavors: dict[str, dict[str, Any]] = {
        PYFUNC_FLAVOR: {
            "loader_module": LOADER_MODULE,
            "data": MODEL_FILE,
            "code": None,
            "python_version": ".".join(map(str, sys.version_info[:3])),
        },
        FLAVOR_NAME: {
            "onnx_version": onnx.__version__,
            "data": MODEL_FILE,
            "providers": providers,
            "onnx_session_options": options or None,
            "code": None,
        },
    }
    requirements = [f"onnx=={onnx.__version__}"]
    runtime = _version("onnxruntime")
    requirements.append(f"onnxruntime=={runtime}" if runtime else "onnxruntime")
    requirements.extend(pip_requirements or ())
    return model_dir.write_common(
        path,
        flavors=flavors,
        requirements=requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
    )


def _model_file(path: Path, mlmodel: MLmodel) -> Path:
    """The ``.onnx`` file, after checking that it and every external-data file it names lie inside ``path``."""
    conf = mlmodel.flavors.get(FLAVOR_NAME) or mlmodel.flavors.get(PYFUNC_FLAVOR) or {}
    file = model_dir.model_file(path, conf.get("data") or MODEL_FILE, "onnx.data")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InvalidParameterValue(f"The ONNX model file {str(file)!r} is missing.", path=str(file)) from None
    folder = file.relative_to(path).parent
    for location in external_data_locations(data, name=str(file)):
        # onnxruntime resolves a location against the model file's folder; the rule applies to that path
        model_dir.model_file(path, (folder / location).as_posix() if location else "", "onnx external data location")
    return file


def load_native(path: Path, mlmodel: MLmodel) -> Any:
    """The ``onnx.ModelProto`` (``registry.onnx.load_model``), checked by ``onnx.checker``; needs ``onnx``."""
    import onnx

    file = _model_file(path, mlmodel)
    onnx.checker.check_model(str(file))
    return onnx.load(str(file))


def _providers(conf: Mapping[str, Any], available: Sequence[str]) -> list[Any]:
    declared = conf.get("providers") or list(DEFAULT_PROVIDERS)
    if isinstance(declared, str):
        declared = [declared]
    usable = []
    for entry in declared:
        entry = tuple(entry) if isinstance(entry, list) else entry  # (name, options) comes back from YAML as a list
        name = entry[0] if isinstance(entry, tuple) and entry else entry
        if isinstance(name, str) and name in available:
            usable.append(entry)
    return usable or ["CPUExecutionProvider"]


def _session_options(ort: Any, options: Mapping[str, Any] | None) -> Any:
    sess = ort.SessionOptions()
    options = options or {}
    for key in ("inter_op_num_threads", "intra_op_num_threads"):
        if options.get(key):
            setattr(sess, key, int(options[key]))
    mode = str(options.get("execution_mode") or "").upper()
    if mode in ("SEQUENTIAL", "PARALLEL"):
        sess.execution_mode = getattr(ort.ExecutionMode, f"ORT_{mode}")
    if options.get("graph_optimization_level"):
        sess.graph_optimization_level = ort.GraphOptimizationLevel(int(options["graph_optimization_level"]))
    for key, value in (options.get("extra_session_config") or {}).items():
        sess.add_session_config_entry(str(key), str(value))
    return sess


class OnnxImpl:
    """The loaded model behind `registry.pyfunc.PyFuncModel`: an onnxruntime ``InferenceSession``.

    ``predict`` takes what MLflow's ONNX wrapper takes (a dict of input name -> array, an array or nested lists
    for a single-input model, a pandas DataFrame) and answers as it does: a dict of output name -> array, or a
    DataFrame of outputs for DataFrame input. float64 input for a float32 tensor is cast, as MLflow does.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = [(i.name, i.type) for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]

    def _feeds(self, data: Any) -> dict[str, Any]:
        import numpy as np

        if isinstance(data, Mapping):
            feeds = {str(k): np.asarray(v) for k, v in data.items()}
        elif hasattr(data, "iloc") and hasattr(data, "columns"):  # a pandas DataFrame
            if len(self.inputs) > 1:
                feeds = {name: data[name].values for name, _ in self.inputs}
            else:
                feeds = {self.inputs[0][0]: data.values}
        else:
            if len(self.inputs) != 1:
                raise InvalidParameterValue(
                    f"This ONNX model has {len(self.inputs)} inputs ({', '.join(n for n, _ in self.inputs)}): pass "
                    "a dict of input name -> array (or a DataFrame with those columns), not a single array."
                )
            feeds = {self.inputs[0][0]: np.asarray(data)}
        for name, kind in self.inputs:
            if kind == "tensor(float)" and name in feeds and feeds[name].dtype == np.float64:
                feeds[name] = feeds[name].astype(np.float32)
        return feeds

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        outputs = self.session.run(self.output_names, self._feeds(data))
        if hasattr(data, "iloc") and hasattr(data, "columns"):
            import numpy as np
            import pandas as pd

            return pd.DataFrame({n: np.asarray(v).reshape(-1) for n, v in zip(self.output_names, outputs, strict=True)})
        return dict(zip(self.output_names, outputs, strict=True))

    def unwrap(self) -> Any:
        return self.session


def load_pyfunc(path: Path, mlmodel: MLmodel, model_config: Mapping[str, Any] | None = None) -> OnnxImpl:
    """An onnxruntime session on the model, with the providers and session options its ``MLmodel`` declares
    (those this onnxruntime build lacks are dropped, CPU being the last resort, as MLflow does)."""
    import onnxruntime as ort

    file = _model_file(path, mlmodel)
    conf = mlmodel.flavors.get(FLAVOR_NAME) or {}
    try:
        session = ort.InferenceSession(
            str(file),
            sess_options=_session_options(ort, conf.get("onnx_session_options")),
            providers=_providers(conf, ort.get_available_providers()),
        )
    except Exception as exc:  # onnxruntime raises its own types for graphs it cannot run
        raise InvalidParameterValue(
            f"onnxruntime cannot load {str(file)!r}: {type(exc).__name__}: {exc}", path=str(file)
        ) from exc
    return OnnxImpl(session)


FLAVOR = Flavor(
    name=FLAVOR_NAME,
    loader_module=LOADER_MODULE,
    load_pyfunc=load_pyfunc,
    load_model=load_native,
    save=save,
    libraries=("onnxruntime",),
    save_libraries=("onnx",),
    model_libraries=("onnx",),
    extra=EXTRA,
)
"""The ``onnx`` flavor (registered under ``registry.flavors``): onnxruntime to predict, onnx to save."""
