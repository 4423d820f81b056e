"""The ``python_function`` flavor with a custom `PythonModel`, in MLflow's layout.

A directory saved here loads in real MLflow (``mlflow.pyfunc.load_model``) and a directory MLflow saved from a
``PythonModel`` loads here::

    python_model.pkl          the model object, cloudpickled (see registry.flavors.pickling)
    artifacts/<file>          copies of the artifacts, found again through context.artifacts[name]
    code/<path>               copies of code_paths, put on sys.path while loading
    MLmodel, requirements.txt, python_env.yaml, conda.yaml, input_example.json, ...

**Loading runs code**: ``python_model.pkl`` is a pickle. Load only models you trust; the registry verifies a
registered version's digests before unpickling, which proves integrity, not safety.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cloudpickle

from registry.domain.uris import local_path
from registry.errors import InvalidParameterValue, ResourceDoesNotExist
from registry.flavors import pickling
from registry.flavors.model_api import PythonModel, PythonModelContext
from registry.flavors.plugin import Flavor
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.signature import ModelSignature
from registry.store.artifacts import copy_folder

__all__ = ["FLAVOR", "LOADER_MODULE", "PythonModel", "PythonModelContext", "load_pyfunc", "save"]

# MLflow's name for this loader: written into MLmodel so MLflow loads our directories with its own code.
LOADER_MODULE = "mlflow.pyfunc.model"
PICKLE_FILE = "python_model.pkl"


def _local_path(uri: str | os.PathLike[str]) -> Path:
    text = os.fspath(uri)
    path = local_path(text)
    if path is None:
        raise InvalidParameterValue(
            f"Artifact {text!r} is not a local file; only local paths and file: URIs can be copied into a model.",
            uri=text,
        )
    return Path(path)


def _copy_into(src: Path, dest: Path, what: str) -> None:
    """Copy an artifact or code path into the model: a folder by the registry's copy rule (no links leading
    outside it, no loops, no special files), a file as the regular file it is (or a link names)."""
    if src.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_folder(str(src), str(dest))
    elif src.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    elif src.exists():
        raise InvalidParameterValue(f"{what} {str(src)!r} is not a regular file or folder.", path=str(src))
    else:
        raise ResourceDoesNotExist(f"{what} {str(src)!r} does not exist.", path=str(src))


def _save_artifacts(path: Path, artifacts: Mapping[str, str | os.PathLike[str]]) -> dict[str, dict[str, str]]:
    saved: dict[str, dict[str, str]] = {}
    used: set[str] = set()
    for name, uri in artifacts.items():
        src = _local_path(uri)
        if not src.exists():
            raise ResourceDoesNotExist(f"Artifact {name!r} points at {str(src)!r}, which does not exist.", name=name)
        rel = f"artifacts/{src.name}"
        if rel in used:  # two artifacts with the same file name: keep both, apart
            rel = f"artifacts/{name}/{src.name}"
        used.add(rel)
        _copy_into(src, path / rel, f"Artifact {name!r}")
        saved[str(name)] = {"path": rel, "uri": os.fspath(uri)}
    return saved


def save(
    path: Path,
    python_model: PythonModel,
    *,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write a ``python_function`` model directory into the (new, empty) folder ``path``."""
    if not isinstance(python_model, PythonModel):
        raise InvalidParameterValue(
            f"python_model must be an instance of registry.pyfunc.PythonModel, got {type(python_model).__name__}."
        )
    conf: dict[str, Any] = {
        "loader_module": LOADER_MODULE,
        "python_model": PICKLE_FILE,
        "cloudpickle_version": cloudpickle.__version__,
        "python_version": ".".join(map(str, sys.version_info[:3])),
        "streamable": False,
        "code": None,
    }
    if artifacts:
        conf["artifacts"] = _save_artifacts(path, artifacts)
    if code_paths:
        for code in code_paths:
            src = _local_path(code)
            _copy_into(src, path / "code" / src.name, "Code path")
        conf["code"] = "code"
    with open(path / PICKLE_FILE, "wb") as f:
        pickling.dump(python_model, f)
    requirements = [f"cloudpickle=={cloudpickle.__version__}", *(pip_requirements or ())]
    return model_dir.write_common(
        path,
        flavors={PYFUNC_FLAVOR: conf},
        requirements=requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
    )


def add_code_to_path(path: Path, conf: Mapping[str, Any]) -> None:
    """Put the model's saved ``code`` folder first on ``sys.path`` (as MLflow does) so its modules import."""
    code = conf.get("code")
    if code:
        code_dir = str(model_dir.model_file(path, code, "code"))
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)


def _accepts_params(fn: Any) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return "params" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class PythonModelImpl:
    """The loaded model behind `registry.pyfunc.PyFuncModel` for this flavor."""

    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._pass_params = _accepts_params(python_model.predict)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._pass_params:
            return self.python_model.predict(self.context, data, params=params)
        return self.python_model.predict(self.context, data)

    def unwrap(self) -> PythonModel:
        return self.python_model


def load_pyfunc(path: Path, mlmodel: MLmodel, model_config: Mapping[str, Any] | None = None) -> PythonModelImpl:
    """Load the model in ``path`` (a ``python_function`` flavor with ``python_model``). Runs the pickle."""
    conf = mlmodel.flavor(PYFUNC_FLAVOR)
    add_code_to_path(path, conf)
    pickle_name = conf.get("python_model")
    if not pickle_name:
        raise InvalidParameterValue(
            "This python_function model has no 'python_model' entry; models saved as code (a .py file) "
            "are not supported here."
        )
    if conf.get("compression"):
        raise InvalidParameterValue(f"Compressed python models ({conf['compression']!r}) are not supported.")
    python_model = pickling.load_file(model_dir.model_file(path, pickle_name, "python_model"), "python_model")
    if not isinstance(python_model, PythonModel):
        raise InvalidParameterValue(
            f"{pickle_name} holds a {type(python_model).__name__}, not a PythonModel.", path=str(path)
        )
    # The relative 'path' is what counts: 'uri' is wherever the file was when the model was saved.
    artifacts = {name: str(file) for name, file in model_dir.artifact_files(path, conf).items()}
    context = PythonModelContext(artifacts, model_config)
    python_model.load_context(context)
    return PythonModelImpl(python_model, context)


FLAVOR = Flavor(
    name=PYFUNC_FLAVOR,
    loader_module=LOADER_MODULE,
    load_pyfunc=load_pyfunc,
    save=save,
    path_fields=("python_model",),
)
"""The ``python_function`` flavor of a `PythonModel` (registered under ``registry.flavors``)."""
