"""The files every MLflow model directory shares: ``MLmodel``, environment files and the input example.

Flavors write their serialized model and then call :func:`write_common` to add the rest in MLflow's layout:
``requirements.txt``, ``python_env.yaml``, ``conda.yaml``, ``input_example.json``,
``serving_input_example.json`` and finally ``MLmodel`` (last, so a directory with an ``MLmodel`` is complete).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from registry.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from registry.models.mlmodel import MLmodel, format_utc_time
from registry.models.signature import ModelSignature, _is_dataframe, _is_ndarray, infer_signature

__all__ = [
    "INPUT_EXAMPLE",
    "MLMODEL",
    "SERVING_INPUT_EXAMPLE",
    "load_input_example",
    "new_model_dir",
    "read_mlmodel",
    "write_common",
]

MLMODEL = "MLmodel"
INPUT_EXAMPLE = "input_example.json"
SERVING_INPUT_EXAMPLE = "serving_input_example.json"
ENV = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}


def new_model_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` for a new model (it may exist only as an empty folder), as MLflow insists.

    Raises:
        ResourceAlreadyExists: when ``path`` already holds files.
    """
    p = Path(path)
    if p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise ResourceAlreadyExists(
            f"Model path {str(p)!r} already exists and is not empty; save into a new folder.", path=str(p)
        )
    p.mkdir(parents=True, exist_ok=True)
    return p


def read_mlmodel(path: str | os.PathLike[str]) -> MLmodel:
    """Read ``<path>/MLmodel``.

    Raises:
        ResourceDoesNotExist: when the folder has no ``MLmodel`` file (it is not a model directory).
        InvalidParameterValue: when the file is not a valid MLmodel document.
    """
    file = Path(path) / MLMODEL
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResourceDoesNotExist(
            f"{str(path)!r} is not a model directory: it has no MLmodel file. Pass the folder that "
            "pyfunc.save_model (or mlflow.*.save_model) wrote.",
            path=str(path),
        ) from None
    return MLmodel.from_yaml(text)


def _version_of(dist: str) -> str | None:
    from importlib import metadata as _metadata  # slow to import; only saving needs it

    try:
        return _metadata.version(dist)
    except _metadata.PackageNotFoundError:
        return None


def _env_files(path: Path, requirements: Sequence[str]) -> None:
    import platform  # slow to import; only saving needs it

    (path / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
    pip, setuptools = _version_of("pip"), _version_of("setuptools")
    python_env = {
        "python": platform.python_version(),
        "build_dependencies": [
            f"pip=={pip}" if pip else "pip",
            f"setuptools=={setuptools}" if setuptools else "setuptools",
            "wheel",
        ],
        "dependencies": ["-r requirements.txt"],
    }
    (path / ENV["virtualenv"]).write_text(yaml.safe_dump(python_env, sort_keys=False), encoding="utf-8")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={platform.python_version()}",
            f"pip<={pip}" if pip else "pip",
            {"pip": list(requirements)},
        ],
        "name": "mlflow-env",
    }
    (path / ENV["conda"]).write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()  # numpy arrays and scalars
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _save_input_example(path: Path, example: Any) -> dict[str, Any]:
    """Write the example in MLflow's encodings; returns ``saved_input_example_info``."""
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE, "serving_input_path": SERVING_INPUT_EXAMPLE}
    if _is_dataframe(example):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        payload: Any = {"columns": split["columns"], "data": split["data"]}
        serving: Any = {"dataframe_split": payload}
        info.update(type="dataframe", pandas_orient="split")
    elif _is_ndarray(example) or (
        isinstance(example, Mapping) and example and all(_is_ndarray(v) for v in example.values())
    ):
        payload = example.tolist() if _is_ndarray(example) else {k: v.tolist() for k, v in example.items()}
        serving = {"inputs": payload}
        info["type"] = "ndarray"
    else:
        payload, serving = example, {"inputs": example}
        info["type"] = "json_object"
    try:
        (path / INPUT_EXAMPLE).write_text(json.dumps(payload, default=_json_default), encoding="utf-8")
        (path / SERVING_INPUT_EXAMPLE).write_text(
            json.dumps(serving, default=_json_default, indent=2), encoding="utf-8"
        )
    except TypeError as exc:
        raise InvalidParameterValue(f"The input example cannot be saved as JSON: {exc}.") from None
    return info


def load_input_example(path: str | os.PathLike[str], mlmodel: MLmodel | None = None) -> Any:
    """The saved input example (``None`` if the model has none).

    A ``dataframe`` example comes back as a pandas DataFrame when pandas is installed (else as a dict with
    ``columns`` and ``data``), an ``ndarray`` example as a numpy array when numpy is installed (else as lists),
    and a ``json_object`` example as the JSON value that was saved.
    """
    mlmodel = mlmodel if mlmodel is not None else read_mlmodel(path)
    info = mlmodel.saved_input_example_info
    if not info:
        return None
    data = json.loads((Path(path) / info.get("artifact_path", INPUT_EXAMPLE)).read_text(encoding="utf-8"))
    kind = info.get("type")
    if kind == "dataframe":
        try:
            import pandas as pd
        except ImportError:
            return data
        if info.get("pandas_orient", "split") == "split":
            return pd.DataFrame(data["data"], columns=data["columns"])
        return pd.DataFrame(data)
    if kind == "ndarray":
        try:
            import numpy as np
        except ImportError:
            return data
        if isinstance(data, dict):
            return {k: np.asarray(v) for k, v in data.items()}
        return np.asarray(data)
    return data


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def write_common(
    path: Path,
    *,
    flavors: Mapping[str, Mapping[str, Any]],
    requirements: Iterable[str],
    signature: ModelSignature | None = None,
    input_example: Any = None,
    metadata: Mapping[str, Any] | None = None,
    now: _dt.datetime | None = None,
) -> MLmodel:
    """Write the environment files, the input example and (last) ``MLmodel``; returns the document.

    A signature is inferred from the input example (inputs only) when none is given, as MLflow does.
    """
    _env_files(path, list(dict.fromkeys(requirements)))
    example_info = None
    if input_example is not None:
        example_info = _save_input_example(path, input_example)
        if signature is None:
            signature = infer_signature(input_example)
    env = {"env": dict(ENV)}
    flavors = {name: {**conf, **env} if name == "python_function" else dict(conf) for name, conf in flavors.items()}
    doc = MLmodel(
        flavors=flavors,
        model_uuid=uuid.uuid4().hex,
        utc_time_created=format_utc_time(now or _dt.datetime.now(_dt.UTC)),
        signature=signature,
        saved_input_example_info=example_info,
        metadata=dict(metadata) if metadata else None,
        model_size_bytes=_dir_size(path),
    )
    (path / MLMODEL).write_text(doc.to_yaml(), encoding="utf-8")
    return doc
