"""``registry versions ...`` and ``registry transition``: model versions and their stages."""

from __future__ import annotations

import os
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context, add_quiet, add_yes, tags_of
from registry.cli.output import VERSION_COLUMNS, format_time, page, version_row
from registry.domain.uris import is_models_uri, local_path
from registry.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist

__all__ = ["add_commands"]


def _show_version(ctx: Context, name: str, version: str) -> None:
    mv = ctx.registry().get_model_version(name, version)
    human = [
        ("name", mv.name),
        ("version", mv.version),
        ("stage", mv.current_stage.value),
        ("aliases", " ".join(f"@{a}" for a in mv.aliases)),
        ("description", mv.description),
        ("created", format_time(mv.creation_timestamp)),
        ("updated", format_time(mv.last_updated_timestamp)),
        ("user", mv.user_id),
        ("source", mv.source),
        ("run_id", mv.run_id),
        ("run_link", mv.run_link),
        ("stored at", mv.storage_location),
        ("digest", mv.digest),
        ("tags", dict(mv.tags)),
    ]
    ctx.out.result(mv, lambda: ctx.out.record(human))


def cmd_versions_list(ctx: Context) -> int:
    versions = ctx.registry().list_model_versions(ctx.args.name)
    rows = [version_row(mv) for mv in versions]
    ctx.out.result(page(versions), lambda: ctx.out.table(rows, VERSION_COLUMNS, empty="(no versions)"))
    return EXIT_OK


def cmd_versions_show(ctx: Context) -> int:
    _show_version(ctx, ctx.args.name, ctx.args.version)
    return EXIT_OK


def cmd_versions_register(ctx: Context) -> int:
    a = ctx.args
    source = a.source
    path = None if is_models_uri(source) else local_path(source)
    if path is not None:
        # The user asked for a folder to be copied: a typo must fail here, before anything is created.
        absolute = os.path.join(os.getcwd(), os.path.expanduser(path))
        if not os.path.exists(absolute):
            raise ResourceDoesNotExist(
                f"Model folder {source!r} does not exist (looked for {absolute}); nothing was registered.",
                source=source,
            )
        if not os.path.isdir(absolute):
            raise InvalidParameterValue(
                f"Model source {source!r} is not a folder; pass the model's folder (the one holding MLmodel).",
                source=source,
            )
        source = os.path.abspath(absolute)
    reg = ctx.registry(create=True)
    try:
        reg.create_registered_model(a.name)
    except ResourceAlreadyExists:
        pass  # registering under an existing name adds a version, as mlflow.register_model does
    mv = reg.create_model_version(
        a.name,
        source,
        run_id=a.run_id,
        tags=tags_of(a.tag),
        run_link=a.run_link,
        description=a.description,
        progress=ctx.progress(),
    )

    def human() -> None:
        ctx.out.write(f"Registered '{mv.name}' version {mv.version}.")
        if mv.storage_location is None:
            ctx.out.write(
                f"It recorded {mv.source!r} as given; no files were copied, so the registry cannot verify or "
                "load it (pass a local folder to copy its files in)."
            )

    ctx.out.result(mv, human)
    return EXIT_OK


def cmd_versions_describe(ctx: Context) -> int:
    a = ctx.args
    mv = ctx.registry().update_model_version(a.name, a.version, a.description)
    ctx.out.result(mv, lambda: ctx.out.write(f"Set the description of '{mv.name}' version {mv.version}."))
    return EXIT_OK


def cmd_versions_tag(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().set_model_version_tag(a.name, a.version, a.key, a.value)
    mv = ctx.registry().get_model_version(a.name, a.version)
    ctx.out.result(mv, lambda: ctx.out.write(f"Tagged '{a.name}' version {a.version}."))
    return EXIT_OK


def cmd_versions_untag(ctx: Context) -> int:
    a = ctx.args
    ctx.registry().delete_model_version_tag(a.name, a.version, a.key)
    mv = ctx.registry().get_model_version(a.name, a.version)
    ctx.out.result(mv, lambda: ctx.out.write(f"Removed tag '{a.key}' from '{a.name}' version {a.version}."))
    return EXIT_OK


def cmd_versions_delete(ctx: Context) -> int:
    a = ctx.args
    reg = ctx.registry()
    mv = reg.get_model_version(a.name, a.version)
    files = " and its files" if mv.storage_location is not None else ""
    ctx.confirm(f"Delete '{mv.name}' version {mv.version}{files}", "its number is never reused")
    reg.delete_model_version(mv.name, mv.version)
    ctx.out.result(mv, lambda: ctx.out.write(f"Deleted '{mv.name}' version {mv.version}."))
    return EXIT_OK


def cmd_versions_download_uri(ctx: Context) -> int:
    a = ctx.args
    mv = ctx.registry().get_model_version(a.name, a.version)
    uri = ctx.registry().get_model_version_download_uri(a.name, a.version)
    ctx.out.result({"name": mv.name, "version": mv.version, "download_uri": uri}, lambda: ctx.out.write(str(uri)))
    return EXIT_OK


def cmd_transition(ctx: Context) -> int:
    a = ctx.args
    mv = ctx.registry().transition_model_version_stage(a.name, a.version, a.stage, a.archive_existing)
    message = f"'{mv.name}' version {mv.version} is now in {mv.current_stage.value}."
    ctx.out.result(mv, lambda: ctx.out.write(message))
    return EXIT_OK


def _name_version(p: Any) -> None:
    p.add_argument("name", help="the registered model")
    p.add_argument("version", help="the version number")


def add_commands(top: Any, group: Any, command: Command, tag_options: Any) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    versions = group("versions", "model versions: list, show, register, describe, tag, untag, delete, download-uri")
    p = command(versions, "list", cmd_versions_list, "list a model's versions", example="registry versions list fraud")
    p.add_argument("name", help="the registered model")
    p = command(versions, "show", cmd_versions_show, "show one version", example="registry versions show fraud 3")
    _name_version(p)
    p = command(
        versions,
        "register",
        cmd_versions_register,
        "register a model folder (or URI) as a new version",
        example="registry versions register fraud ./model --run-id 4f2a --tag stage=candidate\n"
        "registry versions register fraud s3://bucket/models/fraud   # recorded as given, nothing copied",
    )
    p.add_argument("name", help="the registered model (created if it does not exist)")
    p.add_argument("source", help="a model folder (copied into the registry), a models:/ URI, or any URI")
    p.add_argument("--run-id", help="the run that produced the model")
    p.add_argument("--run-link", help="a link to that run")
    tag_options(p)
    add_quiet(p)
    p = command(
        versions,
        "describe",
        cmd_versions_describe,
        "set a version's description",
        example="registry versions describe fraud 3 'retrained on November data'",
    )
    _name_version(p)
    p.add_argument("description", help="the new description ('' clears it)")
    p = command(
        versions,
        "tag",
        cmd_versions_tag,
        "set a tag on a version",
        example="registry versions tag fraud 3 validated true",
    )
    _name_version(p)
    p.add_argument("key", help="the tag's key")
    p.add_argument("value", help="the tag's value")
    p = command(
        versions,
        "untag",
        cmd_versions_untag,
        "delete a tag from a version",
        example="registry versions untag fraud 3 validated",
    )
    _name_version(p)
    p.add_argument("key", help="the tag's key")
    p = command(
        versions,
        "delete",
        cmd_versions_delete,
        "delete a version and its files (asks first; its number is not reused)",
        example="registry versions delete fraud 2 --yes",
    )
    _name_version(p)
    add_yes(p)
    p = command(
        versions,
        "download-uri",
        cmd_versions_download_uri,
        "print where a version's files are",
        example="registry versions download-uri fraud 3",
    )
    _name_version(p)

    p = command(
        top,
        "transition",
        cmd_transition,
        "move a version to another stage, as the stage policy allows",
        example="registry transition fraud 3 Production --archive-existing",
    )
    _name_version(p)
    p.add_argument("stage", help="None, Staging, Production or Archived (any case)")
    p.add_argument(
        "--archive-existing", action="store_true", help="archive the versions now in that stage, in the same step"
    )
