"""The ``xgboost`` flavor, in the layout of MLflow's ``mlflow.xgboost``: XGBoost's own model file, no pickle.

::

    model.ubj                 Booster.save_model / XGBModel.save_model (UBJSON; json and deprecated formats too)
    MLmodel                   flavors: python_function {loader_module: mlflow.xgboost, data: model.ubj}
                                       xgboost {xgb_version, data: model.ubj, model_class, model_format}

``model_class`` says which XGBoost class to rebuild (``xgboost.core.Booster``, ``xgboost.sklearn.XGBRegressor``,
...). MLflow imports whatever module that field names; here only XGBoost's own classes are accepted, looked up
by name on the ``xgboost`` module. Needs ``xgboost`` to save and to load (``pip install 'mlregistry[xgboost]'``).
Loading runs no code from the directory: the file is data.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.errors import InvalidParameterValue
from registry.flavors.plugin import Flavor
from registry.flavors.sklearn import columns_as_frame
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.signature import ModelSignature

__all__ = ["FLAVOR", "FLAVOR_NAME", "LOADER_MODULE", "load_native", "load_pyfunc", "save"]

FLAVOR_NAME = "xgboost"
LOADER_MODULE = "mlflow.xgboost"
EXTRA = "xgboost"
FORMATS = ("ubj", "json", "deprecated")
# The classes a directory may name in model_class: XGBoost's own, by their fully qualified names.
MODEL_CLASSES: dict[str, str] = {
    "xgboost.core.Booster": "Booster",
    "xgboost.sklearn.XGBModel": "XGBModel",
    "xgboost.sklearn.XGBClassifier": "XGBClassifier",
    "xgboost.sklearn.XGBRegressor": "XGBRegressor",
    "xgboost.sklearn.XGBRanker": "XGBRanker",
    "xgboost.sklearn.XGBRFClassifier": "XGBRFClassifier",
    "xgboost.sklearn.XGBRFRegressor": "XGBRFRegressor",
}


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def save(
    path: Path,
    xgb_model: Any,
    *,
    model_format: str = "ubj",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write ``xgb_model`` (an ``xgboost.Booster`` or one of XGBoost's scikit-learn models) into ``path``."""
    import xgboost

    model_class = _class_name(xgb_model)
    if model_class not in MODEL_CLASSES:
        raise InvalidParameterValue(
            f"The xgboost flavor saves an xgboost.Booster or one of XGBoost's scikit-learn models "
            f"({', '.join(v for v in MODEL_CLASSES.values())}), got {model_class}."
        )
    if model_format not in FORMATS:
        raise InvalidParameterValue(f"model_format must be one of {', '.join(FORMATS)}, got {model_format!r}.")
    data = f"model.{model_format}"
    xgb_model.save_model(str(path / data))
    flavors: dict[str, dict[str, Any]] = {
        PYFUNC_FLAVOR: {
            "loader_module": LOADER_MODULE,
            "data": data,
            "code": None,
            "python_version": ".".join(map(str, sys.version_info[:3])),
        },
        FLAVOR_NAME: {
            "xgb_version": xgboost.__version__,
            "data": data,
            "model_class": model_class,
            "model_format": model_format,
            "code": None,
        },
    }
    return model_dir.write_common(
        path,
        flavors=flavors,
        requirements=[f"xgboost=={xgboost.__version__}", *(pip_requirements or ())],
        signature=signature,
        input_example=input_example,
        metadata=metadata,
    )


def load_native(path: Path, mlmodel: MLmodel) -> Any:
    """The XGBoost model object (``registry.xgboost.load_model``), of the class ``model_class`` names."""
    import xgboost

    conf = mlmodel.flavor(FLAVOR_NAME)
    model_class = conf.get("model_class") or "xgboost.core.Booster"  # MLflow before 1.22 wrote no model_class
    if model_class not in MODEL_CLASSES:
        raise InvalidParameterValue(
            f"The xgboost model at {str(path)!r} names model_class {model_class!r}, which is not one of "
            f"XGBoost's model classes ({', '.join(sorted(MODEL_CLASSES))}); nothing else is loaded.",
            path=str(path),
        )
    file = model_dir.model_file(path, conf.get("data"), "xgboost.data")
    if not file.is_file():
        raise InvalidParameterValue(f"The XGBoost model file {str(file)!r} is missing.", path=str(file))
    model = getattr(xgboost, MODEL_CLASSES[model_class])()
    try:
        model.load_model(str(file))
    except xgboost.core.XGBoostError as exc:
        raise InvalidParameterValue(f"XGBoost cannot read {str(file)!r}: {exc}", path=str(file)) from exc
    return model


def as_matrix(data: Any, model: Any) -> Any:
    """Input in a shape gradient-boosting libraries take: columns by name as a DataFrame (where pandas is),
    nested lists as a numpy array; arrays and DataFrames as they are."""
    data = columns_as_frame(data, model)
    if isinstance(data, (list, tuple)):
        import numpy as np

        return np.asarray(data)
    return data


def accepted_params(fn: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inference ``params`` that ``fn`` takes (all of them when it takes ``**kwargs``), as MLflow passes
    them on: others are dropped."""
    if not params:
        return {}
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(params)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in parameters}


class XGBoostImpl:
    """The loaded model behind `registry.pyfunc.PyFuncModel`: ``predict`` as MLflow's XGBoost wrapper
    calls it (a ``DMatrix`` for a Booster, ``validate_features=True``, only the params ``predict`` takes)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost

        matrix = as_matrix(data, self.model)
        kwargs = accepted_params(self.model.predict, params)
        kwargs.pop("validate_features", None)
        if isinstance(self.model, xgboost.Booster):
            return self.model.predict(xgboost.DMatrix(matrix), validate_features=True, **kwargs)
        return self.model.predict(matrix, validate_features=True, **kwargs)

    def unwrap(self) -> Any:
        return self.model


def load_pyfunc(path: Path, mlmodel: MLmodel, model_config: Mapping[str, Any] | None = None) -> XGBoostImpl:
    """Load for pyfunc: the XGBoost model, predicting as MLflow's wrapper does."""
    return XGBoostImpl(load_native(path, mlmodel))


FLAVOR = Flavor(
    name=FLAVOR_NAME,
    loader_module=LOADER_MODULE,
    load_pyfunc=load_pyfunc,
    load_model=load_native,
    save=save,
    libraries=("xgboost",),
    extra=EXTRA,
)
"""The ``xgboost`` flavor (registered under ``registry.flavors``)."""
