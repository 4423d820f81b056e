"""The ``MLmodel`` document: the YAML file at the top of every model directory, as MLflow writes it.

Pure: this module parses and serializes text and never touches files or the clock (callers pass the creation
time). Fields MLflow writes that this library has no use for (``mlflow_version``, ``model_id``, ``prompts``,
``run_id``, ...) are kept in ``extra`` and written back unchanged, so a directory written by MLflow keeps
its meaning after passing through here.

An example, for a ``python_function`` model::

    flavors:
      python_function:
        loader_module: mlflow.pyfunc.model
        python_model: python_model.pkl
        artifacts: {thresholds: {path: artifacts/thresholds.json, uri: thresholds.json}}
        env: {conda: conda.yaml, virtualenv: python_env.yaml}
    model_uuid: 7cb42af2bb0948e38fa01eec2300b6ef
    utc_time_created: '2026-11-21 21:30:12.528938'
    signature: {inputs: '[...]', outputs: null, params: null}
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import attrs
import yaml

from registry.errors import InvalidParameterValue
from registry.models.signature import ModelSignature

__all__ = ["PYFUNC_FLAVOR", "MLmodel", "format_utc_time"]

# libyaml's C parser when PyYAML was built with it: the pure-Python one dominates a warm model load.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

PYFUNC_FLAVOR = "python_function"

_KNOWN = (
    "flavors",
    "model_uuid",
    "utc_time_created",
    "signature",
    "saved_input_example_info",
    "metadata",
    "model_size_bytes",
)


def format_utc_time(moment: _dt.datetime) -> str:
    """MLflow's spelling of the creation time: ``'YYYY-MM-DD HH:MM:SS.ffffff'`` in UTC, no zone suffix."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _dict(value: Any) -> dict[str, Any]:
    return dict(value or {})


def _optional_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


@attrs.frozen
class MLmodel:
    """One ``MLmodel`` document.

    Attributes:
        flavors: flavor name -> that flavor's configuration (``python_function``, ``sklearn``, ...).
        model_uuid: a hex UUID naming this model directory.
        utc_time_created: MLflow's time string (see `format_utc_time()`).
        signature: the model's `ModelSignature`, if it has one.
        saved_input_example_info: where the input example lives and how it is encoded.
        metadata: free-form user metadata.
        model_size_bytes: the size of the directory's files when saved.
        extra: every other top-level field, kept as read.
    """

    flavors: dict[str, dict[str, Any]] = attrs.field(factory=dict, converter=_dict)
    model_uuid: str | None = None
    utc_time_created: str | None = None
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = attrs.field(default=None, converter=_optional_dict)
    metadata: dict[str, Any] | None = attrs.field(default=None, converter=_optional_dict)
    model_size_bytes: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, converter=_dict)

    def flavor(self, name: str) -> dict[str, Any]:
        """The configuration of flavor ``name``.

        Raises:
            InvalidParameterValue: when the model has no such flavor; the message lists the ones it has.
        """
        try:
            return dict(self.flavors[name])
        except KeyError:
            have = ", ".join(sorted(self.flavors)) or "none"
            raise InvalidParameterValue(f"This model has no {name!r} flavor (it has: {have}).", flavor=name) from None

    def with_flavor(self, name: str, **config: Any) -> MLmodel:
        """A copy with flavor ``name`` set to ``config``."""
        return attrs.evolve(self, flavors={**self.flavors, name: config})

    def to_dict(self) -> dict[str, Any]:
        """The document as plain data, signature in MLflow's JSON-strings form; unset fields are left out."""
        data: dict[str, Any] = dict(self.extra)
        data["flavors"] = {k: dict(v) for k, v in self.flavors.items()}
        for key in (
            "model_uuid",
            "utc_time_created",
            "saved_input_example_info",
            "metadata",
            "model_size_bytes",
        ):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.signature is not None:
            data["signature"] = self.signature.to_dict()
        return data

    def to_yaml(self) -> str:
        """The document as YAML text, keys sorted as MLflow writes them."""
        return yaml.dump(self.to_dict(), Dumper=_Dumper, default_flow_style=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MLmodel:
        """Build from plain data (as read from YAML).

        Raises:
            InvalidParameterValue: when ``flavors`` is missing or a field has the wrong shape.
        """
        if not isinstance(data, Mapping):
            raise InvalidParameterValue("An MLmodel document must be a YAML mapping.")
        flavors = data.get("flavors")
        if not isinstance(flavors, Mapping) or not all(isinstance(v, Mapping) for v in flavors.values()):
            raise InvalidParameterValue("An MLmodel document needs a 'flavors' mapping of flavor -> config.")
        signature = data.get("signature")
        if signature is not None and not isinstance(signature, Mapping):
            raise InvalidParameterValue("The MLmodel 'signature' must be a mapping of inputs/outputs/params.")
        size = data.get("model_size_bytes")
        for key in ("saved_input_example_info", "metadata"):
            if data.get(key) is not None and not isinstance(data[key], Mapping):
                raise InvalidParameterValue(f"The MLmodel field {key!r} must be a mapping.")
        created = data.get("utc_time_created")
        return cls(
            flavors={str(k): dict(v) for k, v in flavors.items()},
            model_uuid=str(data["model_uuid"]) if data.get("model_uuid") is not None else None,
            utc_time_created=str(created) if created is not None else None,
            signature=ModelSignature.from_dict(signature) if signature else None,
            saved_input_example_info=data.get("saved_input_example_info"),
            metadata=data.get("metadata"),
            model_size_bytes=int(size) if isinstance(size, int | float) and math.isfinite(size) else None,
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    @classmethod
    def from_yaml(cls, text: str) -> MLmodel:
        """Parse ``MLmodel`` text.

        Raises:
            InvalidParameterValue: when the text is not YAML or not an MLmodel document; the message says why.
        """
        try:
            data = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise InvalidParameterValue(f"The MLmodel file is not valid YAML: {exc}") from None
        return cls.from_dict(data)
