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
(a ``PythonModel``; scikit-learn in the pickle, cloudpickle or, with skops installed, skops format; ONNX,
XGBoost and LightGBM with their libraries installed: see `registry.onnx`, ...) load here. ``load_model``
accepts a path, a ``file:`` URI, or ``models:/<name>/<version|stage|latest>`` and ``models:/<name>@<alias>``
against the default registry (or ``registry=``).

**Security: loading a model runs code.** Models are pickles, and unpickling can execute anything the file
says. Load only models you trust. For a registered version, the registry first checks every file against the
sha256 digests recorded when the version was created and refuses a directory that changed; that proves the
files are the ones registered, not that the people who registered them meant well. Only the loaders of the
flavors registered in `registry.flavors` are used; a ``loader_module`` named in a model directory is never
imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from registry.defaults import registry_for, registry_for_uri
from registry.flavors import pyfunc as _impl
from registry.flavors.model_api import PythonModel, PythonModelContext
from registry.flavors.model_info import ModelInfo, logged_name
from registry.flavors.pyfunc import PyFuncModel, save_model
from registry.models.signature import ModelSignature

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = ["ModelInfo", "PyFuncModel", "PythonModel", "PythonModelContext", "load_model", "log_model", "save_model"]


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
        registry: the registry ``models:/`` URIs refer to (default: `registry.default_registry()`).
        model_config: handed to the model as ``context.model_config``.

    **Runs code**: the model is unpickled. A registered version's files are verified against their recorded
    digests first.

    Raises:
        ArtifactVerificationError: a registered version's files were changed after registration.
        ResourceDoesNotExist: no such model, version, alias or directory.
        InvalidParameterValue: a malformed URI, a ``runs:/`` URI, or a loader no registered flavor answers to.
    """
    return _impl.load_model(model_uri, registry=registry_for_uri(model_uri, registry), model_config=model_config)


def log_model(
    name: str | None = None,
    python_model: PythonModel | None = None,
    *,
    artifact_path: str | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    await_registration_for: int | None = None,
    tags: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> ModelInfo:
    """Save ``python_model`` and register it as a new version, as ``mlflow.pyfunc.log_model`` does.

    ``name`` (MLflow 3) or ``artifact_path`` (MLflow 2) names the logged model; ``registered_model_name`` is the
    registered model the version goes to (default: ``name``, since there is no run to log it into here). The
    version is created in ``registry`` or the default registry (``$REGISTRY_URI`` / ``set_registry_uri``).
    ``await_registration_for`` is accepted and ignored: registration is done when this returns. Returns a
    `ModelInfo` whose ``model_uri`` is the new version's ``models:/`` URI.

    Raises:
        InvalidParameterValue: no name at all, two different names, or what ``save_model`` refuses.
    """
    del await_registration_for  # registration is synchronous here
    logged = logged_name(name, artifact_path, registered_model_name)
    requirements = [*(pip_requirements or ()), *(extra_pip_requirements or ())] or None
    _mv, info = registry_for(registry).log_model_info(
        python_model,
        name=logged,
        registered_model_name=registered_model_name or logged,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=requirements,
        code_paths=code_paths,
        metadata=metadata,
        tags=tags,
    )
    return info  # type: ignore[no-any-return]
