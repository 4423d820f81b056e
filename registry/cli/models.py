"""``registry models ...``: list, show, create, rename, delete, describe, tag and untag registered models."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, Command, Context, add_yes, tags_of
from registry.cli.output import MODEL_COLUMNS, VERSION_COLUMNS, format_time, model_row, page, version_row

__all__ = ["add_commands"]


def _show_model(ctx: Context, name: str) -> None:
    rm = ctx.registry().get_registered_model(name)
    versions = ctx.registry().list_model_versions(name)

    def human() -> None:
        ctx.out.record(
            [
                ("name", rm.name),
                ("description", rm.description),
                ("created", format_time(rm.creation_timestamp)),
                ("updated", format_time(rm.last_updated_timestamp)),
                ("tags", dict(rm.tags)),
                ("aliases", {f"@{a}": f"version {v}" for a, v in rm.aliases.items()}),
            ]
        )
        ctx.out.write("")
        ctx.out.table([version_row(mv) for mv in versions], VERSION_COLUMNS, empty="(no versions)")

    ctx.out.result({**rm.to_dict(), "versions": versions}, human)


def cmd_models_list(ctx: Context) -> int:
    models = ctx.registry().list_registered_models()
    ctx.out.result(
        page(models), lambda: ctx.out.table([model_row(m) for m in models], MODEL_COLUMNS, empty="(no models)")
    )
    return EXIT_OK


def cmd_models_show(ctx: Context) -> int:
    _show_model(ctx, ctx.args.name)
    return EXIT_OK


def cmd_models_create(ctx: Context) -> int:
    a = ctx.args
    rm = ctx.registry(create=True).create_registered_model(a.name, tags=tags_of(a.tag), description=a.description)
    ctx.out.result(rm, lambda: ctx.out.write(f"Created model '{rm.name}'."))
    return EXIT_OK


def cmd_models_rename(ctx: Context) -> int:
    rm = ctx.registry().rename_registered_model(ctx.args.name, ctx.args.new_name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Renamed model '{ctx.args.name}' to '{rm.name}'."))
    return EXIT_OK


def cmd_models_delete(ctx: Context) -> int:
    reg = ctx.registry()
    rm = reg.get_registered_model(ctx.args.name)
    count = len(reg.list_model_versions(rm.name))
    ctx.confirm(f"Delete model '{rm.name}'", f"its {count} version(s) and their files, for good")
    reg.delete_registered_model(rm.name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Deleted model '{rm.name}' and its {count} version(s)."))
    return EXIT_OK


def cmd_models_describe(ctx: Context) -> int:
    rm = ctx.registry().update_registered_model(ctx.args.name, ctx.args.description)
    ctx.out.result(rm, lambda: ctx.out.write(f"Set the description of model '{rm.name}'."))
    return EXIT_OK


def cmd_models_tag(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().set_registered_model_tag(a.name, a.key, a.value)
    rm = ctx.registry().get_registered_model(a.name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Tagged '{a.name}'."))
    return EXIT_OK


def cmd_models_untag(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().delete_registered_model_tag(a.name, a.key)
    rm = ctx.registry().get_registered_model(a.name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Removed tag '{a.key}' from '{a.name}'."))
    return EXIT_OK


def add_commands(group: Any, command: Command, tag_options: Any) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    models = group("models", "registered models: list, show, create, rename, delete, describe, tag, untag")
    command(models, "list", cmd_models_list, "list registered models", example="registry models list --json")
    p = command(models, "show", cmd_models_show, "show a model and its versions", example="registry models show fraud")
    p.add_argument("name", help="the registered model")
    p = command(
        models,
        "create",
        cmd_models_create,
        "create a registered model",
        example="registry models create fraud --description 'scores payments' --tag team=risk",
    )
    p.add_argument("name", help="the new model's name (letters, digits, and . _ - space)")
    tag_options(p)
    p = command(
        models,
        "rename",
        cmd_models_rename,
        "rename a model (versions, aliases and history follow)",
        example="registry models rename fraud fraud-scorer",
    )
    p.add_argument("name", help="the model's current name")
    p.add_argument("new_name", help="its new name")
    p = command(
        models,
        "delete",
        cmd_models_delete,
        "delete a model with all its versions and files (asks first)",
        example="registry models delete fraud --yes",
    )
    p.add_argument("name", help="the model to delete")
    add_yes(p)
    p = command(
        models,
        "describe",
        cmd_models_describe,
        "set a model's description",
        example="registry models describe fraud 'Scores card payments; owner: risk team'",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("description", help="the new description (Markdown; '' clears it)")
    p = command(models, "tag", cmd_models_tag, "set a tag on a model", example="registry models tag fraud team risk")
    p.add_argument("name", help="the registered model")
    p.add_argument("key", help="the tag's key")
    p.add_argument("value", help="the tag's value")
    p = command(
        models, "untag", cmd_models_untag, "delete a tag from a model", example="registry models untag fraud team"
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("key", help="the tag's key")
