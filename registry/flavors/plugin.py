"""What a flavor is: a `Flavor` object, registered under the entry-point group ``registry.flavors``.

A flavor knows one MLflow on-disk layout: its name (the key under ``flavors:`` in ``MLmodel``), the
``python_function`` ``loader_module`` it answers to (MLflow's module name, so directories cross both ways), how
to load a directory for `registry.pyfunc.load_model()` and as the library's own object, how to save one,
and which library it needs. The library is imported only inside those functions, so registering a flavor
costs nothing until a model of that flavor is saved or loaded; `Flavor.require()` turns its absence into
one clear `MissingDependency` naming the extra to install.

A third party publishes a flavor by exposing a `Flavor` object in its own package and naming it in its
distribution's metadata (``docs/guides/flavors.md`` shows the ``pyproject.toml`` lines)::

    [project.entry-points."registry.flavors"]
    catboost = "my_package.registry_flavor:FLAVOR"
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from registry.errors import InvalidParameterValue, MissingDependency

if TYPE_CHECKING:
    from registry.models.mlmodel import MLmodel

__all__ = ["ENTRY_POINT_GROUP", "Flavor", "PyFuncImpl", "require_library"]

ENTRY_POINT_GROUP = "registry.flavors"


class PyFuncImpl(Protocol):
    """What a flavor's ``load_pyfunc`` returns: the model behind `registry.pyfunc.PyFuncModel`."""

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict for ``data`` (already checked against the signature); ``params`` are the checked params."""
        ...

    def unwrap(self) -> Any:
        """The underlying object (what ``PyFuncModel.get_raw_model()`` returns)."""
        ...


def require_library(module: str, *, flavor: str, extra: str | None, purpose: str) -> None:
    """Raise `MissingDependency` unless ``module`` can be imported (without importing it).

    Raises:
        MissingDependency: naming the flavor, the library and the extra that installs it.
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return
    install = f"pip install 'mlregistry[{extra}]'" if extra else f"pip install {module}"
    raise MissingDependency(
        f"The {flavor} flavor needs the {module!r} library to {purpose}, and it is not installed. "
        f"Install it with: {install}.",
        flavor=flavor,
        library=module,
        extra=extra,
    )


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _optional_strings(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _name(_instance: Any, attribute: attrs.Attribute[str], value: Any) -> None:
    if not isinstance(value, str) or not value or value != value.strip():
        raise InvalidParameterValue(f"Flavor.{attribute.name} must be a non-empty string, got {value!r}.")


@attrs.frozen
class Flavor:
    """One model flavor, as a plugin: how its directories are saved and loaded without MLflow.

    Attributes:
        name: the flavor's key in ``MLmodel`` (``"onnx"``); also the entry point's name.
        loader_module: the ``python_function`` ``loader_module`` its directories carry (``"mlflow.onnx"``).
            Only directories naming the ``loader_module`` of a registered flavor are loaded; the name is never
            imported.
        load_pyfunc: ``load_pyfunc(path, mlmodel, model_config) -> PyFuncImpl`` for ``pyfunc.load_model``.
            ``path`` is the verified model folder; every file it opens must come from
            `registry.models.model_dir.model_file()` (the path rule).
        load_model: ``load_model(path, mlmodel) -> object``: the library's own object (an ``onnx.ModelProto``,
            an ``xgboost.Booster``, ...), for ``registry.<flavor>.load_model``; ``None`` if there is none.
        save: ``save(path, model, **options) -> MLmodel``: write ``model`` into the new, empty folder ``path``
            (ending with `registry.models.model_dir.write_common()`); ``None`` for load-only flavors.
        libraries: the import names of the libraries it needs to load for prediction (``("onnxruntime",)``),
            checked by `require()` before anything is opened.
        save_libraries: the libraries it needs to save (default: ``libraries``).
        model_libraries: the libraries ``load_model`` needs (default: ``libraries``).
        extra: the ``mlregistry`` extra that installs them (``"onnx"``), named in the error when one is missing.
        path_fields: the fields of its own ``MLmodel`` section that name files (checked by the path rule before
            any loader runs; ``data`` and ``code`` are always checked).
    """

    name: str = attrs.field(validator=_name)
    loader_module: str = attrs.field(validator=_name)
    load_pyfunc: Callable[[Path, MLmodel, Mapping[str, Any] | None], PyFuncImpl]
    load_model: Callable[[Path, MLmodel], Any] | None = None
    save: Callable[..., MLmodel] | None = None
    libraries: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    save_libraries: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    model_libraries: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    extra: str | None = None
    path_fields: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def require(self, action: Literal["predict", "load", "save"] = "predict") -> None:
        """Check that the libraries this flavor needs to ``predict`` (``load_pyfunc``), ``load``
        (``load_model``) or ``save`` can be imported, without importing them.

        Raises:
            MissingDependency: naming the first missing library and the extra to install.
        """
        chosen = {"save": self.save_libraries, "load": self.model_libraries}.get(action)
        purpose = {"save": "save a model", "load": "load a model", "predict": "load a model for prediction"}[action]
        for library in self.libraries if chosen is None else chosen:
            require_library(library, flavor=self.name, extra=self.extra, purpose=purpose)
