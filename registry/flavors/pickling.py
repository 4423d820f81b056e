"""Pickling models so that real MLflow can load them, and unpickling MLflow's pickles without MLflow.

**Loading a pickle runs code.** A pickle can make Python do anything while it is read; only load models from
a source you trust. The registry checks a registered version's sha256 digests before it unpickles anything,
which proves the files are the ones registered, not that they are safe.

Two mappings make pickles travel in both directions:

* When a `PythonModel` subclass is pickled by value (defined in
  ``__main__`` or a notebook), its base class is written as a reference to MLflow's
  ``mlflow.pyfunc.model.PythonModel``, so MLflow loads it as one of its own; this library maps that reference
  back to its own base class when loading.
* A pickle MLflow wrote refers to ``mlflow.*`` names (its ``PythonModel`` base, and helpers of the validation
  wrapper MLflow puts around ``predict``). Without importing MLflow, the base class maps to ours, every other
  ``mlflow.*`` name to an inert stand-in, and the wrapper is peeled off so ``predict`` is the user's own.

Pickles made by cloudpickle 3 name helpers in ``cloudpickle.cloudpickle`` that cloudpickle 2 keeps in
``cloudpickle.cloudpickle_fast``; the unpickler looks there too, so either version reads the other's files.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import types
from typing import IO, Any

import cloudpickle

from registry.errors import RegistryError, ResourceDoesNotExist
from registry.flavors.model_api import PythonModel

__all__ = ["MLFLOW_PYTHON_MODEL", "dump", "dumps", "load", "load_file", "loads"]

MLFLOW_PYTHON_MODEL = ("mlflow.pyfunc.model", "PythonModel")
_MLFLOW_BASE_NAMES = {("mlflow.pyfunc.model", "PythonModel"), ("mlflow.pyfunc", "PythonModel")}


class _ModuleRef:
    """Pickles as ``importlib.import_module(name)``: a module reference that needs no stand-in to write."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (importlib.import_module, (self.name,))


class _Pickler(cloudpickle.CloudPickler):
    def reducer_override(self, obj: Any) -> Any:
        if obj is PythonModel:
            module, name = MLFLOW_PYTHON_MODEL
            return (getattr, (_ModuleRef(module), name))
        return super().reducer_override(obj)


def dump(obj: Any, file: IO[bytes]) -> None:
    """cloudpickle ``obj`` into ``file``, writing our ``PythonModel`` base as MLflow's (see module doc)."""
    _Pickler(file, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    dump(obj, buf)
    return buf.getvalue()


class MlflowStandIn:
    """Stands in for an ``mlflow.*`` object referenced by a pickle, when MLflow is not imported.

    Unpickling may build and fill one (MLflow's type-hint records ride along in its pickles); using it for
    anything else raises an error that names the missing object.
    """

    _mlflow_name = "mlflow"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RegistryError(
            f"This model calls {self._mlflow_name}, which is part of MLflow; install mlflow to run it, or "
            "save the model without depending on MLflow.",
            name=self._mlflow_name,
        )


def _stand_in(module: str, name: str) -> type:
    return type(name, (MlflowStandIn,), {"_mlflow_name": f"{module}.{name}", "__module__": module})


class _MlflowModule(types.ModuleType):
    """What ``import mlflow.x`` gives inside an MLflow pickle: our base class, or stand-ins."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if (self.__name__, name) in _MLFLOW_BASE_NAMES:
            return PythonModel
        return _stand_in(self.__name__, name)


def _is_mlflow(module: str) -> bool:
    return module == "mlflow" or module.startswith("mlflow.")


def _import_module(name: str, package: str | None = None) -> types.ModuleType:
    return _MlflowModule(name) if _is_mlflow(name) else importlib.import_module(name, package)


def _subimport(name: str) -> types.ModuleType:
    if _is_mlflow(name):
        return _MlflowModule(name)
    importlib.import_module(name)
    import sys

    return sys.modules[name]


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _MLFLOW_BASE_NAMES:
            return PythonModel
        if _is_mlflow(module):
            return _stand_in(module, name)
        if (module, name) == ("importlib", "import_module"):
            return _import_module
        if module.startswith("cloudpickle") and name == "subimport":
            return _subimport
        try:
            return super().find_class(module, name)
        except AttributeError:
            if module == "cloudpickle.cloudpickle":  # written by cloudpickle 3, read by cloudpickle 2
                return getattr(importlib.import_module("cloudpickle.cloudpickle_fast"), name)
            raise


def _peel_mlflow_wrappers(obj: Any) -> Any:
    """Replace MLflow's validation wrapper around ``predict`` with the user's own function.

    MLflow wraps ``predict`` of every ``PythonModel`` subclass (``__init_subclass__``) and the wrapper, which
    calls into MLflow, is what its pickles hold; ``functools.wraps`` kept the original as ``__wrapped__``.
    """
    base = PythonModel
    if not isinstance(obj, base):
        return obj
    for cls in type(obj).__mro__:
        if cls is base or cls is object:
            continue
        for attr in ("predict", "predict_stream"):
            fn = cls.__dict__.get(attr)
            inner = getattr(fn, "__wrapped__", None)
            if getattr(fn, "_is_pyfunc", False) and callable(inner):
                setattr(cls, attr, inner)
    return obj


def load(file: IO[bytes]) -> Any:
    """Unpickle a model written by this library, by MLflow, or by plain (cloud)pickle. Runs code."""
    return _peel_mlflow_wrappers(_Unpickler(file).load())


def loads(data: bytes) -> Any:
    return load(io.BytesIO(data))


def load_file(path: str | os.PathLike[str], field: str) -> Any:
    """Unpickle the model file ``path`` (named by the MLmodel field ``field``). Runs code.

    Raises:
        ResourceDoesNotExist: there is no such file.
        RegistryError: the file cannot be read or unpickled (not a pickle, truncated, or it needs a module that
            is not installed); the message names the file and the cause, which is chained.
    """
    try:
        with open(path, "rb") as f:
            return load(f)
    except FileNotFoundError:
        raise ResourceDoesNotExist(
            f"The model file {os.fspath(path)!r} (MLmodel field '{field}') does not exist.", path=os.fspath(path)
        ) from None
    except RegistryError:
        raise
    except Exception as exc:  # unpickling can fail in any way the bytes make it; say which file, keep the cause
        hint = " Install the module it needs." if isinstance(exc, ImportError) else ""
        raise RegistryError(
            f"Cannot load the model file {os.fspath(path)!r} (MLmodel field '{field}'): "
            f"{type(exc).__name__}: {exc}.{hint}",
            path=os.fspath(path),
        ) from exc
