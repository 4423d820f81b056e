"""What the pages show about a version, read through the public client and the ``registry.models`` helpers.

A version's files are listed from its manifest (`Registry.list_model_version_files()`), and only files the
manifest lists are ever opened: the ``MLmodel`` document and the input example it names. A path written in an
``MLmodel`` file is user text, so it is looked up among the manifest's paths, never joined onto a folder as
given. Anything that cannot be read (no files in the registry, a damaged manifest, an unreadable ``MLmodel``)
becomes a message on the page, not an error page: the rest of the version is still worth seeing.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

import attrs

from registry.client import Registry
from registry.domain.entities import ModelVersion, ModelVersionFile
from registry.errors import RegistryError
from registry.models.mlmodel import MLmodel
from registry.models.model_dir import INPUT_EXAMPLE, MLMODEL, read_mlmodel
from registry.models.signature import ColSpec, ComplexType, DataType, ModelSignature, Schema

__all__ = [
    "MAX_EXAMPLE_BYTES",
    "InputExample",
    "SpecRow",
    "VersionDetails",
    "param_rows",
    "signature_rows",
    "version_details",
]

MAX_EXAMPLE_BYTES = 256 * 1024
"""An input example larger than this is not shown (the page says how large it is)."""


@attrs.frozen
class SpecRow:
    """One row of a signature table: a column, tensor or parameter."""

    name: str
    type: str
    detail: str


@attrs.frozen
class InputExample:
    """A version's input example: as a table when it is tabular, else as pretty-printed JSON."""

    kind: str
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    text: str | None = None
    message: str | None = None


@attrs.frozen
class VersionDetails:
    """Everything the version page shows beyond the `ModelVersion` itself."""

    version: ModelVersion
    files: list[ModelVersionFile]
    files_message: str | None
    mlmodel: MLmodel | None
    mlmodel_message: str | None
    example: InputExample | None

    @property
    def signature(self) -> ModelSignature | None:
        return self.mlmodel.signature if self.mlmodel is not None else None


def version_details(reg: Registry, mv: ModelVersion) -> VersionDetails:
    """Read a version's files list, ``MLmodel`` and input example (each failure becomes a message)."""
    files: list[ModelVersionFile] = []
    files_message = None
    if mv.storage_location is None:
        files_message = f"This version has no files in the registry: its source {mv.source!r} was recorded as given."
    else:
        try:
            files = reg.list_model_version_files(mv.name, mv.version)
        except RegistryError as exc:
            files_message = str(exc)
    listed = {f.path for f in files}
    mlmodel = None
    mlmodel_message = None
    if mv.storage_location is not None and not files_message:
        if MLMODEL in listed:
            try:
                mlmodel = read_mlmodel(mv.storage_location)
            except RegistryError as exc:
                mlmodel_message = str(exc)
        else:
            mlmodel_message = "This version's files have no MLmodel document."
    example = _input_example(mv, mlmodel, listed) if mlmodel is not None else None
    return VersionDetails(mv, files, files_message, mlmodel, mlmodel_message, example)


def _input_example(mv: ModelVersion, mlmodel: MLmodel, listed: set[str]) -> InputExample | None:
    info = mlmodel.saved_input_example_info
    if not info:
        return None
    kind = str(info.get("type") or "json_object")
    rel = posixpath.normpath(str(info.get("artifact_path") or INPUT_EXAMPLE))
    if rel not in listed or mv.storage_location is None:
        return InputExample(kind, message=f"The MLmodel names the input example {rel!r}, which is not among the files.")
    path = os.path.join(mv.storage_location, *rel.split("/"))
    try:
        size = os.path.getsize(path)
        if size > MAX_EXAMPLE_BYTES:
            return InputExample(kind, message=f"The input example ({size:,} bytes) is too large to show here.")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        return InputExample(kind, message=f"The input example cannot be read: {exc}")
    if kind == "dataframe" and isinstance(data, dict) and isinstance(data.get("columns"), list):
        rows = data.get("data")
        if isinstance(rows, list) and all(isinstance(r, list) for r in rows):
            return InputExample(kind, columns=[str(c) for c in data["columns"]], rows=rows)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        columns = list(dict.fromkeys(str(k) for r in data for k in r))  # records: one row per dict
        return InputExample(kind, columns=columns, rows=[[r.get(c) for c in columns] for r in data])
    return InputExample(kind, text=json.dumps(data, indent=2, sort_keys=False, default=str))


def _type_name(t: DataType | ComplexType) -> str:
    if isinstance(t, DataType):
        return t.value
    spec = t.to_dict()
    if t.kind == "array" and isinstance(spec.get("items"), dict):
        return f"array<{spec['items'].get('type', '?')}>"
    return t.kind


def signature_rows(schema: Schema | None) -> list[SpecRow]:
    """The columns or tensors of an input or output schema as table rows."""
    if schema is None:
        return []
    rows = []
    for i, spec in enumerate(schema):
        if isinstance(spec, ColSpec):
            name = spec.name if spec.name is not None else f"(column {i})"
            rows.append(SpecRow(name, _type_name(spec.type), "required" if spec.required else "optional"))
        else:
            name = spec.name if spec.name is not None else f"(tensor {i})"
            shape = "(" + ", ".join(str(d) for d in spec.shape) + ")"
            rows.append(SpecRow(name, f"tensor {spec.dtype}", f"shape {shape}"))
    return rows


def param_rows(signature: ModelSignature | None) -> list[SpecRow]:
    """The inference parameters of a signature as table rows (the detail is the default)."""
    if signature is None or signature.params is None:
        return []
    return [
        SpecRow(p.name, p.dtype.value + ("[]" if p.shape else ""), f"default {json.dumps(p.default, default=str)}")
        for p in signature.params
    ]
