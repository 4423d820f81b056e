"""Showing a long command's progress (``versions register``, ``export``, ``check``, ``sync``): a bar redrawn in
place on a terminal, a plain line every few seconds when stderr is a file or a pipe (logs), nothing with
``--quiet`` or ``--json``.

The library reports progress through a callback (`registry.domain.progress.Progress`, and
`registry.exchange.sync.SyncProgress` for a sync) at most ten times a second; this module only draws it.
It is a few dozen lines of our own rather than a dependency (tqdm, rich): the package runs on edge devices where
every dependency is one more thing to ship and audit, and a bar of files, bytes, rate and time left needs no
more than this. ``benchmarks/bench_progress.py`` measures that drawing it does not slow the work.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

__all__ = ["DEFAULT_DELAY", "ProgressBar", "format_duration", "human_bytes"]

_WIDTH = 24

DEFAULT_DELAY = 0.5
"""Seconds of work before anything is drawn: a quick command stays quiet (``$REGISTRY_PROGRESS_DELAY``)."""


def human_bytes(n: float) -> str:
    """``1.5 MB`` style sizes (powers of 1000, as disks and networks count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(int(seconds + 0.5), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressBar:
    """A progress callback for the library's ``progress=`` parameters.

    Args:
        stream: where to draw (stderr, so ``--json`` output on stdout stays clean).
        tty: redraw one line in place (``None``: whether ``stream`` is a terminal).
        quiet: draw nothing.
        every: seconds between plain lines when not a terminal.
        delay: seconds of work before the first report is drawn (quick work shows nothing at all).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        quiet: bool = False,
        every: float = 5.0,
        delay: float = DEFAULT_DELAY,
    ) -> None:
        self.stream = stream
        self.tty = _isatty(stream) if tty is None else tty
        self.quiet = quiet
        self.every = every
        self.delay = delay
        self._last_line = 0.0
        self._drawn = False

    def line(self, p: Any) -> str:
        """The text for one report: files, bytes, rate, time left (and a bar on a terminal)."""
        task = getattr(p, "task", "sync")
        reused = getattr(p, "bytes_reused", 0)
        worked = p.bytes_done - reused
        rate = worked / p.elapsed if p.elapsed > 0 else 0.0
        share = (
            p.bytes_done / p.bytes_total if p.bytes_total else (p.files_done / p.files_total if p.files_total else 1.0)
        )
        share = min(max(share, 0.0), 1.0)
        text = (
            f"{p.files_done}/{p.files_total} files  {human_bytes(p.bytes_done)}/{human_bytes(p.bytes_total)}  "
            f"{human_bytes(rate)}/s"
        )
        if p.finished:
            text += f"  done in {format_duration(p.elapsed)}"
        elif rate > 0 and p.bytes_total > p.bytes_done:
            text += f"  {format_duration((p.bytes_total - p.bytes_done) / rate)} left"
        if reused:
            text += f"  ({human_bytes(reused)} already here)"
        if self.tty:
            filled = round(share * _WIDTH)
            return f"{task}: [{'#' * filled}{'.' * (_WIDTH - filled)}] {share * 100:3.0f}%  {text}"
        return f"{task}: {share * 100:.0f}%  {text}"

    def __call__(self, p: Any) -> None:
        if self.quiet or (not self._drawn and (p.files_total == 0 or p.elapsed < self.delay)):
            return
        if self.tty:
            end = "\n" if p.finished else ""
            self.stream.write(f"\r\x1b[K{self.line(p)}{end}")
            self.stream.flush()
            self._drawn = not p.finished
            return
        now = time.monotonic()
        if p.finished or not self._drawn or now - self._last_line >= self.every:
            self._last_line = now
            self._drawn = True
            self.stream.write(self.line(p) + "\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
