"""How far a long operation is (copying a model's files in, exporting them, verifying every version): the
value the library hands to a progress callback. It is pure data; the meter that measures time and decides
when to report lives with the I/O (`registry.store.progress`), and drawing it is the caller's business
(the command line's bar is `registry.cli.progress`). The library never prints."""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["Progress", "ProgressCallback"]


@attrs.frozen
class Progress:
    """One report: ``task`` (``register``, ``export``, ``check``), files and bytes done out of the totals
    known when it started, the bytes that needed no work (``bytes_reused``), the seconds since it started,
    the file being worked on, and whether this is the last report."""

    task: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    elapsed: float
    bytes_reused: int = 0
    current: str = ""
    finished: bool = False


ProgressCallback = Callable[[Progress], None]
"""What ``progress=`` takes: called from the operation's own thread, at most every tenth of a second and once
at the end (``finished=True``). An exception it raises stops the operation, as one from the operation would."""
