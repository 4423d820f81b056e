"""Save and load models in MLflow's ``python_function`` format, without MLflow (MLflow's ``mlflow.pyfunc``).

>>> from registry import pyfunc
>>> class Doubler(pyfunc.PythonModel):
...     def predict(self, context, model_input, params=None):
...         return [2 * x for x in model_input]
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "doubler")
>>> _ = pyfunc.save_model(path, python_model=Doubler(), input_example=[1.0, 2.0])
>>> pyfunc.load_model(path).predict([3.0])
[6.0]

Directories written here load in real MLflow (``mlflow.pyfunc.load_model``), and directories MLflow wrote
(a ``PythonModel``, or scikit-learn in the pickle, cloudpickle or, with skops installed, skops format) load
here. ``load_model`` accepts a path, a ``file:`` URI, or ``models:/<name>/<version|stage|latest>`` and
``models:/<name>@<alias>`` against the default registry (or ``registry=``).

**Security: loading a model runs code.** Models are pickles, and unpickling can execute anything the file
says. Load only models you trust. For a registered version, the registry first checks every file against the
sha256 digests recorded when the version was created and refuses a directory that changed; that proves the
files are the ones registered, not that the people who registered them meant well. Only the loaders on the
allow-list in :mod:`registry.flavors` are used; a ``loader_module`` named in a model directory is never imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from registry.defaults import registry_for_uri
from registry.flavors import pyfunc as _impl
from registry.flavors.model_api import PythonModel, PythonModelContext
from registry.flavors.pyfunc import PyFuncModel, save_model

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = ["PyFuncModel", "PythonModel", "PythonModelContext", "load_model", "save_model"]


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    registry: Registry | None = None,
    model_config: Mapping[str, Any] | None = None,
) -> PyFuncModel:
    """Load a model for prediction.

    Args:
        model_uri: a local path, a ``file:`` URI, or a ``models:/`` URI (``/3``, ``/Production``, ``/latest``,
            ``@champion``).
        registry: the registry ``models:/`` URIs refer to (default: :func:`registry.default_registry`).
        model_config: handed to the model as ``context.model_config``.

    **Runs code**: the model is unpickled. A registered version's files are verified against their recorded
    digests first.

    Raises:
        ArtifactVerificationError: a registered version's files were changed after registration.
        ResourceDoesNotExist: no such model, version, alias or directory.
        InvalidParameterValue: a malformed URI, a ``runs:/`` URI, or a loader not on the allow-list.
    """
    return _impl.load_model(model_uri, registry=registry_for_uri(model_uri, registry), model_config=model_config)
