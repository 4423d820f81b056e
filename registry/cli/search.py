"""``registry search models|versions``: MLflow's filter language, ordering and paging."""

from __future__ import annotations

import sys
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context
from registry.cli.output import MODEL_COLUMNS, VERSION_COLUMNS, model_row, page, version_row

__all__ = ["add_commands"]


def _paged(ctx: Context, found: Any, rows: list[dict[str, Any]], columns: list[str]) -> None:
    def human() -> None:
        ctx.out.table(rows, columns, empty="(no matches)")
        if found.token:
            print(f"more results: add --page-token {found.token}", file=sys.stderr)

    ctx.out.result(page(found, found.token), human)


def _max_results(value: int | None, default: int) -> int:
    # 0 and negatives reach the client, which refuses them as MLflow does (not silently the default).
    return default if value is None else value


def cmd_search_models(ctx: Context) -> int:
    a = ctx.args
    found = ctx.registry().search_registered_models(
        a.filter, max_results=_max_results(a.max_results, 100), order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, found, [model_row(m) for m in found], MODEL_COLUMNS)
    return EXIT_OK


def cmd_search_versions(ctx: Context) -> int:
    a = ctx.args
    found = ctx.registry().search_model_versions(
        a.filter, max_results=_max_results(a.max_results, 10_000), order_by=a.order_by, page_token=a.page_token
    )
    _paged(ctx, found, [version_row(mv) for mv in found], ["name", *VERSION_COLUMNS])
    return EXIT_OK


def add_commands(group: Any, command: Command) -> None:
    """Add these commands to the parser (``group`` makes a command group, ``command`` a command)."""
    search = group("search", "search with MLflow's filter language: models, versions")
    for name, handler, what, example in (
        (
            "models",
            cmd_search_models,
            "search registered models",
            "registry search models --filter \"name LIKE 'fraud%'\" --order-by 'name DESC' --max-results 10",
        ),
        (
            "versions",
            cmd_search_versions,
            "search model versions",
            "registry search versions --filter \"name = 'fraud' AND tags.validated = 'true'\"",
        ),
    ):
        p = command(search, name, handler, what, example=example)
        p.add_argument("--filter", help="e.g. \"name LIKE 'fraud%%' AND tags.team = 'risk'\"")
        p.add_argument("--order-by", action="append", metavar="CLAUSE", help="e.g. 'name DESC' (repeatable)")
        p.add_argument("--max-results", type=int, metavar="N", help="page size (a positive number)")
        p.add_argument("--page-token", help="the token printed with the previous page")
