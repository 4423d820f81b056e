"""``registry search models|versions``: MLflow's filter language, ordering and paging."""

from __future__ import annotations

import sys
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context
from registry.cli.output import MODEL_COLUMNS, VERSION_COLUMNS, model_row, version_row

__all__ = ["add_commands"]


def _paged(ctx: Context, page: Any, rows: list[dict[str, Any]], columns: list[str]) -> None:
    def human() -> None:
        ctx.out.table(rows, columns, empty="(no matches)")
        if page.token:
            print(f"more results: add --page-token {page.token}", file=sys.stderr)

    ctx.out.result({"items": list(page), "next_page_token": page.token}, human)


def cmd_search_models(ctx: Context) -> int:
    a = ctx.args
    page = ctx.registry().search_registered_models(
        a.filter, max_results=a.max_results or 100, order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, page, [model_row(m) for m in page], MODEL_COLUMNS)
    return EXIT_OK


def cmd_search_versions(ctx: Context) -> int:
    a = ctx.args
    page = ctx.registry().search_model_versions(
        a.filter, max_results=a.max_results or 10_000, order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, page, [version_row(mv) for mv in page], ["name", *VERSION_COLUMNS])
    return EXIT_OK


def add_commands(group: Any, command: Command) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
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
