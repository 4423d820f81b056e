"""Showing a sync's progress: a bar redrawn in place on a terminal, a plain line every few seconds when the
output is a file or a pipe (logs), nothing when quiet. The library reports progress through a callback
(:class:`registry.exchange.sync.SyncProgress`); this module only draws it."""

from __future__ import annotations

import time
from typing import Any, TextIO

__all__ = ["ProgressBar", "human_bytes"]

_WIDTH = 24


def human_bytes(n: float) -> str:
    """``1.5 MB`` style sizes (powers of 1000, as disks and networks count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


class ProgressBar:
    """A progress callback for :meth:`registry.Registry.sync_from`.

    Args:
        stream: where to draw (stderr, so ``--json`` output on stdout stays clean).
        tty: redraw one line in place (``None``: whether ``stream`` is a terminal).
        quiet: draw nothing.
        every: seconds between plain lines when not a terminal.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, quiet: bool = False, every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.quiet = quiet
        self.every = every
        self._last_line = 0.0
        self._drawn = False

    def line(self, p: Any) -> str:
        """The text for one report (files, bytes, rate, and a bar on a terminal)."""
        rate = (p.bytes_done - p.bytes_reused) / p.elapsed if p.elapsed > 0 else 0.0
        share = p.bytes_done / p.bytes_total if p.bytes_total else 1.0
        text = (
            f"{p.files_done}/{p.files_total} files  {human_bytes(p.bytes_done)}/{human_bytes(p.bytes_total)}  "
            f"{human_bytes(rate)}/s"
        )
        if p.bytes_reused:
            text += f"  ({human_bytes(p.bytes_reused)} already here)"
        if self.tty:
            filled = round(share * _WIDTH)
            return f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {share * 100:3.0f}%  {text}"
        return f"sync: {share * 100:.0f}%  {text}"

    def __call__(self, p: Any) -> None:
        if self.quiet or (p.files_total == 0 and not self._drawn):
            return
        if self.tty:
            end = "\n" if p.finished else ""
            self.stream.write(f"\r\x1b[K{self.line(p)}{end}")
            self.stream.flush()
            self._drawn = not p.finished
            return
        now = time.monotonic()
        if p.finished or now - self._last_line >= self.every:
            self._last_line = now
            self._drawn = True
            self.stream.write(self.line(p) + "\n")
            self.stream.flush()
