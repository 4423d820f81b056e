"""Model flavors, and the allow-list that decides which loader code a model directory may run.

A model's ``MLmodel`` names a ``loader_module`` (MLflow's module names, so directories stay compatible with
MLflow). The loader never imports the named module: it looks the name up here and imports only our own
implementation for it. A directory naming anything else is refused with an error listing what is supported.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from registry.errors import InvalidParameterValue

__all__ = ["PYFUNC_LOADERS", "loader_for"]

# loader_module written in MLmodel -> our module that loads it: load_pyfunc(path, mlmodel, model_config).
PYFUNC_LOADERS: dict[str, str] = {
    "mlflow.pyfunc.model": "registry.flavors.python_model",
    "mlflow.sklearn": "registry.flavors.sklearn",
}


def loader_for(loader_module: str | None) -> ModuleType:
    """The implementation module for ``loader_module``, if it is on the allow-list.

    Raises:
        InvalidParameterValue: naming the loader and the supported ones.
    """
    target = PYFUNC_LOADERS.get(str(loader_module))
    if target is None:
        supported = ", ".join(sorted(PYFUNC_LOADERS))
        raise InvalidParameterValue(
            f"Cannot load a model whose python_function loader is {loader_module!r}: only {supported} are "
            "supported (loader modules are never imported from a model directory).",
            loader_module=loader_module,
        )
    return importlib.import_module(target)
