"""The files every MLflow model directory shares: ``MLmodel``, environment files and the input example.

Flavors write their serialized model and then call `write_common()` to add the rest in MLflow's layout:
``requirements.txt``, ``python_env.yaml``, ``conda.yaml``, ``input_example.json``,
``serving_input_example.json`` and finally ``MLmodel`` (last, so a directory with an ``MLmodel`` is complete).

**The path rule.** Every file a loader opens is named by a field of ``MLmodel`` (``python_model``,
``model_path``, ``pickled_model``, ``artifacts.<name>.path``, ``data`` and ``code`` in any flavor's section,
the input example's ``artifact_path``, and the fields a flavor plugin declares) and goes through
`model_file()`, which accepts only a relative path that stays inside the model's folder: no absolute path,
no drive or UNC prefix, no ``..`` component, and nothing that resolves outside the folder through a link.
`read_mlmodel()` checks every such field (`check_model_paths()`) before a loader runs, so a document
pointing outside is refused with `ArtifactVerificationError` naming the field,
whatever the loader would have done.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from registry.errors import (
    ArtifactVerificationError,
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.models.mlmodel import MLmodel, format_utc_time
from registry.models.signature import ModelSignature, _is_dataframe, _is_ndarray, infer_signature

__all__ = [
    "INPUT_EXAMPLE",
    "MLMODEL",
    "SERVING_INPUT_EXAMPLE",
    "artifact_files",
    "check_model_paths",
    "load_input_example",
    "model_file",
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


_DRIVE = re.compile(r"^[A-Za-z]:")


def _outside(root: Path, field: str, value: Any, why: str) -> ArtifactVerificationError:
    return ArtifactVerificationError(
        f"The MLmodel field '{field}' of the model at {str(root)!r} is {value!r}, which {why}. A model may only "
        "name files inside its own folder, by relative paths; nothing outside it is read. Do not load this "
        "model, or fix the field and re-register it.",
        path=str(root),
        field=field,
    )


def model_file(root: str | os.PathLike[str], value: Any, field: str) -> Path:
    """The path of the file (or folder) ``value`` names inside the model folder ``root``.

    ``field`` is the MLmodel field ``value`` came from (``python_model``, ``artifacts.cfg.path``, ...), for
    the error message. See the module docstring for the rule.

    Raises:
        ArtifactVerificationError: ``value`` is not a non-empty string, is absolute, has a ``..`` component,
            or resolves outside ``root``; the error's ``field`` names the field.
    """
    base = Path(root)
    if not isinstance(value, str) or not value:
        raise _outside(base, field, value, "is not a relative path")
    if "\x00" in value:
        raise _outside(base, field, value, "holds a NUL character")
    if os.path.isabs(value) or value.startswith(("/", "\\")) or _DRIVE.match(value):
        raise _outside(base, field, value, "is an absolute path")
    if ".." in re.split(r"[/\\]", value):
        raise _outside(base, field, value, "climbs out with '..'")
    candidate = base / value
    real_root = os.path.realpath(base)
    real = os.path.realpath(candidate)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise _outside(base, field, value, f"resolves outside the model folder (to {real!r})")
    return candidate


def artifact_files(root: str | os.PathLike[str], conf: dict[str, Any]) -> dict[str, Path]:
    """Artifact name -> its file inside ``root``, from a ``python_function`` flavor's ``artifacts`` field.

    Raises:
        ArtifactVerificationError: an artifact's ``path`` leads outside ``root``.
        InvalidParameterValue: ``artifacts`` is not a mapping of name -> ``{path: ...}``.
    """
    artifacts = conf.get("artifacts")
    if artifacts is None:
        return {}
    if not isinstance(artifacts, dict):
        raise InvalidParameterValue("The MLmodel field 'artifacts' must be a mapping of name -> {path: ...}.")
    found = {}
    for name, info in artifacts.items():
        if not isinstance(info, dict) or "path" not in info:
            raise InvalidParameterValue(f"The MLmodel field 'artifacts.{name}' must be a mapping with a 'path'.")
        found[str(name)] = model_file(root, info["path"], f"artifacts.{name}.path")
    return found


# Fields that name files in MLflow's flavors (``data`` and ``code`` in every flavor MLflow writes); checked in
# every flavor section present, whichever flavor is loaded.
_FILE_FIELDS = ("python_model", "model_path", "pickled_model", "data", "code")


def _path_fields(mlmodel: MLmodel) -> list[tuple[str, Any]]:
    """(field, value) of every single-path field a loader of this library may open."""
    found: list[tuple[str, Any]] = []
    for flavor, conf in mlmodel.flavors.items():
        if not isinstance(conf, dict):
            continue
        # the python_function and sklearn fields keep their bare names, as errors have always named them
        prefix = "" if flavor in ("python_function", "sklearn") else f"{flavor}."
        for key in _FILE_FIELDS:
            if conf.get(key) is not None:
                found.append((f"{prefix}{key}", conf[key]))
    example = mlmodel.saved_input_example_info or {}
    for key in ("artifact_path", "serving_input_path"):
        if example.get(key) is not None:
            found.append((f"saved_input_example_info.{key}", example[key]))
    return found


def check_model_paths(root: str | os.PathLike[str], mlmodel: MLmodel) -> None:
    """Apply `model_file()` to every path field of ``mlmodel`` (see the module docstring).

    Raises:
        ArtifactVerificationError: a field names something outside ``root``.
        InvalidParameterValue: a field that holds paths has the wrong shape.
    """
    for field, value in _path_fields(mlmodel):
        model_file(root, value, field)
    artifact_files(root, mlmodel.flavors.get("python_function") or {})


def read_mlmodel(path: str | os.PathLike[str]) -> MLmodel:
    """Read ``<path>/MLmodel`` and check that every file it names lies inside ``path``.

    Raises:
        ResourceDoesNotExist: when the folder has no ``MLmodel`` file (it is not a model directory).
        InvalidParameterValue: when the file is not a valid MLmodel document.
        ArtifactVerificationError: when a path field of the document points outside ``path``.
    """
    file = model_file(path, MLMODEL, MLMODEL)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not Path(path).exists():
            raise ResourceDoesNotExist(f"Model directory {str(path)!r} does not exist.", path=str(path)) from None
        raise ResourceDoesNotExist(
            f"{str(path)!r} is not a model directory: it has no MLmodel file. Pass the folder that "
            "pyfunc.save_model (or mlflow.*.save_model) wrote.",
            path=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameterValue(
            f"The MLmodel file in {str(path)!r} cannot be read: {exc}.", path=str(path)
        ) from None
    mlmodel = MLmodel.from_yaml(text)
    check_model_paths(path, mlmodel)
    return mlmodel


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
    file = model_file(path, info.get("artifact_path", INPUT_EXAMPLE), "saved_input_example_info.artifact_path")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidParameterValue(f"The input example {str(file)!r} cannot be read: {exc}.", path=str(file)) from None
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
