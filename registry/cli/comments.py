"""``registry comments ...``: comment on a version, list, edit and delete comments."""

from __future__ import annotations

from typing import Any

from registry.cli.context import EXIT_OK, Command, Context
from registry.cli.output import format_time, page

__all__ = ["add_commands"]


def cmd_comments_add(ctx: Context) -> int:
    a = ctx.args
    c = ctx.registry().create_comment(a.name, a.version, a.text)
    ctx.out.result(c, lambda: ctx.out.write(f"Commented on '{a.name}' version {c.version} (comment {c.id})."))
    return EXIT_OK


def cmd_comments_list(ctx: Context) -> int:
    a = ctx.args
    comments = ctx.registry().list_comments(a.name, a.version)
    rows = [
        {"time": format_time(c.creation_timestamp), "by": c.user_id or "", "comment": c.comment, "id": c.id}
        for c in comments
    ]
    ctx.out.result(page(comments), lambda: ctx.out.table(rows, ["time", "by", "comment", "id"], empty="(no comments)"))
    return EXIT_OK


def cmd_comments_edit(ctx: Context) -> int:
    a = ctx.args
    c = ctx.registry().update_comment(a.id, a.text)
    ctx.out.result(c, lambda: ctx.out.write(f"Edited comment {c.id}."))
    return EXIT_OK


def cmd_comments_delete(ctx: Context) -> int:
    a = ctx.args
    c = ctx.registry().get_comment(a.id)
    ctx.registry().delete_comment(a.id)
    ctx.out.result(c, lambda: ctx.out.write(f"Deleted comment {a.id}."))
    return EXIT_OK


def add_commands(group: Any, command: Command) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    comments = group("comments", "comments on versions: add, list, edit, delete")
    p = command(
        comments,
        "add",
        cmd_comments_add,
        "comment on a version",
        example="registry comments add fraud 3 'AUC 0.91 on holdout'",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("version", help="the version number")
    p.add_argument("text", help="the comment (Markdown)")
    p = command(
        comments,
        "list",
        cmd_comments_list,
        "a version's comments, oldest first",
        example="registry comments list fraud 3",
    )
    p.add_argument("name", help="the registered model")
    p.add_argument("version", help="the version number")
    p = command(
        comments,
        "edit",
        cmd_comments_edit,
        "replace the text of one of your comments",
        example="registry comments edit 7c1e 'AUC 0.92 on holdout'",
    )
    p.add_argument("id", help="the comment's id (from comments list)")
    p.add_argument("text", help="the new text")
    p = command(
        comments, "delete", cmd_comments_delete, "delete one of your comments", example="registry comments delete 7c1e"
    )
    p.add_argument("id", help="the comment's id (from comments list)")
