"""The ``lightgbm`` flavor, in the layout of MLflow's ``mlflow.lightgbm``: LightGBM's own text model file.

::

    model.lgb                 Booster.save_model (LightGBM's text format)
    MLmodel                   flavors: python_function {loader_module: mlflow.lightgbm, data: model.lgb}
                                       lightgbm {lgb_version, data: model.lgb, model_class: lightgbm.basic.Booster}

Saving writes a ``lightgbm.Booster`` natively. A scikit-learn model (``LGBMRegressor``, ...) is refused with
what to pass instead (its ``booster_``): MLflow would pickle it, and this flavor writes no pickles. Directories
MLflow wrote from scikit-learn models (``model.pkl`` or ``model.skops``) still load here, through the sklearn
flavor's unpickler: **those run the pickle**, so load only models you trust. Needs ``lightgbm`` to save and to
load (``pip install 'mlregistry[lightgbm]'``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.errors import InvalidParameterValue
from registry.flavors.plugin import Flavor
from registry.flavors.sklearn import load_file
from registry.flavors.xgboost import as_matrix
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel
from registry.models.signature import ModelSignature

__all__ = ["FLAVOR", "FLAVOR_NAME", "LOADER_MODULE", "load_native", "load_pyfunc", "save"]

FLAVOR_NAME = "lightgbm"
LOADER_MODULE = "mlflow.lightgbm"
EXTRA = "lightgbm"
MODEL_FILE = "model.lgb"
BOOSTER = "lightgbm.basic.Booster"
SKLEARN_CLASSES = (
    "lightgbm.sklearn.LGBMModel",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker",
)


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def save(
    path: Path,
    lgb_model: Any,
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MLmodel:
    """Write ``lgb_model`` (a ``lightgbm.Booster``) into ``path`` as LightGBM's text model file."""
    import lightgbm

    model_class = _class_name(lgb_model)
    if model_class in SKLEARN_CLASSES:
        raise InvalidParameterValue(
            f"The lightgbm flavor saves a lightgbm.Booster natively; this is a scikit-learn {type(lgb_model).__name__}"
            ", which MLflow would pickle. Pass its fitted booster (model.booster_), or save the estimator with "
            "registry.sklearn.save_model (a pickle)."
        )
    if model_class != BOOSTER:
        raise InvalidParameterValue(f"The lightgbm flavor saves a lightgbm.Booster, got {model_class}.")
    lgb_model.save_model(str(path / MODEL_FILE))
    flavors: dict[str, dict[str, Any]] = {
        PYFUNC_FLAVOR: {
            "loader_module": LOADER_MODULE,
            "data": MODEL_FILE,
            "code": None,
            "python_version": ".".join(map(str, sys.version_info[:3])),
        },
        FLAVOR_NAME: {
            "lgb_version": lightgbm.__version__,
            "data": MODEL_FILE,
            "model_class": BOOSTER,
            "code": None,
        },
    }
    return model_dir.write_common(
        path,
        flavors=flavors,
        requirements=[f"lightgbm=={lightgbm.__version__}", *(pip_requirements or ())],
        signature=signature,
        input_example=input_example,
        metadata=metadata,
    )


def load_native(path: Path, mlmodel: MLmodel) -> Any:
    """The LightGBM model (``registry.lightgbm.load_model``): a ``Booster``, or for a directory MLflow wrote
    from a scikit-learn model, that model (unpickled: trusted models only)."""
    import lightgbm

    conf = mlmodel.flavor(FLAVOR_NAME)
    model_class = conf.get("model_class") or BOOSTER
    file = model_dir.model_file(path, conf.get("data"), "lightgbm.data")
    if not file.is_file():
        raise InvalidParameterValue(f"The LightGBM model file {str(file)!r} is missing.", path=str(file))
    if model_class == BOOSTER:
        try:
            return lightgbm.Booster(model_file=str(file))
        except lightgbm.basic.LightGBMError as exc:
            raise InvalidParameterValue(f"LightGBM cannot read {str(file)!r}: {exc}", path=str(file)) from exc
    if model_class not in SKLEARN_CLASSES:
        raise InvalidParameterValue(
            f"The lightgbm model at {str(path)!r} names model_class {model_class!r}, which is not one of "
            f"LightGBM's model classes ({BOOSTER}, {', '.join(SKLEARN_CLASSES)}); nothing else is loaded.",
            path=str(path),
        )
    model = load_file(file, conf.get("serialization_format") or "cloudpickle", conf.get("skops_trusted_types"))
    if _class_name(model) != model_class:
        raise InvalidParameterValue(
            f"{str(file)!r} holds a {_class_name(model)}, not the {model_class} its MLmodel names.", path=str(file)
        )
    return model


class LightGBMImpl:
    """The loaded model behind `registry.pyfunc.PyFuncModel`: ``model.predict(data)``, as MLflow's
    LightGBM wrapper calls it (inference params are not passed on, as there)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.model.predict(as_matrix(data, self.model))

    def unwrap(self) -> Any:
        return self.model


def load_pyfunc(path: Path, mlmodel: MLmodel, model_config: Mapping[str, Any] | None = None) -> LightGBMImpl:
    """Load for pyfunc: the LightGBM model, predicting as MLflow's wrapper does."""
    return LightGBMImpl(load_native(path, mlmodel))


FLAVOR = Flavor(
    name=FLAVOR_NAME,
    loader_module=LOADER_MODULE,
    load_pyfunc=load_pyfunc,
    load_model=load_native,
    save=save,
    libraries=("lightgbm",),
    extra=EXTRA,
)
"""The ``lightgbm`` flavor (registered under ``registry.flavors``)."""
