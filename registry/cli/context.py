"""What every command shares: the exit statuses, the context a command runs in (its parsed arguments, the
output, the registry opened on first use), confirmations and progress, and the small argument readers."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

from registry.cli.output import Output
from registry.cli.progress import DEFAULT_DELAY, ProgressBar
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
    "add_quiet",
    "add_yes",
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

    def __init__(self, args: argparse.Namespace, out: Output, parser: argparse.ArgumentParser | None = None) -> None:
        self.args = args
        self.out = out
        self.parser = parser
        """The whole command line's parser (what ``registry completion`` describes)."""
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

    def confirm(self, action: str, consequence: str = "") -> None:
        """Go on only if the user agrees to ``action`` (e.g. "Delete model 'fraud'"): ``--yes`` agrees; on a
        terminal the question is asked on stderr and answered on stdin; anywhere else (a script, a pipe, cron)
        the command refuses, so nothing is destroyed by a command nobody saw.

        Raises:
            InvalidParameterValue: no terminal to ask and no ``--yes`` (exit status 2), or the answer was no.
        """
        if getattr(self.args, "yes", False):
            return
        what = f"{action}{' (' + consequence + ')' if consequence else ''}"
        if not _interactive():
            raise InvalidParameterValue(
                f"Refusing to {what[0].lower() + what[1:]} without confirmation: there is no terminal to ask. "
                "Pass --yes (-y) to confirm."
            )
        sys.stderr.write(f"{what}? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise InvalidParameterValue("Not confirmed; nothing was changed.")

    def progress(self) -> ProgressBar | None:
        """The progress display for a long command, on stderr: none with ``--quiet`` or ``--json`` (a script
        reading stderr for the JSON error must not find progress lines there)."""
        if getattr(self.args, "quiet", False) or self.out.json_mode:
            return None
        delay = os.environ.get("REGISTRY_PROGRESS_DELAY", "")
        try:
            return ProgressBar(sys.stderr, delay=float(delay) if delay else DEFAULT_DELAY)
        except ValueError:
            raise InvalidParameterValue(
                f"$REGISTRY_PROGRESS_DELAY must be a number of seconds, got {delay!r}."
            ) from None


def _interactive() -> bool:
    # Both ends on a terminal: the question must be seen (stderr) and answered by a person (stdin).
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def add_yes(p: argparse.ArgumentParser) -> None:
    """``--yes``/``-y`` on a destructive command."""
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)")


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet``/``-q`` on a command that shows progress."""
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


# -- argument readers --------------------------------------------------------------------------------------------


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def tags_of(pairs: list[tuple[str, str]] | None) -> dict[str, str] | None:
    return dict(pairs) if pairs else None


TIME_FORMATS = (
    "an ISO 8601 time, with a zone (2026-11-20T14:30:00Z, 2026-11-20T14:30+01:00) or without one (local time: "
    "2026-11-20T14:30, 2026-11-20 14:30:05, 2026-11-20), or milliseconds since the epoch (1795357800000)"
)


def parse_time(text: str) -> int:
    """Milliseconds since the epoch, from digits (already milliseconds) or an ISO 8601 time: with a zone
    (``Z``, ``+01:00``) it is that instant; without one, local time (as the tables show times).

    Raises:
        InvalidParameterValue: anything else; the message lists what is accepted.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameterValue(f"Cannot read the time {text!r}: give {TIME_FORMATS}.") from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive: this machine's local time
    return int(when.timestamp() * 1000)


Handler = Callable[[Context], int]
"""A command: runs with the context, returns the exit status."""


class Command(Protocol):
    """How a module adds a command: ``command(subparsers, name, handler, help, example=...)`` returns its parser.
    ``example`` (one or more lines, each a full ``registry ...`` command) is shown at the end of its ``--help``."""

    def __call__(
        self, parent: Any, name: str, handler: Handler, help: str, *, example: str
    ) -> argparse.ArgumentParser: ...
