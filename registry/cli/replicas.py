"""The ``registry sync`` command: make or keep a replica of a registry (or a bundle), or detach one. It calls
the client's ``sync_from``, ``follow_sync`` and ``detach_replica``; the progress is drawn by
`registry.cli.progress` on stderr."""

from __future__ import annotations

import sys
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context, add_quiet
from registry.client import Registry
from registry.errors import InvalidParameterValue, RegistryError

__all__ = ["add_commands", "sync_lines"]

_SELECTION_HELP = "only NAME, NAME@alias, NAME/<version> or NAME/<Stage> (repeatable; default: every model)"


def _show(ctx: Context, report: Any) -> None:
    def human() -> None:
        for line in sync_lines(report):
            ctx.out.write(line)

    ctx.out.result(report.to_dict(), human)


def sync_lines(report: Any) -> list[str]:
    """What a sync did, in words."""
    if report.up_to_date:
        return [f"Up to date with {report.source}."]
    if not report.changed:
        return [f"Synced from {report.source}: nothing changed."]
    lines = [f"Synced from {report.source}."]
    for label, names in (
        ("new models:    ", report.created_models),
        ("updated models:", report.synced_models),
        ("removed models:", report.deleted_models),
    ):
        if names:
            lines.append(f"  {label} {', '.join(names)}")
    if report.policy:
        lines.append(f"  stage policy:   {report.policy} (the source's)")
    lines.append(f"  files fetched:  {report.files_fetched} ({report.bytes_fetched} bytes)")
    return lines


def cmd_sync(ctx: Context) -> int:
    a = ctx.args
    if a.detach:
        if a.dest is not None or a.source is None:
            raise InvalidParameterValue("Give only the replica to detach: registry sync --detach DEST.")
        with Registry(a.source) as reg:
            source = reg.replica_source
            reg.detach_replica()
        ctx.out.result(
            {"detached": reg.uri, "source": source},
            lambda: ctx.out.write(f"Detached {reg.uri} from {source}: it is an ordinary registry now."),
        )
        return EXIT_OK
    if a.source is None or a.dest is None:
        raise InvalidParameterValue("Give the source and the replica: registry sync SOURCE DEST.")
    if a.interval <= 0:
        raise InvalidParameterValue(f"--interval must be a positive number of seconds, got {a.interval}.")
    progress = ctx.progress()
    with Registry(a.dest) as reg:
        if not a.follow:
            report = reg.sync_from(a.source, a.model, progress=progress)
            _show(ctx, report)
            return EXIT_OK

        def synced(report: Any) -> None:
            if report.up_to_date:
                return
            if ctx.out.json_mode:  # a stream: one report per line (JSON Lines), as events --follow
                ctx.out.json(report.to_dict(), lines=True)
            else:
                _show(ctx, report)
            sys.stdout.flush()

        def failed(exc: RegistryError) -> None:
            print(f"error: {exc} (trying again in {a.interval:g}s)", file=sys.stderr, flush=True)

        try:
            reg.follow_sync(a.source, a.model, interval=a.interval, progress=progress, on_sync=synced, on_error=failed)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def add_commands(top: Any, command: Command) -> None:
    """Add ``sync`` to the CLI's top-level subparsers."""
    p = command(
        top,
        "sync",
        cmd_sync,
        "make or update a verified replica of a registry or bundle (--follow: keep it)",
        example="registry sync s3://models/registry ./replica --model fraud@champion\n"
        "registry sync ./shared ./replica --follow --interval 10",
    )
    p.add_argument(
        "source", nargs="?", help="the registry folder or URI, or a bundle file (with --detach: the replica)"
    )
    p.add_argument("dest", nargs="?", help="the replica's folder (made on the first sync)")
    p.add_argument("--model", action="append", metavar="SEL", help=_SELECTION_HELP)
    p.add_argument("--follow", action="store_true", help="keep syncing when the source's journal moves, until Ctrl-C")
    p.add_argument(
        "--interval", type=float, default=5.0, metavar="SECONDS", help="how often --follow looks (default 5)"
    )
    add_quiet(p)
    p.add_argument("--detach", action="store_true", help="make the replica DEST an ordinary, writable registry")
