"""Loading and saving through the registered flavors: one place where a model directory meets flavor code.

Every load goes: read ``MLmodel`` (which applies the path rule to the fields every MLflow flavor shares) ->
find the flavor among the registered ones (never by importing a name the directory gives) -> apply the path
rule to the fields that flavor declares -> check that its library is installed -> run its loader with
bytecode writing off. Every save goes into a new, empty folder that is removed again if the flavor fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidParameterValue
from registry.flavors import flavor_named, loader_for
from registry.flavors.plugin import Flavor, PyFuncImpl
from registry.models import model_dir
from registry.models.mlmodel import PYFUNC_FLAVOR, MLmodel

if TYPE_CHECKING:
    from registry.models.resolve import ModelResolver

__all__ = ["check_flavor_paths", "load_flavor_model", "load_pyfunc_dir", "save_flavor"]


def check_flavor_paths(path: Path, mlmodel: MLmodel, flavor: Flavor) -> None:
    """Apply the path rule (`model_file()`) to the fields ``flavor`` declares.

    Raises:
        ArtifactVerificationError: a field names something outside ``path``.
    """
    conf = mlmodel.flavors.get(flavor.name) or {}
    for field in flavor.path_fields:
        if conf.get(field) is not None:
            model_dir.model_file(path, conf[field], f"{flavor.name}.{field}")


@contextmanager
def _no_bytecode() -> Iterator[None]:
    # No .pyc files inside a registered version's folder: they would be "extra files" to the next verification.
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = previous


def load_pyfunc_dir(path: Path, model_config: Mapping[str, Any] | None) -> tuple[MLmodel, PyFuncImpl]:
    """Load the model directory ``path`` for prediction through the flavor its ``loader_module`` names.

    Raises:
        InvalidParameterValue: no ``python_function`` flavor, or a loader no registered flavor answers to.
        ArtifactVerificationError: a file field leads outside ``path``.
        MissingDependency: the flavor's library is not installed.
    """
    mlmodel = model_dir.read_mlmodel(path)
    flavor = loader_for(mlmodel.flavor(PYFUNC_FLAVOR).get("loader_module"))
    check_flavor_paths(path, mlmodel, flavor)
    flavor.require()
    with _no_bytecode():
        return mlmodel, flavor.load_pyfunc(path, mlmodel, model_config)


def load_flavor_model(
    model_uri: str | os.PathLike[str], flavor_name: str, *, registry: ModelResolver | None = None
) -> Any:
    """The flavor's own object (``registry.<flavor>.load_model``) from a model directory or URI.

    A registered version's files are verified against their digests first.

    Raises:
        InvalidParameterValue: the directory has no ``flavor_name`` section (it was saved in another flavor).
        MissingDependency: the flavor's library is not installed.
    """
    from registry.models.resolve import resolve_local_model

    path = resolve_local_model(model_uri, registry=registry)
    mlmodel = model_dir.read_mlmodel(path)
    mlmodel.flavor(flavor_name)  # refuses a directory of another flavor, naming the ones it has
    flavor = flavor_named(flavor_name)
    if flavor.load_model is None:
        raise InvalidParameterValue(
            f"The {flavor_name} flavor has no native object to load; use registry.pyfunc.load_model.",
        )
    check_flavor_paths(path, mlmodel, flavor)
    flavor.require("load")
    with _no_bytecode():
        return flavor.load_model(path, mlmodel)


def save_flavor(path: str | os.PathLike[str], flavor_name: str, model: Any, **options: Any) -> MLmodel:
    """Save ``model`` with the registered flavor ``flavor_name`` into ``path`` (a new or empty folder).

    Raises:
        ResourceAlreadyExists: ``path`` exists and is not empty.
        MissingDependency: the flavor's library is not installed (nothing is created then).
        InvalidParameterValue: the flavor cannot save, or refuses the model or an option.
    """
    flavor = flavor_named(flavor_name)
    if flavor.save is None:
        raise InvalidParameterValue(f"The {flavor_name} flavor only loads models; it cannot save one.")
    flavor.require("save")
    target = model_dir.new_model_dir(path)
    try:
        return flavor.save(target, model, **options)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half-written model directory is left behind
        raise
