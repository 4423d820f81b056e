"""``registry rollback NAME --stage S | --alias A``: put back what held a stage or an alias before, in one step."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, Command, Context

__all__ = ["add_commands"]


def cmd_rollback(ctx: Context) -> int:
    a = ctx.args
    reg = ctx.registry()
    if a.alias is not None:
        before = reg.get_model_version_by_alias(a.name, a.alias).version
        mv = reg.rollback_alias(a.name, a.alias, reason=a.reason)
        line = f"@{a.alias} of '{a.name}': version {before} -> {mv.version}."
    else:
        mv = reg.rollback_stage(a.name, a.stage, reason=a.reason)
        line = f"'{a.name}' {mv.current_stage.value}: version {mv.version} restored (the one it replaced is archived)."
    ctx.out.result(mv, lambda: ctx.out.write(line))
    return EXIT_OK


def add_commands(top: Any, command: Command) -> None:
    """Add ``rollback`` to the CLI's top-level subparsers with its ``command`` helper."""
    p = command(
        top,
        "rollback",
        cmd_rollback,
        "put back the version that held a stage or an alias before",
        example="registry rollback fraud --stage Production --reason 'latency regression'\n"
        "registry rollback fraud --alias champion",
    )
    p.add_argument("name", help="the registered model")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--stage", help="a stage (Production, Staging): its previous holder returns, the current is archived"
    )
    which.add_argument("--alias", help="an alias: it points back at its previous version")
    p.add_argument("--reason", help="why (recorded in the history)")
