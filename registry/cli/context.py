"""What every command shares: the exit statuses, the context a command runs in (its parsed arguments, the
output, the registry opened on first use), and the small argument readers."""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Callable
from typing import Any

from registry.cli.output import Output
from registry.client import DEFAULT_REGISTRY_FOLDER, Registry, resolve_registry_uri
from registry.errors import (
    IllegalStageTransition,
    InvalidParameterValue,
    RegistryError,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "Command",
    "Context",
    "Handler",
    "exit_code_for",
    "key_value",
    "parse_time",
    "tags_of",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_CHECK_FAILED = 5
EXIT_INTERRUPTED = 130


def exit_code_for(error: RegistryError) -> int:
    """The exit status for a registry error (see the module docstring)."""
    if isinstance(error, ResourceDoesNotExist):
        return EXIT_NOT_FOUND
    if isinstance(error, ResourceAlreadyExists | IllegalStageTransition):
        return EXIT_CONFLICT
    if isinstance(error, InvalidParameterValue):
        return EXIT_INVALID
    return EXIT_ERROR


class Context:
    """What a command needs: the parsed arguments, the output, and the registry (opened on first use)."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self._reg: Registry | None = None

    def registry(self, *, create: bool = False) -> Registry:
        if self._reg is None:
            uri = self.args.registry or os.environ.get("REGISTRY_URI") or DEFAULT_REGISTRY_FOLDER
            resolve_registry_uri(uri)  # a URI this library cannot serve says so (and what to use), not "no registry"
            if not create and "://" not in uri and not uri.startswith("file:"):
                path = os.path.abspath(os.path.expanduser(uri))
                if not os.path.exists(os.path.join(path, "registry.json")):
                    raise ResourceDoesNotExist(
                        f"There is no registry at {path}. Run `registry demo` to make one, create a model there, "
                        "or choose another with --registry PATH or $REGISTRY_URI.",
                        path=path,
                    )
            self._reg = Registry(uri)
        return self._reg

    def close(self) -> None:
        if self._reg is not None:
            self._reg.close()


# -- argument readers --------------------------------------------------------------------------------------------


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def tags_of(pairs: list[tuple[str, str]] | None) -> dict[str, str] | None:
    return dict(pairs) if pairs else None


def parse_time(text: str) -> int:
    """Milliseconds since the epoch, from digits (already milliseconds) or an ISO 8601 time (local if naive)."""
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise InvalidParameterValue(
            f"Cannot read the time {text!r}: give milliseconds since the epoch or an ISO 8601 time such as "
            "2026-11-20T14:30."
        ) from None


Handler = Callable[[Context], int]
"""A command: runs with the context, returns the exit status."""

Command = Callable[[Any, str, Handler, str], argparse.ArgumentParser]
"""How a module adds a command: ``command(subparsers, name, handler, help)`` returns its parser."""
