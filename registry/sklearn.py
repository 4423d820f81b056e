"""scikit-learn (and any object with ``.predict``) in MLflow's ``sklearn`` layout (MLflow's ``mlflow.sklearn``).

``save_model(sk_model, path)`` writes a model directory that MLflow loads too; ``load_model(uri)`` gives the
object back from a path, a ``file:`` URI or a ``models:/`` URI (against the default registry, or ``registry=``).
scikit-learn itself is never required. **Loading runs the pickle**: load only models you trust; a registered
version's files are verified against their digests first.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from registry.defaults import registry_for_uri
from registry.flavors import sklearn as _impl

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = ["load_model"]


def load_model(model_uri: str | os.PathLike[str], *, registry: Registry | None = None) -> Any:
    """Load the model object itself (an estimator, or whatever was saved) from a model directory or URI.

    Accepts what :func:`registry.pyfunc.load_model` accepts; a registered version's digests are verified first.
    Runs the pickle: load only models you trust.
    """
    return _impl.load_model(model_uri, registry=registry_for_uri(model_uri, registry))
