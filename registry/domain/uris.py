"""Parsing of ``models:/`` URIs and of local paths and ``file:`` URIs (pure; resolving them is the client's job).

The forms MLflow accepts, and nothing else::

    models:/<name>/<version>      models:/fraud/3
    models:/<name>/<stage>        models:/fraud/Production   (case-insensitive; the highest version there)
    models:/<name>/latest         the highest live version
    models:/<name>@<alias>        models:/fraud@champion
"""

from __future__ import annotations

import urllib.parse

import attrs

from registry.domain.stages import Stage
from registry.errors import InvalidParameterValue

__all__ = ["ModelUri", "is_models_uri", "local_path", "parse_models_uri"]

_SCHEME = "models:"

_FORMS = "models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>"


@attrs.frozen
class ModelUri:
    """A parsed ``models:/`` URI: ``name`` plus exactly one of ``version``, ``stage``, ``alias``, ``latest``."""

    name: str
    version: int | None = None
    stage: Stage | None = None
    alias: str | None = None
    latest: bool = False

    def __str__(self) -> str:
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        if self.stage is not None:
            return f"models:/{self.name}/{self.stage.value}"
        return f"models:/{self.name}/latest"


def is_models_uri(uri: str) -> bool:
    return isinstance(uri, str) and uri.startswith(_SCHEME)


def _invalid(uri: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid model URI {uri!r}: {why}. Use {_FORMS}.", uri=uri)


def parse_models_uri(uri: str) -> ModelUri:
    """Parse a ``models:/`` URI.

    Raises:
        InvalidParameterValue: for any other scheme, a missing name, a reserved or malformed alias, an unknown
            stage, or extra path segments.
    """
    if not is_models_uri(uri):
        raise _invalid(uri, "it does not start with 'models:/'")
    rest = uri[len(_SCHEME) :]
    if rest.startswith("//"):
        raise _invalid(uri, "remote registries (models://profile@host/...) are not supported")
    if not rest.startswith("/"):
        raise _invalid(uri, "the name must follow 'models:/'")
    path = rest[1:]
    if "@" in path:
        name, _, alias = path.partition("@")
        if not name or "/" in name:
            raise _invalid(uri, "expected models:/<name>@<alias>")
        if not alias or "/" in alias or "@" in alias:
            raise _invalid(uri, "the alias after '@' is missing or malformed")
        return ModelUri(name=name, alias=alias)
    parts = path.split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise _invalid(uri, "expected a name and one of a version, a stage, 'latest' or '@alias'")
    name, suffix = parts
    if suffix.isdigit():
        if int(suffix) < 1:
            raise _invalid(uri, "version numbers start at 1")
        return ModelUri(name=name, version=int(suffix))
    if suffix.lower() == "latest":
        return ModelUri(name=name, latest=True)
    try:
        return ModelUri(name=name, stage=Stage.parse(suffix))
    except InvalidParameterValue:
        raise _invalid(uri, f"{suffix!r} is neither a version number, a stage, nor 'latest'") from None


def local_path(uri: str) -> str | None:
    """The filesystem path a path or ``file:`` URI names, or ``None`` for any other URI."""
    if uri.startswith("file:"):
        parsed = urllib.parse.urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            return None
        return urllib.parse.unquote(parsed.path)
    scheme, sep, _rest = uri.partition(":")
    if sep and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum():
        return None  # s3:, runs:, models:, http: ... (a one-letter scheme would be a Windows drive)
    return uri
