"""The ``registry`` command: the model registry from a shell.

``build_parser()`` describes every command; ``main(argv)`` runs one and returns the exit status. Commands only
call the public client (:class:`registry.Registry` and its helpers). One error boundary turns a
:class:`~registry.errors.RegistryError` into a one-line ``error: ...`` on stderr and an exit status:

====  =====================================================================
0     success
1     any other registry error (a corrupt file, a lock timeout, ...)
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
import datetime
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from registry import __version__
from registry.cli.ops import EXIT_CHECK_FAILED
from registry.cli.ops import add_commands as add_operation_commands
from registry.cli.output import Output, format_time, model_row, version_row
from registry.cli.webhooks import add_commands as add_webhook_commands
from registry.client import DEFAULT_REGISTRY_FOLDER, Registry
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
    "build_parser",
    "exit_code_for",
    "main",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
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


class _Context:
    """What a command needs: the parsed arguments, the output, and the registry (opened on first use)."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self._reg: Registry | None = None

    def registry(self, *, create: bool = False) -> Registry:
        if self._reg is None:
            uri = self.args.registry or os.environ.get("REGISTRY_URI") or DEFAULT_REGISTRY_FOLDER
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


# -- argument helpers --------------------------------------------------------------------------------------------


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _tags(pairs: list[tuple[str, str]] | None) -> dict[str, str] | None:
    return dict(pairs) if pairs else None


# -- models ------------------------------------------------------------------------------------------------------

_MODEL_COLUMNS = ["name", "latest", "stages", "aliases", "updated", "description"]
_VERSION_COLUMNS = ["version", "stage", "aliases", "created", "user", "description"]


def _show_model(ctx: _Context, name: str) -> None:
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
        ctx.out.table([version_row(mv) for mv in versions], _VERSION_COLUMNS, empty="(no versions)")

    ctx.out.result({**rm.to_dict(), "versions": versions}, human)


def cmd_models_list(ctx: _Context) -> int:
    models = ctx.registry().list_registered_models()
    ctx.out.result(models, lambda: ctx.out.table([model_row(m) for m in models], _MODEL_COLUMNS, empty="(no models)"))
    return EXIT_OK


def cmd_models_show(ctx: _Context) -> int:
    _show_model(ctx, ctx.args.name)
    return EXIT_OK


def cmd_models_create(ctx: _Context) -> int:
    a = ctx.args
    rm = ctx.registry(create=True).create_registered_model(a.name, tags=_tags(a.tag), description=a.description)
    ctx.out.result(rm, lambda: ctx.out.write(f"Created model '{rm.name}'."))
    return EXIT_OK


def cmd_models_rename(ctx: _Context) -> int:
    rm = ctx.registry().rename_registered_model(ctx.args.name, ctx.args.new_name)
    ctx.out.result(rm, lambda: ctx.out.write(f"Renamed model '{ctx.args.name}' to '{rm.name}'."))
    return EXIT_OK


def cmd_models_delete(ctx: _Context) -> int:
    ctx.registry().delete_registered_model(ctx.args.name)
    ctx.out.result({"deleted": ctx.args.name}, lambda: ctx.out.write(f"Deleted model '{ctx.args.name}'."))
    return EXIT_OK


def cmd_models_describe(ctx: _Context) -> int:
    rm = ctx.registry().update_registered_model(ctx.args.name, ctx.args.description)
    ctx.out.result(rm, lambda: ctx.out.write(f"Set the description of model '{rm.name}'."))
    return EXIT_OK


def cmd_models_tag(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().set_registered_model_tag(a.name, a.key, a.value)
    ctx.out.result({"name": a.name, "key": a.key, "value": a.value}, lambda: ctx.out.write(f"Tagged '{a.name}'."))
    return EXIT_OK


def cmd_models_untag(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().delete_registered_model_tag(a.name, a.key)
    ctx.out.result({"name": a.name, "key": a.key}, lambda: ctx.out.write(f"Removed tag '{a.key}' from '{a.name}'."))
    return EXIT_OK


# -- versions ----------------------------------------------------------------------------------------------------


def _show_version(ctx: _Context, name: str, version: str) -> None:
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


def cmd_versions_list(ctx: _Context) -> int:
    versions = ctx.registry().list_model_versions(ctx.args.name)
    rows = [version_row(mv) for mv in versions]
    ctx.out.result(versions, lambda: ctx.out.table(rows, _VERSION_COLUMNS, empty="(no versions)"))
    return EXIT_OK


def cmd_versions_show(ctx: _Context) -> int:
    _show_version(ctx, ctx.args.name, ctx.args.version)
    return EXIT_OK


def cmd_versions_register(ctx: _Context) -> int:
    a = ctx.args
    reg = ctx.registry(create=True)
    try:
        reg.create_registered_model(a.name)
    except ResourceAlreadyExists:
        pass  # registering under an existing name adds a version, as mlflow.register_model does
    source = a.source
    if "://" not in source and not source.startswith(("file:", "models:")) and os.path.exists(source):
        source = os.path.abspath(source)
    mv = reg.create_model_version(
        a.name, source, run_id=a.run_id, tags=_tags(a.tag), run_link=a.run_link, description=a.description
    )
    ctx.out.result(mv, lambda: ctx.out.write(f"Registered '{mv.name}' version {mv.version}."))
    return EXIT_OK


def cmd_versions_describe(ctx: _Context) -> int:
    a = ctx.args
    mv = ctx.registry().update_model_version(a.name, a.version, a.description)
    ctx.out.result(mv, lambda: ctx.out.write(f"Set the description of '{mv.name}' version {mv.version}."))
    return EXIT_OK


def cmd_versions_tag(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().set_model_version_tag(a.name, a.version, a.key, a.value)
    data = {"name": a.name, "version": a.version, "key": a.key, "value": a.value}
    ctx.out.result(data, lambda: ctx.out.write(f"Tagged '{a.name}' version {a.version}."))
    return EXIT_OK


def cmd_versions_untag(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().delete_model_version_tag(a.name, a.version, a.key)
    data = {"name": a.name, "version": a.version, "key": a.key}
    ctx.out.result(data, lambda: ctx.out.write(f"Removed tag '{a.key}' from '{a.name}' version {a.version}."))
    return EXIT_OK


def cmd_versions_delete(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().delete_model_version(a.name, a.version)
    data = {"deleted": {"name": a.name, "version": a.version}}
    ctx.out.result(data, lambda: ctx.out.write(f"Deleted '{a.name}' version {a.version}."))
    return EXIT_OK


def cmd_versions_download_uri(ctx: _Context) -> int:
    a = ctx.args
    uri = ctx.registry().get_model_version_download_uri(a.name, a.version)
    ctx.out.result({"name": a.name, "version": a.version, "download_uri": uri}, lambda: ctx.out.write(str(uri)))
    return EXIT_OK


# -- stages and aliases ------------------------------------------------------------------------------------------


def cmd_transition(ctx: _Context) -> int:
    a = ctx.args
    mv = ctx.registry().transition_model_version_stage(a.name, a.version, a.stage, a.archive_existing)
    message = f"'{mv.name}' version {mv.version} is now in {mv.current_stage.value}."
    ctx.out.result(mv, lambda: ctx.out.write(message))
    return EXIT_OK


def cmd_alias_set(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().set_registered_model_alias(a.name, a.alias, a.version)
    mv = ctx.registry().get_model_version_by_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(f"@{a.alias} -> '{a.name}' version {mv.version}."))
    return EXIT_OK


def cmd_alias_delete(ctx: _Context) -> int:
    a = ctx.args
    ctx.registry().delete_registered_model_alias(a.name, a.alias)
    ctx.out.result({"name": a.name, "alias": a.alias}, lambda: ctx.out.write(f"Removed @{a.alias} from '{a.name}'."))
    return EXIT_OK


def cmd_alias_show(ctx: _Context) -> int:
    a = ctx.args
    if a.alias is None:
        aliases = ctx.registry().get_registered_model(a.name).aliases
        rows = [{"alias": f"@{k}", "version": v} for k, v in sorted(aliases.items())]
        ctx.out.result(dict(aliases), lambda: ctx.out.table(rows, ["alias", "version"], empty="(no aliases)"))
        return EXIT_OK
    if a.at is not None:
        past = ctx.registry().version_at(a.name, _parse_time(a.at), alias=a.alias)
        if past is None:
            raise ResourceDoesNotExist(f"@{a.alias} of '{a.name}' pointed at no version at {a.at}.", name=a.name)
        ctx.out.result(past, lambda: ctx.out.write(str(past.version)))
        return EXIT_OK
    mv = ctx.registry().get_model_version_by_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(str(mv.version)))
    return EXIT_OK


def cmd_alias_rollback(ctx: _Context) -> int:

    a = ctx.args
    before = ctx.registry().get_model_version_by_alias(a.name, a.alias).version
    mv = ctx.registry().rollback_alias(a.name, a.alias)
    ctx.out.result(mv, lambda: ctx.out.write(f"@{a.alias} of '{a.name}': version {before} -> {mv.version}."))
    return EXIT_OK


def _parse_time(text: str) -> int:
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


# -- search --------------------------------------------------------------------------------------------------------


def _paged(ctx: _Context, page: Any, rows: list[dict[str, Any]], columns: list[str]) -> None:
    def human() -> None:
        ctx.out.table(rows, columns, empty="(no matches)")
        if page.token:
            print(f"more results: add --page-token {page.token}", file=sys.stderr)

    ctx.out.result({"items": list(page), "next_page_token": page.token}, human)


def cmd_search_models(ctx: _Context) -> int:
    a = ctx.args
    page = ctx.registry().search_registered_models(
        a.filter, max_results=a.max_results or 100, order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, page, [model_row(m) for m in page], _MODEL_COLUMNS)
    return EXIT_OK


def cmd_search_versions(ctx: _Context) -> int:
    a = ctx.args
    page = ctx.registry().search_model_versions(
        a.filter, max_results=a.max_results or 10_000, order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, page, [version_row(mv) for mv in page], ["name", *_VERSION_COLUMNS])
    return EXIT_OK


# -- the parser ----------------------------------------------------------------------------------------------------

Handler = Callable[[_Context], int]


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
        p = parent.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(handler=handler)
        return p

    def tag_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tag", metavar="KEY=VALUE", type=_key_value, action="append", help="a tag (repeatable)")
        p.add_argument("--description", help="a description")

    # models
    models = group("models", "registered models: list, show, create, rename, delete, describe, tag, untag")
    command(models, "list", cmd_models_list, "list registered models")
    command(models, "show", cmd_models_show, "show a model and its versions").add_argument("name")
    p = command(models, "create", cmd_models_create, "create a registered model")
    p.add_argument("name")
    tag_options(p)
    p = command(models, "rename", cmd_models_rename, "rename a model (versions, aliases and history follow)")
    p.add_argument("name")
    p.add_argument("new_name")
    p = command(models, "delete", cmd_models_delete, "delete a model with all its versions and files")
    p.add_argument("name")
    p = command(models, "describe", cmd_models_describe, "set a model's description")
    p.add_argument("name")
    p.add_argument("description")
    p = command(models, "tag", cmd_models_tag, "set a tag on a model")
    p.add_argument("name")
    p.add_argument("key")
    p.add_argument("value")
    p = command(models, "untag", cmd_models_untag, "delete a tag from a model")
    p.add_argument("name")
    p.add_argument("key")

    # versions
    versions = group("versions", "model versions: list, show, register, describe, tag, untag, delete, download-uri")
    command(versions, "list", cmd_versions_list, "list a model's versions").add_argument("name")
    p = command(versions, "show", cmd_versions_show, "show one version")
    p.add_argument("name")
    p.add_argument("version")
    p = command(versions, "register", cmd_versions_register, "register a model folder (or URI) as a new version")
    p.add_argument("name")
    p.add_argument("source", help="a model folder (copied into the registry), a models:/ URI, or any URI")
    p.add_argument("--run-id", help="the run that produced the model")
    p.add_argument("--run-link", help="a link to that run")
    tag_options(p)
    p = command(versions, "describe", cmd_versions_describe, "set a version's description")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("description")
    p = command(versions, "tag", cmd_versions_tag, "set a tag on a version")
    for arg in ("name", "version", "key", "value"):
        p.add_argument(arg)
    p = command(versions, "untag", cmd_versions_untag, "delete a tag from a version")
    for arg in ("name", "version", "key"):
        p.add_argument(arg)
    p = command(versions, "delete", cmd_versions_delete, "delete a version and its files (its number is not reused)")
    p.add_argument("name")
    p.add_argument("version")
    p = command(versions, "download-uri", cmd_versions_download_uri, "print where a version's files are")
    p.add_argument("name")
    p.add_argument("version")

    # stages and aliases
    p = command(top, "transition", cmd_transition, "move a version to another stage, as the stage policy allows")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("stage", help="None, Staging, Production or Archived (any case)")
    p.add_argument(
        "--archive-existing", action="store_true", help="archive the versions now in that stage, in the same step"
    )
    aliases = group("alias", "aliases: set, delete, show, rollback")
    p = command(aliases, "set", cmd_alias_set, "point an alias at a version (moving it if it exists)")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("version")
    p = command(aliases, "delete", cmd_alias_delete, "remove an alias")
    p.add_argument("name")
    p.add_argument("alias")
    p = command(aliases, "show", cmd_alias_show, "print the version an alias points at (or all aliases of a model)")
    p.add_argument("name")
    p.add_argument("alias", nargs="?")
    p.add_argument("--at", metavar="TIME", help="where the alias pointed at TIME (ISO 8601, or epoch milliseconds)")
    p = command(aliases, "rollback", cmd_alias_rollback, "point an alias back at the version it pointed at before")
    p.add_argument("name")
    p.add_argument("alias")

    # search
    search = group("search", "search with MLflow's filter language: models, versions")
    for name, handler, what in (
        ("models", cmd_search_models, "search registered models"),
        ("versions", cmd_search_versions, "search model versions"),
    ):
        p = command(search, name, handler, what)
        p.add_argument("--filter", help="e.g. \"name LIKE 'fraud%%' AND tags.team = 'risk'\"")
        p.add_argument("--order-by", action="append", metavar="CLAUSE", help="e.g. 'name DESC' (repeatable)")
        p.add_argument("--max-results", type=int, help="page size")
        p.add_argument("--page-token", help="the token printed with the previous page")

    add_operation_commands(top, command)
    add_webhook_commands(group, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``registry`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=bool(args.json))
    ctx = _Context(args, out)
    try:
        return int(args.handler(ctx))
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
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
