"""The commands that put models to work or look after the registry: ``load-predict``, ``export``,
``history``, ``events``, ``check``, ``serve`` and ``demo`` .

They receive the CLI's context (parsed arguments, output, the registry opened on first use) and return an exit
status; errors propagate to the CLI's one error boundary.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from registry.cli.context import EXIT_CHECK_FAILED, EXIT_OK, Command, Context, add_quiet, add_yes
from registry.cli.output import format_time, page
from registry.errors import RegistryError, ResourceDoesNotExist

__all__ = ["add_commands"]

_INPUT_FORMAT_HELP = "tabular input as a pandas DataFrame or as row dicts (auto: pandas when installed)"


def cmd_load_predict(ctx: Context) -> int:
    from registry.serving import scoring

    a = ctx.args
    if a.input == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            with open(a.input, "rb") as f:
                body = f.read()
        except OSError as exc:
            message = f"Cannot read the input file {a.input!r}: {exc.strerror}."
            raise ResourceDoesNotExist(message, path=a.input) from None
    content_type = a.content_type or ("text/csv" if a.input.lower().endswith(".csv") else "application/json")
    model = ctx.registry().load_model(a.uri)
    parsed = scoring.parse_request(body, content_type, param_names=scoring.model_param_names(model))
    data = scoring.to_model_input(parsed, a.input_format, scoring.model_input_schema(model))
    result = model.predict(data, params=parsed.params) if parsed.params is not None else model.predict(data)
    ctx.out.json(scoring.jsonable(result if parsed.unwrapped else {"predictions": result}))
    return EXIT_OK


def cmd_export(ctx: Context) -> int:
    a = ctx.args
    mv = ctx.registry().resolve_model_uri(a.uri)
    dest = ctx.registry().export_model_version(a.uri, a.dest, progress=ctx.progress())
    data = {"name": mv.name, "version": mv.version, "digest": mv.digest, "path": dest}
    ctx.out.result(data, lambda: ctx.out.write(f"Exported '{mv.name}' version {mv.version} to {dest}."))
    return EXIT_OK


def _event_row(e: Any) -> dict[str, Any]:
    from registry.domain.history import describe_event

    return {
        "seq": e.seq,
        "time": format_time(e.timestamp),
        "actor": e.actor or "",
        "model": e.name or "",
        "event": e.type,
        "what": describe_event(e),
    }


def cmd_history(ctx: Context) -> int:
    a = ctx.args
    events = ctx.registry().history(a.name, a.version)
    rows = [_event_row(e) for e in events]
    ctx.out.result(page(events), lambda: ctx.out.table(rows, ["seq", "time", "actor", "event", "what"]))
    return EXIT_OK


def cmd_events(ctx: Context) -> int:
    a = ctx.args
    reg = ctx.registry()
    if a.follow:
        for event in reg.follow(a.since, model=a.model, types=a.type, poll_interval=a.poll_interval):
            _print_event_line(ctx, event)
        return EXIT_OK  # pragma: no cover - follow ends only on Ctrl-C
    events = reg.events(a.since, model=a.model, types=a.type, limit=a.limit)
    rows = [_event_row(e) for e in events]
    columns = ["seq", "time", "actor", "model", "what"]
    ctx.out.result(page(events), lambda: ctx.out.table(rows, columns, empty="(no events)"))
    return EXIT_OK


def _print_event_line(ctx: Context, event: Any) -> None:
    if ctx.out.json_mode:
        ctx.out.json(event, lines=True)
    else:
        r = _event_row(event)
        ctx.out.write(f"{r['seq']:>6}  {r['time']}  {r['actor']:<10} {r['model']:<20} {r['what']}")
        ctx.out.stream.flush()


# What to do about a problem `check --fix` cannot repair.
_UNFIXABLE_ADVICE = {
    "corrupt_version": "re-register the model or delete the version",
    "history_mismatch": "restore the registry folder from a backup",
    "journal_damaged": "restore the registry folder from a backup",
}


def _confirm_removals(ctx: Context) -> None:
    """``check --fix`` removes leftovers: look first (without fixing) and ask before removing any."""
    preview = ctx.registry().check(fix=False, progress=ctx.progress())
    removals = [p for p in preview.leftovers if p.fixable]
    if removals:
        shown = ", ".join(p.path for p in removals[:3]) + (
            f" and {len(removals) - 3} more" if len(removals) > 3 else ""
        )
        ctx.confirm(f"Remove {len(removals)} leftover file(s) or folder(s)", shown)


def cmd_check(ctx: Context) -> int:
    a = ctx.args
    if a.fix and not a.yes:
        _confirm_removals(ctx)
    report = ctx.registry().check(fix=a.fix, progress=ctx.progress())

    def human() -> None:
        ctx.out.write(f"Verified the files of {report.versions_checked} version(s).")
        for p in report.problems:
            state = "fixed" if p.fixed else "PROBLEM"
            ctx.out.write(f"{state}: {p.kind}: {p.path}: {p.detail}")
        for p in report.leftovers:
            state = "removed" if p.fixed else "leftover"
            ctx.out.write(f"{state}: {p.kind}: {p.path}: {p.detail}")
        if report.history is not None and report.history.ok:
            ctx.out.write(report.history.describe().capitalize() + ".")
        if report.rebuilt:
            ctx.out.write("Rebuilt the model documents and checkpoint from the journal.")
        repairs = [p for p in report.problems if p.fixable and not p.fixed]
        removals = [p for p in report.leftovers if p.fixable and not p.fixed]
        if not a.fix and (repairs or removals):
            what = " and ".join(
                x for x, found in (("rebuild the caches from the journal", repairs), ("remove the leftovers", removals))
                if found
            )  # fmt: skip
            ctx.out.write(f"Run `registry check --fix` to {what}.")
        for kind in sorted({p.kind for p in report.problems if not p.fixable and not p.fixed}):
            ctx.out.write(f"{kind}: --fix cannot repair this; {_UNFIXABLE_ADVICE.get(kind, 'see the details above')}.")
        if report.ok:
            ctx.out.write("OK" if not report.problems else "OK (all problems fixed)")

    ctx.out.result(report.to_dict(), human)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def cmd_serve(ctx: Context) -> int:
    from registry.serving.server import ScoringServer, ServerLimits

    a = ctx.args
    timeouts = {} if a.timeout is None else {"header_timeout": a.timeout, "body_timeout": a.timeout}
    limits = ServerLimits(max_body_bytes=a.max_body_bytes, max_connections=a.max_connections, **timeouts)
    reg = ctx.registry(create=a.sync_from is not None)
    stop = threading.Event()
    follower = None
    if a.sync_from is not None:
        follower = _start_sync(reg, a, stop)
    try:
        server = ScoringServer(
            reg,
            a.uri,
            host=a.host,
            port=a.port,
            poll_interval=a.poll_interval,
            input_format=a.input_format,
            limits=limits,
            access_log=a.access_log,
        )
    except BaseException:
        stop.set()  # the sync thread ends with the command
        raise
    mv = server.served.version
    print(
        f"Serving {a.uri} ('{mv.name}' version {mv.version}) on {server.url} "
        f"(POST /invocations, GET /ping /health /version /model). Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.shutdown()
        if follower is not None:
            follower.join(timeout=10)
    return EXIT_OK


def _start_sync(reg: Any, a: Any, stop: threading.Event) -> threading.Thread:
    """``serve --sync-from``: sync once (so there is something to serve), then keep the replica current in a
    thread; the server's own reload watcher sees the moved alias in the replica and swaps the model in."""
    selections = a.sync_model
    if not selections and a.uri.startswith("models:/"):
        selections = [a.uri[len("models:/") :]]
    try:
        report = reg.sync_from(a.sync_from, selections)
    except RegistryError as exc:
        if reg.replica_source is None:
            raise  # nothing synced before: nothing to serve
        print(
            f"registry serve: cannot sync from {a.sync_from} now ({exc}); serving what the replica holds",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(f"Synced from {report.source} (models: {', '.join(selections or ['all'])}).", file=sys.stderr, flush=True)

    def failed(exc: Exception) -> None:
        print(f"registry serve: sync from {a.sync_from} failed: {exc}; still serving", file=sys.stderr, flush=True)

    thread = threading.Thread(
        target=reg.follow_sync,
        args=(a.sync_from, selections),
        kwargs={"interval": a.sync_interval, "stop": stop, "on_error": failed},
        name="registry-serve-sync",
        daemon=True,
    )
    thread.start()
    return thread


def cmd_demo(ctx: Context) -> int:
    from registry.cli.demo import run_demo

    run_demo(ctx.registry(create=True), out=ctx.out, name=ctx.args.name)
    return EXIT_OK


def add_commands(top: Any, command: Command) -> None:
    """Add these commands to the CLI's top-level subparsers with its ``command`` helper."""
    p = command(
        top,
        "load-predict",
        cmd_load_predict,
        "load a model and predict on a JSON or CSV input file",
        example="registry load-predict models:/fraud@champion --input rows.json",
    )
    p.add_argument("uri", help="models:/name@alias, models:/name/3, models:/name/Production, or a model folder")
    p.add_argument("--input", required=True, help="a file in MLflow's scoring format (JSON or .csv), or - for stdin")
    p.add_argument("--content-type", help="application/json or text/csv (default: by file extension)")
    p.add_argument("--input-format", choices=["auto", "pandas", "records"], default="auto", help=_INPUT_FORMAT_HELP)
    p = command(
        top,
        "export",
        cmd_export,
        "copy a version's files (verified) into a new folder",
        example="registry export models:/fraud@champion ./fraud-model",
    )
    p.add_argument("uri", help="a models:/ URI")
    p.add_argument("dest", help="a new or empty folder")
    add_quiet(p)
    p = command(
        top,
        "history",
        cmd_history,
        "what happened to a model (or one version), from the journal",
        example="registry history fraud 3",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("version", nargs="?", help="only this version's history")
    p = command(
        top,
        "events",
        cmd_events,
        "list the registry's events; --follow prints new ones as they happen",
        example="registry events --since 120 --type 'model_version.*'\nregistry events --follow --json",
    )
    p.add_argument("--since", type=int, default=0, metavar="SEQ", help="only events after this sequence number")
    p.add_argument("--limit", type=int, help="at most this many events")
    p.add_argument("--model", metavar="NAME", help="only events of this model")
    p.add_argument("--type", action="append", metavar="TYPE", help="only events of this type or pattern (repeatable)")
    p.add_argument(
        "--follow", action="store_true", help="keep printing new events (from any process) until Ctrl-C (JSON Lines)"
    )
    p.add_argument("--poll-interval", type=float, default=0.5, metavar="SECONDS", help="how often --follow looks")
    p = command(
        top,
        "check",
        cmd_check,
        "verify every version's files; find orphan folders and leftovers",
        example="registry check\nregistry check --fix --yes",
    )
    p.add_argument(
        "--fix", action="store_true", help="remove orphans and leftovers (asks first), and rebuild the caches"
    )
    add_yes(p)
    add_quiet(p)
    p = command(
        top,
        "serve",
        cmd_serve,
        "serve a model over HTTP (MLflow's scoring protocol), following its alias",
        example="registry serve models:/fraud@champion --port 5001",
    )
    p.add_argument("uri", help="e.g. models:/fraud@champion or models:/fraud/Production")
    # -h is --host and -p --port, as in `mlflow models serve` (help stays --help)
    p.add_argument("-h", "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("-p", "--port", type=int, default=5000, help="port (default 5000; 0 picks a free one)")
    p.add_argument("--poll-interval", type=float, default=1.0, metavar="SECONDS", help="how often to look for a move")
    p.add_argument("--input-format", choices=["auto", "pandas", "records"], default="auto", help=_INPUT_FORMAT_HELP)
    p.add_argument(
        "--max-connections", type=int, default=64, metavar="N", help="connections served at once (503 beyond)"
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=64 * 1024 * 1024, metavar="N", help="largest request body (413 beyond)"
    )
    p.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS",
        help="for a request's headers, and for its body, to arrive (408 beyond; default 10 s and 30 s)",
    )  # fmt: skip
    p.add_argument(
        "--no-access-log", dest="access_log", action="store_false", help="no access log line per request on stderr"
    )
    p.add_argument("--sync-from", metavar="SOURCE", help="keep the registry a replica of SOURCE (a registry or bundle)")
    p.add_argument(
        "--sync-model", action="append", metavar="SEL", help="what to replicate (default: the served URI's model@alias)"
    )
    p.add_argument("--sync-interval", type=float, default=5.0, metavar="SECONDS", help="how often to look at SOURCE")
    p = command(
        top,
        "demo",
        cmd_demo,
        "log, register, promote, alias, load and predict with a small model",
        example="registry demo --name demo-fraud",
    )
    p.add_argument("--name", default="demo-fraud", help="the registered model to use (default demo-fraud)")
