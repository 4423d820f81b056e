"""``registry alias ...``: set, delete, show (now or at a past time) and roll back aliases."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, TIME_FORMATS, Command, Context, parse_time
from registry.cli.output import format_time, page
from registry.errors import ResourceDoesNotExist

__all__ = ["add_commands"]


def cmd_alias_set(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().set_registered_model_alias(a.name, a.alias, a.version)
    mv = ctx.registry().get_model_version_by_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(f"@{a.alias} -> '{a.name}' version {mv.version}."))
    return EXIT_OK


def cmd_alias_delete(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().delete_registered_model_alias(a.name, a.alias)
    rm = ctx.registry().get_registered_model(a.name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Removed @{a.alias} from '{a.name}'."))
    return EXIT_OK


def cmd_alias_show(ctx: Context) -> int:
    a = ctx.args
    if a.alias is None:
        aliases = ctx.registry().get_registered_model(a.name).aliases
        items = [{"alias": k, "version": v} for k, v in sorted(aliases.items())]
        rows = [{"alias": f"@{k}", "version": v} for k, v in sorted(aliases.items())]
        ctx.out.result(page(items), lambda: ctx.out.table(rows, ["alias", "version"], empty="(no aliases)"))
        return EXIT_OK
    if a.at is not None:
        at = parse_time(a.at)
        past = ctx.registry().version_at(a.name, at, alias=a.alias)
        if past is None:
            raise ResourceDoesNotExist(
                f"@{a.alias} of '{a.name}' pointed at no version at {format_time(at)}.", name=a.name
            )
        ctx.out.result(past, lambda: ctx.out.write(str(past.version)))
        return EXIT_OK
    mv = ctx.registry().get_model_version_by_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(str(mv.version)))
    return EXIT_OK


def cmd_alias_rollback(ctx: Context) -> int:

    a = ctx.args
    before = ctx.registry().get_model_version_by_alias(a.name, a.alias).version
    mv = ctx.registry().rollback_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(f"@{a.alias} of '{a.name}': version {before} -> {mv.version}."))
    return EXIT_OK


def add_commands(group: Any, command: Command) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    aliases = group("alias", "aliases: set, delete, show, rollback")
    p = command(
        aliases,
        "set",
        cmd_alias_set,
        "point an alias at a version (moving it if it exists)",
        example="registry alias set fraud champion 3",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("alias", help="the alias (without @)")
    p.add_argument("version", help="the version number it should point at")
    p = command(aliases, "delete", cmd_alias_delete, "remove an alias", example="registry alias delete fraud shadow")
    p.add_argument("name", help="the registered model")
    p.add_argument("alias", help="the alias to remove")
    p = command(
        aliases,
        "show",
        cmd_alias_show,
        "print the version an alias points at (or all aliases of a model)",
        example="registry alias show fraud champion --at 2026-11-20T14:30Z\nregistry alias show fraud",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("alias", nargs="?", help="the alias (omit it to list all of the model's aliases)")
    p.add_argument("--at", metavar="TIME", help=f"where the alias pointed at TIME: {TIME_FORMATS}")
    p = command(
        aliases,
        "rollback",
        cmd_alias_rollback,
        "point an alias back at the version it pointed at before",
        example="registry alias rollback fraud champion",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("alias", help="the alias to move back")
