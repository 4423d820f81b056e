"""How the command line prints: aligned tables for people, JSON for scripts.

Every command hands its result to an `Output`, which prints either a human form (a table, or ``key:
value`` lines) or, with ``--json``, one JSON document (JSON Lines for streams such as ``events --follow``).

The JSON contract (``docs/cli-schema.json``, checked by ``tests/cli/test_json_contract.py``): a command that
shows, creates or changes one thing prints that thing (a deletion prints it as it was); a listing prints a
page, ``{"items": [...], "next_page_token": null | "..."}``, whether or not the listing pages; an error prints
``{"error_code", "message"}`` on stderr. Times are integer milliseconds since the epoch, version numbers ints.

Tables fit the terminal: on one (or with ``$COLUMNS`` set) the widest free-text column is cut with ``…`` so a
line is no wider than the screen; ``--wide`` (and any output that is not a terminal) keeps every character.
Times are shown in local time with their UTC offset.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.state import Event

__all__ = ["MODEL_COLUMNS", "VERSION_COLUMNS", "Output", "format_time", "model_row", "page", "version_row"]


MODEL_COLUMNS = ["name", "latest", "stages", "aliases", "updated", "description"]
"""The columns of a table of registered models (rows from `model_row()`)."""
VERSION_COLUMNS = ["version", "stage", "aliases", "created", "user", "description"]
"""The columns of a table of model versions (rows from `version_row()`)."""


# Columns of free text that give way when a table is wider than the terminal, most expendable first.
_SHRINKABLE = ("description", "what", "comment", "target", "error", "detail", "source", "stages", "aliases")
_ELLIPSIS = "…"


def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as local ``YYYY-MM-DD HH:MM:SS+HH:MM`` (with the zone's offset, so a time
    read from a log or another machine is never ambiguous); empty for ``None``."""
    if ms is None:
        return ""
    local = _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).astimezone()
    return local.isoformat(sep=" ", timespec="seconds")


def page(items: Sequence[Any], next_page_token: str | None = None) -> dict[str, Any]:
    """The one JSON shape of a listing: its items and the token of the next page (``None``: the last one)."""
    return {"items": list(items), "next_page_token": next_page_token}


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\t" in text) else text


def _aliases(mapping: dict[str, int]) -> str:
    return " ".join(f"@{a}->{v}" for a, v in sorted(mapping.items()))


def model_row(rm: RegisteredModel) -> dict[str, Any]:
    """The columns of a model in ``models list``."""
    latest = max((mv.version for mv in rm.latest_versions), default=None)
    stages = " ".join(
        f"{mv.current_stage.value}:{mv.version}" for mv in rm.latest_versions if mv.current_stage.value != "None"
    )
    return {
        "name": rm.name,
        "latest": "" if latest is None else latest,
        "stages": stages,
        "aliases": _aliases(rm.aliases),
        "updated": format_time(rm.last_updated_timestamp),
        "description": rm.description or "",
    }


def version_row(mv: ModelVersion) -> dict[str, Any]:
    """The columns of a version in ``versions list`` and ``search versions``."""
    return {
        "name": mv.name,
        "version": mv.version,
        "stage": mv.current_stage.value,
        "aliases": " ".join(f"@{a}" for a in mv.aliases),
        "created": format_time(mv.creation_timestamp),
        "user": mv.user_id or "",
        "description": mv.description or "",
    }


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def to_json(value: Any) -> Any:
    """Entities, events and plain values as JSON-ready data."""
    if isinstance(value, RegisteredModel | ModelVersion | Event):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


class Output:
    """Where a command's results go. ``json_mode`` selects JSON; ``stream`` defaults to ``sys.stdout``."""

    def __init__(self, json_mode: bool = False, stream: TextIO | None = None, *, wide: bool = False) -> None:
        self.json_mode = json_mode
        self.stream = stream if stream is not None else sys.stdout
        self.wide = wide

    def width(self) -> int | None:
        """The width tables must fit: the terminal's (or ``$COLUMNS``), or None for no limit (``--wide``, or
        output to a file or pipe, where nothing should be lost)."""
        if self.wide:
            return None
        if os.environ.get("COLUMNS", "").isdigit():
            return int(os.environ["COLUMNS"])
        try:
            is_tty = self.stream.isatty()
        except (AttributeError, ValueError):
            return None
        return shutil.get_terminal_size().columns if is_tty else None

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")

    def json(self, data: Any, *, lines: bool = False) -> None:
        """Print ``data`` as JSON (indented, or on one line for JSON Lines streams)."""
        text = json.dumps(to_json(data), indent=None if lines else 2, sort_keys=False, default=_json_default)
        self.write(text)
        if lines:
            self.stream.flush()

    def result(self, data: Any, human: Callable[[], None]) -> None:
        """Print ``data`` as JSON in JSON mode, else call ``human()`` to print it for people."""
        if self.json_mode:
            self.json(data)
        else:
            human()

    def table(self, rows: Sequence[dict[str, Any]], columns: Sequence[str], *, empty: str = "(none)") -> None:
        """An aligned table of ``rows`` with the given columns (upper-cased headers); ``empty`` when no rows."""
        if not rows:
            self.write(empty)
            return
        cells = [[_one_line(str(r.get(c, ""))) for c in columns] for r in rows]
        headers = [c.upper() for c in columns]
        widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
        limit = self.width()
        if limit is not None:
            widths = _fit(list(columns), headers, widths, limit)
        for row in [headers, *cells]:
            line = "  ".join(_cut(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True))
            self.write(line.rstrip())

    def record(self, fields: Sequence[tuple[str, Any]]) -> None:
        """``key: value`` lines, keys aligned; dict values print one ``k=v`` per line below their key."""
        width = max((len(k) for k, _ in fields), default=0)
        for key, value in fields:
            if isinstance(value, dict):
                self.write(f"{key + ':':<{width + 1}} {'' if value else '(none)'}".rstrip())
                for k, v in sorted(value.items()):
                    self.write(f"  {k}={v}")
            else:
                self.write(f"{key + ':':<{width + 1}} {'' if value is None else value}".rstrip())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + _ELLIPSIS


def _fit(columns: list[str], headers: list[str], widths: list[int], limit: int) -> list[int]:
    """Narrow the free-text columns (``_SHRINKABLE``, in that order) until a line fits ``limit``; a column keeps
    at least its header's width (if even that is too wide, the line stays wider: better than losing columns)."""
    widths = list(widths)
    excess = sum(widths) + 2 * (len(widths) - 1) - limit
    for name in _SHRINKABLE:
        if excess <= 0:
            break
        if name in columns:
            i = columns.index(name)
            floor = max(len(headers[i]), 8)
            cut = min(excess, max(widths[i] - floor, 0))
            widths[i] -= cut
            excess -= cut
    return widths
