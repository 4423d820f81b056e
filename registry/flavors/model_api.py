"""What users subclass: `PythonModel`, and the `PythonModelContext` it is loaded with.

Apart from the flavor's saving and loading (`registry.flavors.python_model`) so that the pickler
(`registry.flavors.pickling`), which must recognise this base class, and the flavor can both import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


class PythonModelContext:
    """What `PythonModel.load_context()` receives: artifact paths and the model configuration."""

    def __init__(self, artifacts: Mapping[str, str], model_config: Mapping[str, Any] | None) -> None:
        self._artifacts = dict(artifacts)
        self._model_config = dict(model_config) if model_config is not None else None

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name -> absolute local path of its copy inside the model directory."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any] | None:
        """The configuration passed to ``load_model(..., model_config=...)``, if any."""
        return self._model_config

    def __repr__(self) -> str:
        return f"PythonModelContext(artifacts={self._artifacts!r}, model_config={self._model_config!r})"


class PythonModel:
    """Base class of custom models: subclass it and implement `predict()`.

    Preprocessing and postprocessing belong in the subclass, so they travel with the model. Files the model
    needs (thresholds, vocabularies, weights) are passed as ``artifacts`` when saving and found again in
    ``context.artifacts`` in `load_context()`.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once when the model is loaded, before any prediction; read artifacts here."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Return predictions for ``model_input``; ``params`` are the inference parameters, if any."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict(context, model_input, params)")
