"""Checks on user-supplied names, tags, aliases and version numbers (pure; no IO).

Every check raises `InvalidParameterValue` with a message that names the bad value
and the rule, and returns the canonical form of what it accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from registry.errors import InvalidParameterValue

__all__ = [
    "MAX_ALIAS_LENGTH",
    "MAX_MODEL_NAME_LENGTH",
    "MAX_TAG_KEY_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "validate_alias",
    "validate_description",
    "validate_model_name",
    "validate_run_id",
    "validate_run_link",
    "validate_tag_key",
    "validate_tag_value",
    "validate_tags",
    "validate_version",
]

MAX_MODEL_NAME_LENGTH = 256
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
_VERSION_ALIAS = re.compile(r"v\d+", re.IGNORECASE)


def validate_model_name(name: Any) -> str:
    """A registered model name: non-blank text without ``/``, ``:`` or control characters."""
    if not isinstance(name, str):
        raise InvalidParameterValue(
            f"Registered model name must be a string, got {type(name).__name__} {name!r}.", name=name
        )
    if not name.strip():
        raise InvalidParameterValue("Registered model name cannot be empty.", name=name)
    for bad in ("/", ":"):
        if bad in name:
            raise InvalidParameterValue(
                f"Invalid registered model name {name!r}: names may not contain '{bad}' (it separates parts "
                f"of models:/ URIs).",
                name=name,
            )
    if _CONTROL.search(name):
        raise InvalidParameterValue(
            f"Invalid registered model name {name!r}: names may not contain control characters.", name=name
        )
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidParameterValue(
            f"Registered model name is {len(name)} characters long; the limit is {MAX_MODEL_NAME_LENGTH}.",
            name=name,
        )
    return name


def validate_tag_key(key: Any) -> str:
    """A tag key: non-empty text of at most 250 characters."""
    if not isinstance(key, str):
        raise InvalidParameterValue(f"Tag key must be a string, got {type(key).__name__} {key!r}.", key=key)
    if not key.strip():
        raise InvalidParameterValue("Tag key cannot be empty.", key=key)
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidParameterValue(
            f"Tag key '{key[:40]}...' is {len(key)} characters long; the limit is {MAX_TAG_KEY_LENGTH}.",
            key=key,
        )
    if _CONTROL.search(key):
        raise InvalidParameterValue(f"Tag key {key!r} may not contain control characters.", key=key)
    return key


def validate_tag_value(key: str, value: Any) -> str:
    """A tag value: converted to ``str`` as MLflow does; at most 100,000 characters."""
    if value is None:
        raise InvalidParameterValue(f"Tag '{key}' has no value: pass a string (it may be empty).", key=key)
    if isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception as exc:  # a value's own __str__ can raise anything; say which tag, not its traceback
            raise InvalidParameterValue(
                f"Value of tag '{key}' cannot be converted to a string ({type(exc).__name__}: {exc}). Pass a str.",
                key=key,
            ) from None
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameterValue(
            f"Value of tag '{key}' is {len(text)} characters long; the limit is {MAX_TAG_VALUE_LENGTH}.",
            key=key,
        )
    return text


def validate_tags(tags: Mapping[str, Any] | Any) -> dict[str, str]:
    """A mapping of tags (or MLflow-style objects with ``key``/``value``) as a checked ``dict``."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        items = list(tags.items())
    else:
        try:
            items = [(t.key, t.value) for t in tags]
        except (TypeError, AttributeError):
            raise InvalidParameterValue(
                f"Tags must be a dict of key -> value, got {type(tags).__name__}.", tags=tags
            ) from None
    return {validate_tag_key(k): validate_tag_value(k, v) for k, v in items}


def validate_alias(alias: Any) -> str:
    """An alias: letters, digits, ``_`` and ``-``, at most 255; ``latest`` and ``v<digits>`` are reserved."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameterValue(f"Alias must be a non-empty string, got {alias!r}.", alias=alias)
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameterValue(
            f"Alias is {len(alias)} characters long; the limit is {MAX_ALIAS_LENGTH}.", alias=alias
        )
    if not _ALIAS.fullmatch(alias):
        raise InvalidParameterValue(
            f"Invalid alias name {alias!r}: aliases may contain only letters, digits, '_' and '-'.",
            alias=alias,
        )
    if alias.lower() == "latest" or _VERSION_ALIAS.fullmatch(alias):
        raise InvalidParameterValue(
            f"Alias name {alias!r} is reserved: 'latest' and 'v<number>' already mean a version. "
            "Choose another name, such as 'champion'.",
            alias=alias,
        )
    return alias


def validate_version(version: Any) -> int:
    """A version number given as an int or a numeric string (``3`` or ``'3'``); must be at least 1."""
    if isinstance(version, bool):
        number = None
    elif isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        number = None
    if number is None or number < 1:
        raise InvalidParameterValue(
            f"Model version must be a positive integer (or a string of digits), got {version!r}.",
            version=version,
        )
    return number


def validate_description(description: Any) -> str | None:
    """A description: text or ``None``."""
    if description is None or isinstance(description, str):
        return description
    raise InvalidParameterValue(
        f"Description must be a string or None, got {type(description).__name__}.", description=description
    )


def validate_run_id(run_id: Any) -> str | None:
    """A run id: a string or ``None`` (MLflow's run ids are strings; a number is refused, not stringified)."""
    if run_id is None or isinstance(run_id, str):
        return run_id
    raise InvalidParameterValue(
        f"run_id must be a string or None, got {type(run_id).__name__} {run_id!r}.", run_id=run_id
    )


def validate_run_link(run_link: Any) -> str | None:
    """A run link: a string (a URL) or ``None``."""
    if run_link is None or isinstance(run_link, str):
        return run_link
    raise InvalidParameterValue(
        f"run_link must be a string or None, got {type(run_link).__name__} {run_link!r}.", run_link=run_link
    )
