"""The ``registry`` command: the model registry from a shell.

``build_parser()`` describes every command; ``main(argv)`` runs one and returns the exit status. Commands only
call the public client (:class:`registry.Registry` and its helpers). One error boundary turns a
:class:`~registry.errors.RegistryError` into a one-line ``error: ...`` on stderr and an exit status:

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
refuse to create a registry where there is none.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from registry import __version__
from registry.cli.aliases import add_commands as add_alias_commands
from registry.cli.comments import add_commands as add_comment_commands
from registry.cli.context import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
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


def _common() -> argparse.ArgumentParser:
    # Given to every subcommand with SUPPRESS defaults, so `--json` and `--registry` work before or after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"the registry folder (default: $REGISTRY_URI, else ./{DEFAULT_REGISTRY_FOLDER})",
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``registry`` argument parser (every command and its help)."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="registry",
        description="An embedded, file-backed ML model registry with MLflow's semantics.",
        epilog="Exit status: 0 ok, 1 error, 2 invalid input, 3 not found, 4 conflict, 5 check found problems.",
    )
    parser.add_argument("--version", action="version", version=f"registry {__version__}")
    parser.add_argument("--registry", metavar="PATH", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", default=False, help=argparse.SUPPRESS)
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def group(name: str, help: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        p = top.add_parser(name, help=help, description=help, parents=[common])
        return p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: Handler, help: str
    ) -> argparse.ArgumentParser:
        # "resolve": a command may take -h for something else, as `serve -h HOST` does in MLflow (--help stays)
        p = parent.add_parser(name, help=help, description=help, parents=[common], conflict_handler="resolve")
        p.set_defaults(handler=handler)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``registry`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=bool(args.json))
    ctx = Context(args, out)
    try:
        try:
            return int(args.handler(ctx))
        finally:
            ctx.close()  # inside the boundary: closing (a checkpoint) may fail too
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `registry events | head`: the reader left; exit quietly as Unix tools do.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a file named on the command line (an export target, a model folder), not the registry
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}. Check the path and its permissions, then retry.", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the one boundary: never a traceback, but say plainly that this is a bug
        if os.environ.get("REGISTRY_DEBUG"):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc}. This is a bug in registry; please report it "
            "(set REGISTRY_DEBUG=1 to see the traceback).",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
