"""Counting a long operation's files and bytes and reporting them to a `
ProgressCallback`, throttled, so the callback can draw without slowing the work (see
``benchmarks/bench_progress.py``)."""

from __future__ import annotations

import time

from registry.domain.progress import Progress, ProgressCallback
from registry.errors import InvalidParameterValue

__all__ = ["ProgressMeter", "check_callback"]


def check_callback(progress: object) -> ProgressCallback | None:
    """``progress`` as given to a public method, refused up front if it is not a callable (or None)."""
    if progress is not None and not callable(progress):
        raise InvalidParameterValue(f"progress must be a callable or None, got {progress!r:.80}.")
    return progress  # type: ignore[return-value]


class ProgressMeter:
    """Counts ``files_done``/``bytes_done`` towards known totals; `advance()` reports at most every
    ``every`` seconds, `finish()` always. With no callback it only counts (one addition per call), so an
    operation pays nothing for progress nobody asked for."""

    def __init__(
        self, task: str, files_total: int, bytes_total: int, callback: ProgressCallback | None, every: float = 0.1
    ) -> None:
        self.task = task
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done = self.bytes_done = self.bytes_reused = 0
        self.current = ""
        self._callback, self._every = callback, every
        self._start = time.monotonic()
        self._last = self._start

    def advance(self, *, files: int = 0, nbytes: int = 0, current: str | None = None) -> None:
        """Count ``files`` more files and ``nbytes`` more bytes done; report if it is time."""
        self.files_done += files
        self.bytes_done += nbytes
        if current is not None:
            self.current = current
        if self._callback is None:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._callback(self._snapshot(now, finished=False))

    def start(self) -> None:
        """The first report (0 done), so a display can show the totals at once."""
        if self._callback is not None:
            self._callback(self._snapshot(time.monotonic(), finished=False))

    def finish(self) -> None:
        """The last report (``finished=True``)."""
        if self._callback is not None:
            self._callback(self._snapshot(time.monotonic(), finished=True))

    def _snapshot(self, now: float, *, finished: bool) -> Progress:
        return Progress(
            task=self.task,
            files_done=self.files_done,
            files_total=self.files_total,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            elapsed=now - self._start,
            bytes_reused=self.bytes_reused,
            current=self.current,
            finished=finished,
        )
