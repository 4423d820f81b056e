"""The commands that move models between registries: ``bundle create``, ``bundle import``, ``import-mlflow`` and
``push``. They call the client's methods (``export_bundle``, ``import_bundle``, ``import_mlflow``,
``push_to_mlflow``); conflicts exit with status 4 and list what differs, nothing written."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, Command, Context, add_quiet

__all__ = ["add_commands"]

_SELECTION_HELP = "NAME, NAME@alias, NAME/<version> or NAME/<Stage> (repeatable; default: every model)"


def _report(ctx: Context, data: dict[str, Any], lines: list[str]) -> None:
    def human() -> None:
        for line in lines:
            ctx.out.write(line)

    ctx.out.result(data, human)


def _versions(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name}/{number}" for name, number in pairs) or "none"


def cmd_bundle_create(ctx: Context) -> int:
    a = ctx.args
    written = ctx.registry().export_bundle(a.out, a.model, progress=ctx.progress())
    count = sum(len(v) for v in written.values())
    summary = ", ".join(f"{name} ({', '.join(map(str, v)) or 'no versions'})" for name, v in written.items())
    _report(
        ctx,
        {"path": a.out, "models": written},
        [f"Wrote {len(written)} model(s), {count} version(s) to {a.out}: {summary}."],
    )
    return EXIT_OK


def _import_lines(report: Any, where: str) -> list[str]:
    if not report.changed:
        return [f"Nothing to import from {where}: everything is here already ({_versions(report.existing_versions)})."]
    return [
        f"Imported from {where}.",
        f"  new models:     {', '.join(report.created_models) or 'none'}",
        f"  new versions:   {_versions(report.created_versions)}",
        f"  already here:   {_versions(report.existing_versions)}",
    ]


def cmd_bundle_import(ctx: Context) -> int:
    report = ctx.registry(create=True).import_bundle(ctx.args.bundle, progress=ctx.progress())
    _report(ctx, report.to_dict(), _import_lines(report, ctx.args.bundle))
    return EXIT_OK


def cmd_import_mlflow(ctx: Context) -> int:
    a = ctx.args
    report = ctx.registry(create=True).import_mlflow(
        a.source, workspace=a.workspace, artifacts_server=a.artifacts_server, timeout=a.timeout
    )
    _report(ctx, report.to_dict(), _import_lines(report, a.source))
    return EXIT_OK


def cmd_push(ctx: Context) -> int:
    a = ctx.args
    report = ctx.registry().push_to_mlflow(a.to, a.model, experiment=a.experiment, timeout=a.timeout)
    if not report.changed:
        lines = [f"{a.to} is up to date ({_versions(report.existing_versions)})."]
    else:
        lines = [
            f"Pushed to {a.to} ({report.changes} change(s)).",
            f"  new models:     {', '.join(report.created_models) or 'none'}",
            f"  new versions:   {_versions(report.created_versions)}",
            f"  already there:  {_versions(report.existing_versions)}",
        ]
    _report(ctx, report.to_dict(), lines)
    return EXIT_OK


def add_commands(top: Any, group: Any, command: Command) -> None:
    """Add these commands to the CLI's top-level subparsers (``group`` makes ``bundle``'s subcommands)."""
    bundle = group("bundle", "move models in one verified file: bundle create, bundle import")
    p = command(
        bundle,
        "create",
        cmd_bundle_create,
        "write models and versions with their history and files to a tar",
        example="registry bundle create fraud.tar --model fraud@champion",
    )
    p.add_argument("out", metavar="OUT.tar", help="the bundle file to write")
    p.add_argument("--model", action="append", metavar="SEL", help=_SELECTION_HELP)
    add_quiet(p)
    p = command(
        bundle,
        "import",
        cmd_bundle_import,
        "verify a bundle, then import it (numbers kept, idempotent)",
        example="registry bundle import fraud.tar",
    )
    p.add_argument("bundle", metavar="IN.tar", help="the bundle file to import")
    add_quiet(p)
    p = command(
        top,
        "import-mlflow",
        cmd_import_mlflow,
        "bring an MLflow registry in: models, versions and files",
        example="registry import-mlflow sqlite:///mlflow.db\nregistry import-mlflow http://127.0.0.1:5000",
    )
    p.add_argument("source", help="sqlite:///mlflow.db, an mlruns folder, or http://host:port of an MLflow server")
    p.add_argument("--workspace", default="default", help="the MLflow workspace to read (default: default)")
    p.add_argument("--artifacts-server", metavar="URL", help="an MLflow server to fetch mlflow-artifacts: files from")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="for each request to a server")
    p = command(
        top,
        "push",
        cmd_push,
        "replay this registry into a running MLflow server over its REST API",
        example="registry push --to http://127.0.0.1:5000 --model fraud",
    )
    p.add_argument("--to", required=True, metavar="URL", help="the MLflow server, e.g. http://127.0.0.1:5000")
    p.add_argument("--model", action="append", metavar="SEL", help=_SELECTION_HELP)
    p.add_argument("--experiment", default="mlregistry-push", help="the experiment for the pushed files' logged models")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="for each request to the server")
