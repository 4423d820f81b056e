"""``registry requests ...``: ask for a stage transition, approve, reject, withdraw and list requests."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, Command, Context
from registry.cli.output import format_time, page

__all__ = ["add_commands"]


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "version": r.version,
        "to": r.to_stage.value,
        "by": r.user_id or "",
        "asked": format_time(r.creation_timestamp),
        "status": r.status.value,
        "resolved by": r.resolved_by or "",
        "comment": r.resolution_comment or r.reason or r.comment or "",
    }


def cmd_requests_create(ctx: Context) -> int:
    a = ctx.args
    r = ctx.registry().create_transition_request(a.name, a.version, a.stage, comment=a.comment)
    ctx.out.result(
        r, lambda: ctx.out.write(f"Requested {r.to_stage.value} for '{a.name}' version {r.version} (request {r.id}).")
    )
    return EXIT_OK


def cmd_requests_approve(ctx: Context) -> int:
    a = ctx.args
    reg = ctx.registry()
    r = reg.approve_transition_request(
        a.name, a.version, a.stage, archive_existing_versions=a.archive_existing, comment=a.comment
    )
    ctx.out.result(
        r,
        lambda: ctx.out.write(
            f"Approved request {r.id} (by {r.user_id}): '{a.name}' version {r.version} is now in {r.to_stage.value}."
        ),
    )
    return EXIT_OK


def cmd_requests_reject(ctx: Context) -> int:
    a = ctx.args
    r = ctx.registry().reject_transition_request(a.name, a.version, a.stage, comment=a.comment)
    ctx.out.result(r, lambda: ctx.out.write(f"Rejected request {r.id} for '{a.name}' version {r.version}."))
    return EXIT_OK


def cmd_requests_delete(ctx: Context) -> int:
    a = ctx.args
    reg = ctx.registry()
    creator = a.creator or reg.user or ""
    pending = {r.id for r in reg.list_transition_requests(a.name, a.version) if r.user_id == creator}
    reg.delete_transition_request(a.name, a.version, a.stage, creator)
    # the request as it is now (withdrawn); if the creator had asked twice, both are withdrawn: the last is shown
    withdrawn = [
        r
        for r in reg.list_transition_requests(a.name, a.version, include_closed=True)
        if r.id in pending and not r.pending
    ]
    ctx.out.result(
        withdrawn[-1], lambda: ctx.out.write(f"Withdrew {creator}'s request for '{a.name}' version {a.version}.")
    )
    return EXIT_OK


def cmd_requests_list(ctx: Context) -> int:
    a = ctx.args
    requests = ctx.registry().list_transition_requests(a.name, a.version, include_closed=a.all)
    rows = [_row(r) for r in requests]
    columns = ["id", "version", "to", "by", "asked", "status", "resolved by", "comment"]
    ctx.out.result(page(requests), lambda: ctx.out.table(rows, columns, empty="(no pending requests)"))
    return EXIT_OK


def add_commands(group: Any, command: Command) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    requests = group("requests", "stage transition requests: create, approve, reject, delete, list")

    def target(p: Any) -> None:
        p.add_argument("name", help="the registered model")
        p.add_argument("version", help="the version number")
        p.add_argument("stage", help="the stage asked for: Staging, Production, Archived or None")

    p = command(
        requests,
        "create",
        cmd_requests_create,
        "ask for a version to move to a stage",
        example="registry requests create fraud 3 Production --comment 'AUC up 2 points'",
    )
    target(p)
    p.add_argument("--comment", help="why (shown to the approver)")
    p = command(
        requests,
        "approve",
        cmd_requests_approve,
        "approve a request and move the version, in one step",
        example="registry requests approve fraud 3 Production --archive-existing",
    )
    target(p)
    p.add_argument("--archive-existing", action="store_true", help="archive the versions in that stage now")
    p.add_argument("--comment", help="a note on the approval")
    p = command(
        requests,
        "reject",
        cmd_requests_reject,
        "reject the pending requests for a version and stage",
        example="registry requests reject fraud 3 Production --comment 'needs a fairness review'",
    )
    target(p)
    p.add_argument("--comment", help="why")
    p = command(
        requests,
        "delete",
        cmd_requests_delete,
        "withdraw a pending request (yours, or --creator's)",
        example="registry requests delete fraud 3 Production",
    )
    target(p)
    p.add_argument("--creator", help="whose request (default: you, $REGISTRY_USER or the login name)")
    p = command(
        requests,
        "list",
        cmd_requests_list,
        "a version's pending requests (--all: with closed ones)",
        example="registry requests list fraud 3 --all",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("version", help="the version number")
    p.add_argument("--all", action="store_true", help="also approved, rejected, withdrawn and closed requests")
