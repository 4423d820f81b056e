"""Checking the arguments of the exchange functions, so bad input of any type is a clear RegistryError."""

from __future__ import annotations

import math
import os
from typing import Any

from registry.errors import InvalidParameterValue, RegistryError, RegistryIOError

__all__ = ["file_error", "path_argument", "selections_argument", "text_argument", "timeout_argument"]


def path_argument(value: Any, what: str) -> str:
    """A local file path given as text or a path object (not empty, no NUL, encodable)."""
    try:
        path = os.fspath(value)
    except TypeError:
        raise InvalidParameterValue(f"The {what} must be a path, got {type(value).__name__} {value!r:.80}.") from None
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InvalidParameterValue(f"The {what} must be a non-empty path, got {path!r:.80}.")
    try:
        os.fsencode(path)
    except UnicodeError:
        raise InvalidParameterValue(f"The {what} {path!r:.80} cannot be a file name here.") from None
    return path


def text_argument(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidParameterValue(f"The {what} must be a non-empty string, got {value!r:.80}.")
    return value


def timeout_argument(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidParameterValue(f"The timeout must be a positive number of seconds, got {value!r:.80}.")
    return float(value)


def selections_argument(value: Any) -> list[str] | None:
    """``None`` (everything), one selection, or a list or tuple of them."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple):
        raise InvalidParameterValue(
            f"Model selections must be a list of NAME, NAME@alias or NAME/version, got {value!r:.80}."
        )
    return list(value)


def file_error(exc: OSError, path: str, doing: str) -> RegistryError:
    """The registry error for an OS error met while ``doing`` something with ``path``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return RegistryIOError(f"Cannot {doing} {path}: {reason}. Check the path and its permissions.", path=path)
