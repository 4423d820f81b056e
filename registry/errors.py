"""The registry's exceptions: one tree, each class with a stable MLflow-style ``error_code``.

::

    RegistryError (Exception)                         error_code: INTERNAL_ERROR
    ├── InvalidParameterValue (+ ValueError)          INVALID_PARAMETER_VALUE
    │   └── IllegalStageTransition                    INVALID_STATE
    │       └── ApprovalRequired                      INVALID_STATE
    ├── ResourceDoesNotExist (+ LookupError)          RESOURCE_DOES_NOT_EXIST
    ├── ResourceAlreadyExists                         RESOURCE_ALREADY_EXISTS
    │   └── ImportConflict                            RESOURCE_ALREADY_EXISTS
    ├── RegistryLockTimeout (+ TimeoutError)          TEMPORARILY_UNAVAILABLE
    ├── ReadOnlyRegistry (+ PermissionError)          PERMISSION_DENIED
    │   └── ReplicaReadOnly                           PERMISSION_DENIED
    ├── RegistryIOError (+ OSError)                   IO_ERROR
    ├── MlflowServerError                             TEMPORARILY_UNAVAILABLE
    ├── MissingDependency (+ ImportError)             FEATURE_DISABLED
    ├── CorruptRegistry                               DATA_LOSS
    └── ArtifactVerificationError                     DATA_LOSS
        └── CorruptBundle                             DATA_LOSS

Each error refines the builtin it resembles, so ``except LookupError`` still works for code that does not know
this library, and each carries the context a caller needs (``name``, ``version``, ``path``) as attributes.
Messages say what was wrong and what to do about it.

Errors survive pickling (they cross process boundaries in the scoring server and in tests), which is why
every subclass accepts its message as the only positional argument and keeps its context in keyword
arguments that ``__reduce__`` hands back.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ApprovalRequired",
    "ArtifactVerificationError",
    "CorruptBundle",
    "CorruptRegistry",
    "IllegalStageTransition",
    "ImportConflict",
    "InvalidParameterValue",
    "MissingDependency",
    "MlflowServerError",
    "ReadOnlyRegistry",
    "RegistryError",
    "RegistryIOError",
    "RegistryLockTimeout",
    "ReplicaReadOnly",
    "ResourceAlreadyExists",
    "ResourceDoesNotExist",
]


class RegistryError(Exception):
    """Base of every error this library raises on purpose.

    Attributes:
        message: the human-readable explanation.
        error_code: a stable, MLflow-compatible code string (``RESOURCE_DOES_NOT_EXIST``, ...).
        context: the keyword context given at construction (``name``, ``version``, ...).
    """

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.context))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[RegistryError], message: str, context: dict[str, Any]) -> RegistryError:
    return cls(message, **context)


class InvalidParameterValue(RegistryError, ValueError):
    """An argument is malformed: a bad name, tag, alias, stage, filter string, URI or version."""

    error_code = "INVALID_PARAMETER_VALUE"


class IllegalStageTransition(InvalidParameterValue):
    """The registry's stage policy does not allow this move (or one of its guards refused it)."""

    error_code = "INVALID_STATE"


class ApprovalRequired(IllegalStageTransition):
    """The stage policy wants an approved transition request for this move (or an approver other than the
    requester): ask with ``create_transition_request`` and have someone approve it."""


class ResourceDoesNotExist(RegistryError, LookupError):
    """The registered model, version, alias or webhook does not exist (or was deleted)."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(RegistryError):
    """Creating (or renaming onto) something that already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class ImportConflict(ResourceAlreadyExists):
    """An import (a bundle, an MLflow registry) would overwrite what the registry holds differently; nothing
    was imported. ``conflicts`` lists each one (a version number taken by other content, a tag, an alias)."""


class RegistryLockTimeout(RegistryError, TimeoutError):
    """Another process held the registry's write lock for longer than the timeout."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class ReadOnlyRegistry(RegistryError, PermissionError):
    """A write to a registry that is read-only: opened with ``read_only=True`` (or ``$REGISTRY_READ_ONLY``), or
    one this process cannot write (permissions, a read-only filesystem). Nothing was changed."""

    error_code = "PERMISSION_DENIED"


class ReplicaReadOnly(ReadOnlyRegistry):
    """A write to a replica (a registry ``registry sync`` keeps equal to its source): its models change only by
    syncing. ``source`` names the source; detach the replica (``registry sync --detach``) to write to it."""

    error_code = "PERMISSION_DENIED"


class RegistryIOError(RegistryError, OSError):
    """The operating system refused a file operation (a full disk, a missing or unreadable file, ...); the
    message names the path and what to do."""

    error_code = "IO_ERROR"


class MlflowServerError(RegistryError):
    """An MLflow server (importing from it, pushing to it) cannot be reached or answered with an error that has
    no closer class here; the message names the server, the call and MLflow's own error."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class MissingDependency(RegistryError, ImportError):
    """An optional library a flavor needs (onnxruntime, xgboost, lightgbm, ...) is not installed; the message
    names the library and the extra to install (``pip install 'mlregistry[onnx]'``). Attributes: ``flavor``,
    ``library``, ``extra``."""

    error_code = "FEATURE_DISABLED"


class CorruptRegistry(RegistryError):
    """A registry file cannot be read as what it should be; the message names the file and the way out."""

    error_code = "DATA_LOSS"


class ArtifactVerificationError(RegistryError):
    """A model version's files do not match the digests recorded when it was registered."""

    error_code = "DATA_LOSS"


class CorruptBundle(ArtifactVerificationError):
    """A bundle file is damaged or unsafe (a changed byte, a cut-off file, a member that is not a plain file
    under its own folder, a size that does not add up); nothing was imported from it."""
