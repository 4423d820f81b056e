"""A flavor for scikit-learn-style models: any object with ``.predict``, in the layout of MLflow's ``sklearn``.

scikit-learn is never required: the object is pickled as it is, and loading imports whatever modules the
pickle names (scikit-learn for a scikit-learn estimator, nothing for a plain class defined in ``__main__``).
The directory carries two flavors, as MLflow writes them::

    flavors:
      python_function: {loader_module: mlflow.sklearn, model_path: model.pkl, predict_fn: predict, ...}
      sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle, sklearn_version: ..., ...}

so real MLflow loads it with ``mlflow.sklearn.load_model`` or ``mlflow.pyfunc.load_model``. Directories MLflow
wrote load here in its ``pickle`` and ``cloudpickle`` formats, and in its ``skops`` format (MLflow 3's default)
when the ``skops`` package is installed.

**Loading runs code**: pickles (and the skops types a model's own ``MLmodel`` marks as trusted) can execute
anything while they load. Load only models you trust.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cloudpickle

from registry.errors import InvalidParameterValue, RegistryError
from registry.flavors import pickling
from registry.flavors.plugin import Flavor
from registry.flavors.python_model import add_code_to_path
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.signature import ModelSignature

__all__ = ["FLAVOR", "FLAVOR_NAME", "LOADER_MODULE", "load_file", "load_model", "load_native", "load_pyfunc", "save"]

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "mlflow.sklearn"
FORMATS = ("cloudpickle", "pickle")
MODEL_FILE = "model.pkl"


def _sklearn_version() -> str | None:
    from importlib import metadata as _metadata  # slow to import; only saving needs it

    try:
        return _metadata.version("scikit-learn")
    except _metadata.PackageNotFoundError:
        return None


def save(
    path: Path,
    sk_model: Any,
    *,
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    predict_fn: str = "predict",
) -> MLmodel:
    """Write ``sk_model`` (anything with ``predict_fn``) as an MLflow ``sklearn`` model directory."""
    if serialization_format not in FORMATS:
        raise InvalidParameterValue(
            f"serialization_format must be one of {', '.join(FORMATS)}, got {serialization_format!r} "
            "(writing skops is left to MLflow; reading it works when skops is installed).",
        )
    if not callable(getattr(sk_model, predict_fn, None)):
        raise InvalidParameterValue(
            f"The model ({type(sk_model).__name__}) has no callable .{predict_fn}(); the sklearn flavor needs one."
        )
    with open(path / MODEL_FILE, "wb") as f:
        if serialization_format == "cloudpickle":
            pickling.dump(sk_model, f)
        else:
            pickle.dump(sk_model, f, protocol=pickle.DEFAULT_PROTOCOL)
    python_version = ".".join(map(str, sys.version_info[:3]))
    flavors: dict[str, dict[str, Any]] = {
        PYFUNC_FLAVOR: {
            "loader_module": LOADER_MODULE,
            "model_path": MODEL_FILE,
            "predict_fn": predict_fn,
            "python_version": python_version,
        },
        FLAVOR_NAME: {
            "pickled_model": MODEL_FILE,
            "serialization_format": serialization_format,
            "sklearn_version": _sklearn_version(),
            "code": None,
            "skops_trusted_types": None,
        },
    }
    requirements: list[str] = []
    if serialization_format == "cloudpickle":
        requirements.append(f"cloudpickle=={cloudpickle.__version__}")
    if type(sk_model).__module__.split(".")[0] == "sklearn" and _sklearn_version():
        requirements.append(f"scikit-learn=={_sklearn_version()}")
    requirements.extend(pip_requirements or ())
    return model_dir.write_common(
        path,
        flavors=flavors,
        requirements=requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
    )


def load_file(file: Path, serialization_format: str, skops_trusted_types: Any) -> Any:
    if serialization_format == "skops":
        try:
            import skops.io as sio
        except ImportError:
            raise RegistryError(
                f"{str(file)!r} was saved by MLflow in the skops format (MLflow 3's default for scikit-learn); "
                "install skops ('pip install skops') to load it, or re-save the model with "
                "serialization_format='cloudpickle'.",
                path=str(file),
            ) from None
        try:
            return sio.load(file, trusted=skops_trusted_types)
        except Exception as exc:  # skops raises its own types for untrusted or malformed files
            raise RegistryError(
                f"Cannot load the skops file {str(file)!r}: {type(exc).__name__}: {exc}.", path=str(file)
            ) from exc
    if serialization_format not in FORMATS:
        raise InvalidParameterValue(
            f"Unknown sklearn serialization format {serialization_format!r} in {str(file)!r}; "
            "expected pickle, cloudpickle or skops.",
        )
    # cloudpickle output is read by pickle plus cloudpickle's helpers, which our unpickler resolves.
    return pickling.load_file(file, "pickled_model")


def load_native(path: Path, mlmodel: MLmodel) -> Any:
    conf = mlmodel.flavors.get(FLAVOR_NAME) or {}
    pyfunc_conf = mlmodel.flavors.get(PYFUNC_FLAVOR) or {}
    add_code_to_path(path, conf)
    if conf.get("pickled_model"):
        file = model_dir.model_file(path, conf["pickled_model"], "pickled_model")
    elif pyfunc_conf.get("model_path"):
        file = model_dir.model_file(path, pyfunc_conf["model_path"], "model_path")
    else:
        file = model_dir.model_file(path, MODEL_FILE, "pickled_model")
    return load_file(file, conf.get("serialization_format", "pickle"), conf.get("skops_trusted_types"))


def load_model(model_uri: str | os.PathLike[str], *, registry: Any = None) -> Any:
    """Load the model object itself (an estimator, or whatever was saved) from a model directory or URI.

    Accepts what `registry.pyfunc.load_model()` accepts; a registered version's digests are verified first.
    Runs the pickle: load only models you trust.
    """
    from registry.flavors.loading import load_flavor_model

    return load_flavor_model(model_uri, FLAVOR_NAME, registry=registry)


def _names_columns(data: Any) -> bool:
    if isinstance(data, Mapping):
        return True
    return isinstance(data, list) and bool(data) and all(isinstance(row, Mapping) for row in data)


def columns_as_frame(data: Any, model: Any) -> Any:
    """Input that names its columns (``{"a": [1.0]}``, ``{"a": 1.0}`` or ``[{"a": 1.0}]``) as a pandas DataFrame,
    as MLflow hands it to a scikit-learn model (which finds its features by name); anything else as given.

    Without pandas, a scikit-learn estimator cannot take columns by name, so that raises with the shape to pass
    instead; any other object with ``.predict`` gets the dicts as given (it may read them itself).
    """
    if not _names_columns(data):
        return data
    try:
        import pandas as pd
    except ImportError:
        if type(model).__module__.split(".")[0] != "sklearn":
            return data
        raise InvalidParameterValue(
            f"This scikit-learn {type(model).__name__} was given columns by name (dicts), which it can only take "
            "as a pandas DataFrame, and pandas is not installed. Install pandas, or pass rows as lists of values "
            "in the order of the columns it was fitted on, e.g. [[1.0, 2.0], [3.0, 4.0]]."
        ) from None
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))  # {"a": [1.0, 2.0]}: columns
        except ValueError:
            return pd.DataFrame([dict(data)])  # {"a": 1.0}: one row of scalars
    return pd.DataFrame([dict(row) for row in data])


class SklearnImpl:
    """The loaded model behind `registry.pyfunc.PyFuncModel` for this flavor."""

    def __init__(self, model: Any, predict_fn: str) -> None:
        self.model = model
        predict = getattr(model, predict_fn, None)
        if not callable(predict):
            raise InvalidParameterValue(f"The loaded {type(model).__name__} has no callable .{predict_fn}().")
        self._predict = predict

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(columns_as_frame(data, self.model))

    def unwrap(self) -> Any:
        return self.model


def load_pyfunc(path: Path, mlmodel: MLmodel, model_config: Mapping[str, Any] | None = None) -> SklearnImpl:
    """Load for pyfunc: the object's ``predict_fn`` (``predict`` unless the flavor says otherwise)."""
    conf = mlmodel.flavor(PYFUNC_FLAVOR)
    return SklearnImpl(load_native(path, mlmodel), str(conf.get("predict_fn") or "predict"))


FLAVOR = Flavor(
    name=FLAVOR_NAME,
    loader_module=LOADER_MODULE,
    load_pyfunc=load_pyfunc,
    load_model=load_native,
    save=save,
    path_fields=("pickled_model",),
)
"""The ``sklearn`` flavor (registered under ``registry.flavors``); it needs no library of its own."""
