"""The check every client method applies to a model name it is given."""

from __future__ import annotations

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

__all__ = ["model_name"]


def model_name(name: Any) -> str:
    """Model names in lookups get the same checks as at creation, so a bad one says why, not 'not found'."""
    from registry.domain.validation import validate_model_name

    if isinstance(name, str) and name and "/" not in name and ":" not in name:
        return name
    return validate_model_name(name)
