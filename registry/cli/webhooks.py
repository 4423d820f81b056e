"""``registry webhooks ...`` and ``registry triggers ...``: the webhook and command-trigger commands.

They use the same context, output and error boundary as every command.
Secrets are never printed: a webhook shows ``has_secret`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import attrs

from registry.cli.context import EXIT_OK, Command, Context, add_yes
from registry.cli.output import format_time, page

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
    found = ctx.registry().list_webhooks(max_results=ctx.args.max_results, page_token=ctx.args.page_token)
    hooks = list(found)
    token = getattr(found, "token", None)

    def human() -> None:
        ctx.out.table([_hook_row(w) for w in hooks], _HOOK_COLUMNS, empty="(no webhooks)")
        if token:
            print(f"more results: add --page-token {token}", file=sys.stderr)

    ctx.out.result(page([_hook(w) for w in hooks], token), human)
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
    w = ctx.registry().get_webhook(ctx.args.id)
    ctx.confirm(f"Delete webhook {w.webhook_id} ('{w.name}')", "its secret and delivery log go with it")
    ctx.registry().delete_webhook(w.webhook_id)
    _show(ctx, w, f"Deleted webhook {w.webhook_id}.")
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
    ctx.out.result(page([d.to_dict() for d in log]), lambda: ctx.out.table(rows, columns, empty="(no deliveries)"))
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
    ctx.out.result(
        page([_hook(t) for t in triggers]), lambda: ctx.out.table(rows, _HOOK_COLUMNS, empty="(no triggers)")
    )
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
    t = ctx.registry().get_trigger(ctx.args.id)
    ctx.confirm(f"Delete trigger {t.trigger_id} ('{t.name}')")
    ctx.registry().delete_trigger(t.trigger_id)
    _show(ctx, t, f"Deleted trigger {t.trigger_id}.")
    return EXIT_OK


# -- the parser ----------------------------------------------------------------------------------------------------


def add_commands(group: Callable[[str, str], Any], command: Command) -> None:
    """Add the ``webhooks`` and ``triggers`` groups with the CLI's ``group`` and ``command`` helpers."""
    hooks = group("webhooks", "webhooks (MLflow's shape, delivered at least once): list, create, ..., deliver")
    p = command(hooks, "list", cmd_webhooks_list, "list webhooks", example="registry webhooks list --json")
    p.add_argument("--max-results", type=int, metavar="N", help="page size (a positive number)")
    p.add_argument("--page-token", help="the token of the previous page")
    p = command(
        hooks,
        "create",
        cmd_webhooks_create,
        "POST chosen events to a URL",
        example="registry webhooks create ci https://ci.example.com/hook --event model_version.created --secret s3cr3t",
    )
    p.add_argument("name", help="the webhook's name")
    p.add_argument("url", help="where to POST the events (http or https)")
    p.add_argument("--event", action="append", required=True, help="an event type, e.g. model_version.created")
    p.add_argument("--description", help="what the webhook is for")
    p.add_argument("--secret", help="sign requests with HMAC-SHA256 (X-MLflow-Signature)")
    p.add_argument("--status", default="ACTIVE", choices=["ACTIVE", "DISABLED"], help="ACTIVE (default) or DISABLED")
    p = command(
        hooks, "show", cmd_webhooks_show, "show a webhook (never its secret)", example="registry webhooks show wh-1a2b"
    )
    p.add_argument("id", help="the webhook's id")
    p = command(
        hooks,
        "update",
        cmd_webhooks_update,
        "change a webhook's name, URL, events, secret or status",
        example="registry webhooks update wh-1a2b --status DISABLED",
    )
    p.add_argument("id", help="the webhook's id")
    p.add_argument("--name", help="a new name")
    p.add_argument("--url", help="a new URL")
    p.add_argument("--event", action="append", help="replaces the event list (repeatable)")
    p.add_argument("--description", help="a new description")
    p.add_argument("--secret", help='a new secret ("" removes it)')
    p.add_argument("--status", choices=["ACTIVE", "DISABLED"], help="ACTIVE or DISABLED")
    p = command(
        hooks,
        "delete",
        cmd_webhooks_delete,
        "delete a webhook (asks first)",
        example="registry webhooks delete wh-1a2b --yes",
    )
    p.add_argument("id", help="the webhook's id")
    add_yes(p)
    p = command(
        hooks,
        "test",
        cmd_webhooks_test,
        "POST an example event now and report the response",
        example="registry webhooks test wh-1a2b --event model_version.created",
    )
    p.add_argument("id", help="the webhook's id")
    p.add_argument("--event", help="the example's event type (default: the webhook's first)")
    p = command(
        hooks,
        "deliveries",
        cmd_webhooks_deliveries,
        "the delivery log of a webhook or trigger",
        example="registry webhooks deliveries wh-1a2b",
    )
    p.add_argument("id", help="the webhook's or trigger's id")
    p = command(
        hooks,
        "deliver",
        cmd_webhooks_deliver,
        "deliver what webhooks and triggers are owed, from here",
        example="registry webhooks deliver --wait --timeout 30\nregistry webhooks deliver --follow",
    )
    p.add_argument("--wait", action="store_true", help="keep going until nothing is owed (or --timeout)")
    p.add_argument("--follow", action="store_true", help="run as a delivery worker until Ctrl-C (or --timeout)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--poll-interval", type=float, default=1.0, metavar="SECONDS", help="how often --follow looks")

    triggers = group("triggers", "local command triggers (the event as JSON on stdin): list, create, show, delete")
    command(triggers, "list", cmd_triggers_list, "list command triggers", example="registry triggers list")
    p = command(
        triggers,
        "create",
        cmd_triggers_create,
        "run a command for chosen events",
        example="registry triggers create notify --event model_version.created -- ./notify.sh",
    )
    p.add_argument("name", help="the trigger's name")
    p.add_argument("command", nargs="+", help="the command and its arguments (put them after --)")
    p.add_argument("--event", action="append", required=True, help="an event type (repeatable)")
    p.add_argument("--model", action="append", help="only for this model (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="kill the command after this")
    p.add_argument("--description", help="what the trigger is for")
    p.add_argument("--status", default="ACTIVE", choices=["ACTIVE", "DISABLED"], help="ACTIVE (default) or DISABLED")
    p = command(triggers, "show", cmd_triggers_show, "show a trigger", example="registry triggers show tr-9f8e")
    p.add_argument("id", help="the trigger's id")
    p = command(
        triggers,
        "delete",
        cmd_triggers_delete,
        "delete a trigger (asks first)",
        example="registry triggers delete tr-9f8e --yes",
    )
    p.add_argument("id", help="the trigger's id")
    add_yes(p)
