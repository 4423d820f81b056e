"""The external-data files an ONNX model names, read from the model file without the ``onnx`` library.

An ONNX file may keep its tensors in other files ("external data", what ``mlflow.onnx.save_model`` writes by
default), each named by a ``location`` inside the protobuf. onnxruntime opens them relative to the model
file; the loader checks every one with the path rule first, so a model cannot make onnxruntime read a file
outside its own folder. Only the fields that can hold tensors are walked (ONNX's ``onnx.proto``: the graph's
initializers and sparse initializers, node attributes and their subgraphs, functions, training graphs); a
malformed file is refused rather than half read.
"""

from __future__ import annotations

from collections.abc import Iterator

from registry.errors import InvalidParameterValue

__all__ = ["external_data_locations"]

# message -> {field number: message of that field}, for the length-delimited fields that can lead to tensors.
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training_info", 25: "function"},
    "training_info": {1: "graph", 2: "graph"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 15: "sparse_tensor"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse_tensor", 23: "sparse_tensor"},
    "sparse_tensor": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
_MAX_DEPTH = 64  # subgraphs nest (If, Loop, Scan); a deeper file is not a model anyone wrote


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field in ``data[start:end]``; skips the others."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("field runs past its message")
            yield number, pos, pos + length
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != end:
        raise ValueError("message runs past its end")


def _walk(data: bytes, start: int, end: int, message: str, depth: int, found: list[str]) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("nested too deeply")
    if message == "entry":  # StringStringEntryProto: key = 1, value = 2
        parts = {n: data[s:e] for n, s, e in _fields(data, start, end)}
        if parts.get(1) == b"location":
            found.append(parts.get(2, b"").decode("utf-8", "replace"))
        return
    children = _SCHEMA[message]
    for number, s, e in _fields(data, start, end):
        child = children.get(number)
        if child is not None:
            _walk(data, s, e, child, depth + 1, found)


def external_data_locations(data: bytes, *, name: str = "model.onnx") -> list[str]:
    """The ``location`` of every external-data entry in the serialized ONNX model ``data``.

    Raises:
        InvalidParameterValue: ``data`` is not a well-formed protobuf message (``name`` is the file, for the
            message).
    """
    found: list[str] = []
    try:
        _walk(data, 0, len(data), "model", 0, found)
    except ValueError as exc:
        raise InvalidParameterValue(f"{name} is not a valid ONNX model file ({exc}).", path=name) from None
    return found
