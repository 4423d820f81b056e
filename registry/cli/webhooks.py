"""``registry webhooks ...`` and ``registry triggers ...``: the webhook and command-trigger commands.

They use the same context, output and error boundary as every command.
Secrets are never printed: a webhook shows ``has_secret`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from registry.cli.context import EXIT_OK, Command, Context
from registry.cli.output import format_time

__all__ = ["add_commands"]


def _hook(w: Any) -> dict[str, Any]:
    data = attrs.asdict(w, recurse=False)
    data.pop("secret", None)
    data["has_secret"] = bool(getattr(w, "secret", None))
    data["events"] = list(w.events)
    data["status"] = str(w.status.value if hasattr(w.status, "value") else w.status)
    for key in ("command", "model"):
        if isinstance(data.get(key), tuple):
            data[key] = list(data[key])
    return data


def _hook_row(w: Any) -> dict[str, Any]:
    d = _hook(w)
    target = d.get("url") or " ".join(d.get("command") or [])
    return {
        "id": d.get("webhook_id") or d.get("trigger_id"),
        "name": d["name"],
        "status": d["status"],
        "events": ",".join(d["events"]),
        "target": target,
        "created": format_time(d["creation_timestamp"]),
    }


_HOOK_COLUMNS = ["id", "name", "status", "events", "target", "created"]


def _show(ctx: Context, hook: Any, message: str | None = None) -> None:
    data = _hook(hook)
    if message is None:
        human = [(k, format_time(v) if k.endswith("_timestamp") else v) for k, v in data.items()]
        ctx.out.result(data, lambda: ctx.out.record(human))
    else:
        ctx.out.result(data, lambda: ctx.out.write(message))


# -- webhooks ------------------------------------------------------------------------------------------------------


def cmd_webhooks_list(ctx: Context) -> int:
    hooks = list(ctx.registry().list_webhooks(max_results=ctx.args.max_results, page_token=ctx.args.page_token))
    ctx.out.result([_hook(w) for w in hooks], lambda: ctx.out.table([_hook_row(w) for w in hooks], _HOOK_COLUMNS))
    return EXIT_OK


def cmd_webhooks_create(ctx: Context) -> int:
    a = ctx.args
    w = ctx.registry().create_webhook(a.name, a.url, a.event, a.description, a.secret, a.status)
    _show(ctx, w, f"Created webhook {w.webhook_id} ('{w.name}').")
    return EXIT_OK


def cmd_webhooks_show(ctx: Context) -> int:
    _show(ctx, ctx.registry().get_webhook(ctx.args.id))
    return EXIT_OK


def cmd_webhooks_update(ctx: Context) -> int:
    a = ctx.args
    w = ctx.registry().update_webhook(a.id, a.name, a.description, a.url, a.event, a.secret, a.status)
    _show(ctx, w, f"Updated webhook {w.webhook_id}.")
    return EXIT_OK


def cmd_webhooks_delete(ctx: Context) -> int:
    ctx.registry().delete_webhook(ctx.args.id)
    ctx.out.result({"deleted": ctx.args.id}, lambda: ctx.out.write(f"Deleted webhook {ctx.args.id}."))
    return EXIT_OK


def cmd_webhooks_test(ctx: Context) -> int:
    result = ctx.registry().test_webhook(ctx.args.id, ctx.args.event)
    data = attrs.asdict(result)

    def human() -> None:
        ctx.out.record([(k, v) for k, v in data.items()])

    ctx.out.result(data, human)
    return EXIT_OK if result.success else 1


def cmd_webhooks_deliveries(ctx: Context) -> int:
    log = ctx.registry().list_webhook_deliveries(ctx.args.id)
    rows = [
        {
            "seq": d.seq,
            "event": d.event_type,
            "status": d.status,
            "attempts": d.attempts,
            "time": format_time(d.timestamp),
            "response": d.response_status or "",
            "error": d.error or "",
        }
        for d in log
    ]
    columns = ["seq", "event", "status", "attempts", "time", "response", "error"]
    ctx.out.result([d.to_dict() for d in log], lambda: ctx.out.table(rows, columns, empty="(no deliveries)"))
    return EXIT_OK


def cmd_webhooks_deliver(ctx: Context) -> int:
    from registry.webhooks import deliver_pending, run_worker

    a = ctx.args
    reg = ctx.registry()
    if a.follow:
        report = run_worker(reg, poll_interval=a.poll_interval, timeout=a.timeout)
    else:
        report = deliver_pending(reg, wait=a.wait, timeout=a.timeout)
    data = attrs.asdict(report)
    message = (
        f"Delivered {report.delivered}, failed {report.failed}, retried later {report.retried_later}, "
        f"still pending {report.pending}." + (" Another worker was delivering." if report.busy else "")
    )
    ctx.out.result(data, lambda: ctx.out.write(message))
    return EXIT_OK


# -- triggers ------------------------------------------------------------------------------------------------------


def cmd_triggers_list(ctx: Context) -> int:
    triggers = ctx.registry().list_triggers()
    rows = [_hook_row(t) for t in triggers]
    ctx.out.result([_hook(t) for t in triggers], lambda: ctx.out.table(rows, _HOOK_COLUMNS, empty="(no triggers)"))
    return EXIT_OK


def cmd_triggers_create(ctx: Context) -> int:
    a = ctx.args
    t = ctx.registry().create_trigger(a.name, a.command, a.event, a.model, a.timeout, a.description, a.status)
    _show(ctx, t, f"Created trigger {t.trigger_id} ('{t.name}').")
    return EXIT_OK


def cmd_triggers_show(ctx: Context) -> int:
    _show(ctx, ctx.registry().get_trigger(ctx.args.id))
    return EXIT_OK


def cmd_triggers_delete(ctx: Context) -> int:
    ctx.registry().delete_trigger(ctx.args.id)
    ctx.out.result({"deleted": ctx.args.id}, lambda: ctx.out.write(f"Deleted trigger {ctx.args.id}."))
    return EXIT_OK


# -- the parser ----------------------------------------------------------------------------------------------------


def add_commands(group: Callable[[str, str], Any], command: Command) -> None:
    """Add the ``webhooks`` and ``triggers`` groups with the CLI's ``group`` and ``command`` helpers."""
    hooks = group("webhooks", "webhooks (MLflow's shape, delivered at least once): list, create, ..., deliver")
    p = command(hooks, "list", cmd_webhooks_list, "list webhooks")
    p.add_argument("--max-results", type=int, help="page size")
    p.add_argument("--page-token", help="the token of the previous page")
    p = command(hooks, "create", cmd_webhooks_create, "POST chosen events to a URL")
    p.add_argument("name")
    p.add_argument("url")
    p.add_argument("--event", action="append", required=True, help="an event type, e.g. model_version.created")
    p.add_argument("--description")
    p.add_argument("--secret", help="sign requests with HMAC-SHA256 (X-MLflow-Signature)")
    p.add_argument("--status", default="ACTIVE", choices=["ACTIVE", "DISABLED"])
    command(hooks, "show", cmd_webhooks_show, "show a webhook (never its secret)").add_argument("id")
    p = command(hooks, "update", cmd_webhooks_update, "change a webhook's name, URL, events, secret or status")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--url")
    p.add_argument("--event", action="append", help="replaces the event list (repeatable)")
    p.add_argument("--description")
    p.add_argument("--secret", help='a new secret ("" removes it)')
    p.add_argument("--status", choices=["ACTIVE", "DISABLED"])
    command(hooks, "delete", cmd_webhooks_delete, "delete a webhook").add_argument("id")
    p = command(hooks, "test", cmd_webhooks_test, "POST an example event now and report the response")
    p.add_argument("id")
    p.add_argument("--event", help="the example's event type (default: the webhook's first)")
    p = command(hooks, "deliveries", cmd_webhooks_deliveries, "the delivery log of a webhook or trigger")
    p.add_argument("id")
    p = command(hooks, "deliver", cmd_webhooks_deliver, "deliver what webhooks and triggers are owed, from here")
    p.add_argument("--wait", action="store_true", help="keep going until nothing is owed (or --timeout)")
    p.add_argument("--follow", action="store_true", help="run as a delivery worker until Ctrl-C (or --timeout)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--poll-interval", type=float, default=1.0, metavar="SECONDS", help="how often --follow looks")

    triggers = group("triggers", "local command triggers (the event as JSON on stdin): list, create, show, delete")
    command(triggers, "list", cmd_triggers_list, "list command triggers")
    p = command(triggers, "create", cmd_triggers_create, "run a command for chosen events")
    p.add_argument("name")
    p.add_argument("command", nargs="+", help="the command and its arguments (put them after --)")
    p.add_argument("--event", action="append", required=True, help="an event type (repeatable)")
    p.add_argument("--model", action="append", help="only for this model (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="kill the command after this")
    p.add_argument("--description")
    p.add_argument("--status", default="ACTIVE", choices=["ACTIVE", "DISABLED"])
    command(triggers, "show", cmd_triggers_show, "show a trigger").add_argument("id")
    command(triggers, "delete", cmd_triggers_delete, "delete a trigger").add_argument("id")
