"""The ``registry`` command: the model registry from a shell.

``build_parser()`` describes every command; ``main(argv)`` runs one and returns the exit status. Commands only
call the public client (`registry.Registry` and its helpers). One error boundary turns a
`RegistryError` into a one-line ``error: ...`` on stderr and an exit status:

====  =====================================================================
0     success
1     any other error (a corrupt file, a lock timeout, a read-only registry, a file the OS refused, ...)
2     invalid input (a bad name, URI, filter, argument)
3     not found (no such model, version, alias, file)
4     conflict (already exists, or a stage move the policy forbids)
5     ``registry check`` found problems it did not fix
130   interrupted (Ctrl-C)
====  =====================================================================

The registry is ``--registry PATH``, else ``$REGISTRY_URI``, else ``./mlregistry``. Commands that only read
refuse to create a registry where there is none. With ``--json`` every result is one JSON document on stdout and
every error ``{"error_code", "message"}`` on stderr (the exit status is the same); see
`registry.cli.output`. ``-v``/``--log-level`` show the library's log (the ``registry`` logger) on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from registry import __version__
from registry.cli.aliases import add_commands as add_alias_commands
from registry.cli.comments import add_commands as add_comment_commands
from registry.cli.completion import add_commands as add_completion_commands
from registry.cli.context import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    Context,
    Handler,
    exit_code_for,
    key_value,
)
from registry.cli.exchange import add_commands as add_exchange_commands
from registry.cli.models import add_commands as add_model_commands
from registry.cli.ops import add_commands as add_operation_commands
from registry.cli.output import Output
from registry.cli.policy import add_commands as add_policy_commands
from registry.cli.replicas import add_commands as add_replica_commands
from registry.cli.requests import add_commands as add_request_commands
from registry.cli.rollback import add_commands as add_rollback_commands
from registry.cli.search import add_commands as add_search_commands
from registry.cli.ui import add_commands as add_ui_commands
from registry.cli.versions import add_commands as add_version_commands
from registry.cli.webhooks import add_commands as add_webhook_commands
from registry.client import DEFAULT_REGISTRY_FOLDER
from registry.errors import RegistryError

__all__ = ["build_parser", "main"]


_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class UsageError(Exception):
    """A command line argparse cannot read; `main()` reports it (as JSON with ``--json``) and exits 2."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser, self.message = parser, message


class _Parser(argparse.ArgumentParser):
    # argparse prints and exits on a bad command line; raising lets main() answer in JSON when asked to.
    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def _global_options(p: argparse.ArgumentParser, *, default: Any) -> None:
    """The options every command takes, before or after its name. On the top-level parser they have real
    defaults (and show in ``registry --help``); on each subcommand ``default`` is SUPPRESS, so a value given
    before the subcommand is not reset by the subcommand's parser."""

    def d(value: Any) -> Any:
        return value if default is None else default

    p.add_argument(
        "--registry",
        metavar="PATH",
        default=d(None),
        help=f"the registry folder or URI (default: $REGISTRY_URI, else ./{DEFAULT_REGISTRY_FOLDER})",
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=d(False),
        help="print results as JSON on stdout, and errors as JSON on stderr (for scripts)",
    )
    p.add_argument(
        "--wide", action="store_true", default=d(False), help="do not cut long text in tables to the terminal width"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=d(0),
        help="show the library's log on stderr: -v for INFO, -vv for DEBUG (locks, commits)",
    )
    p.add_argument(
        "--log-level", choices=_LOG_LEVELS, type=str.upper, default=d(None), help="the log level to show on stderr"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``registry`` argument parser (every command and its help)."""
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    parser: argparse.ArgumentParser = _Parser(
        prog="registry",
        description="An embedded, file-backed ML model registry with MLflow's semantics.",
        epilog="Exit status: 0 ok, 1 error, 2 invalid input, 3 not found, 4 conflict, 5 check found problems.\n"
        "Example: registry demo && registry models list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"registry {__version__}")
    _global_options(parser, default=None)
    top: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    groups: list[tuple[argparse.ArgumentParser, list[str]]] = []

    def group(name: str, help: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        p = top.add_parser(
            name, help=help, description=help, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sub: argparse._SubParsersAction[argparse.ArgumentParser] = p.add_subparsers(
            dest="action", metavar="ACTION", required=True
        )
        groups.append((p, []))
        return sub

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: Handler,
        help: str,
        *,
        example: str,
    ) -> argparse.ArgumentParser:
        # "resolve": a command may take -h for something else, as `serve -h HOST` does in MLflow (--help stays)
        lines = example.strip().splitlines()
        p = parent.add_parser(
            name,
            help=help,
            description=help,
            parents=[common],
            conflict_handler="resolve",
            epilog=("example:\n" if len(lines) == 1 else "examples:\n") + "\n".join(f"  {x}" for x in lines),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        for group_parser, examples in groups:
            if parent is _subparsers_of(group_parser):
                examples.append(lines[0])
        return p

    def tag_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tag", metavar="KEY=VALUE", type=key_value, action="append", help="a tag (repeatable)")
        p.add_argument("--description", help="a description")

    add_model_commands(group, command, tag_options)
    add_version_commands(top, group, command, tag_options)
    # stages and aliases
    add_alias_commands(group, command)
    add_request_commands(group, command)
    add_comment_commands(group, command)
    add_rollback_commands(top, command)
    add_policy_commands(group, command)
    add_search_commands(group, command)
    add_operation_commands(top, command)
    add_webhook_commands(group, command)
    add_ui_commands(top, command)
    add_exchange_commands(top, group, command)
    add_replica_commands(top, command)
    add_completion_commands(top, command)
    for group_parser, examples in groups:  # a group's help shows one example of each of its commands
        group_parser.epilog = "examples:\n" + "\n".join(f"  {x}" for x in examples)
    return parser


def _subparsers_of(p: argparse.ArgumentParser) -> Any:
    for action in p._actions:  # argparse keeps its subcommands here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _configure_logging(args: argparse.Namespace) -> tuple[logging.Handler, int] | None:
    """The command line is the application, so it (never the library) gives the ``registry`` logger a
    handler: on stderr, at ``--log-level``, else INFO for ``-v`` and DEBUG for ``-vv``. Without either,
    nothing is configured and Python's default shows warnings and errors only."""
    level = args.log_level or {0: None, 1: "INFO"}.get(args.verbose, "DEBUG")
    if level is None:
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("registry")
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler, before


def _report_error(json_mode: bool, error_code: str, message: str) -> None:
    if json_mode:
        print(json.dumps({"error_code": error_code, "message": message}), file=sys.stderr)
    else:
        print(f"error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``registry`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        if "--json" in argv:
            _report_error(True, "INVALID_PARAMETER_VALUE", f"{exc.parser.prog}: {exc.message}")
        else:
            exc.parser.print_usage(sys.stderr)
            print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    json_mode = bool(args.json)
    out = Output(json_mode=json_mode, wide=bool(args.wide))
    ctx = Context(args, out, parser)
    logging_setup = _configure_logging(args)
    try:
        try:
            return int(args.handler(ctx))
        finally:
            ctx.close()  # inside the boundary: closing (a checkpoint) may fail too
    except RegistryError as exc:
        _report_error(json_mode, exc.error_code, str(exc))
        return exit_code_for(exc)
    except KeyboardInterrupt:
        _report_error(json_mode, "CANCELLED", "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `registry events | head`: the reader left; exit quietly as Unix tools do.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a file named on the command line (an export target, a model folder), not the registry
        where = f": {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror or exc}{where}. Check the path and its permissions, then retry."
        _report_error(json_mode, "IO_ERROR", message)
        return EXIT_ERROR
    except Exception as exc:  # the one boundary: never a traceback, but say plainly that this is a bug
        if os.environ.get("REGISTRY_DEBUG"):
            raise
        message = (
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in registry; please report it "
            "(set REGISTRY_DEBUG=1 to see the traceback)."
        )
        _report_error(json_mode, "INTERNAL_ERROR", message)
        return EXIT_ERROR
    finally:
        if logging_setup is not None:  # main() may run again in this process (tests, embedding)
            logger = logging.getLogger("registry")
            logger.removeHandler(logging_setup[0])
            logger.setLevel(logging_setup[1])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
