"""The journal: an append-only file of checksummed event records, the registry's commit point.

Each record is one line: ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``. JSON escapes every newline inside
strings, so no user text can split or forge a record. A record is committed once its line (and the newline
that ends it) is on disk: appending it and fsyncing the file is the single durable step of every write.

**A commit is the unit readers see.** One write appends all its records at once (a sync bringing several
models writes one record per model); every record but the last of such a commit carries ``"more": N``, the
number of records of the same commit after it. Readers take a commit's records only once its last record is
there, so a reader never sees part of a commit, even while the append is in progress or after a crash cut it
short (test_journal_commits.py cuts a commit at every byte). The marker is the journal's own: records handed
to callers never carry it, and a journal from before it (no markers) reads as one commit per record.

A crash in the middle of an append leaves a torn tail: an unfinished last line, a checksum that does not match,
or a commit whose last record is missing. Readers treat it as not yet written; the next writer, holding the
lock, cuts it off before appending. A bad record anywhere *before* the last line is real corruption and is
reported, never skipped.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterable
from typing import Any, NamedTuple

from registry.errors import CorruptRegistry

__all__ = ["Journal", "JournalChunk", "encode_record"]

log = logging.getLogger(__name__)


def encode_record(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(body) + body + b"\n"


_MORE = "more"
"""The key of the commit marker: how many records of the same commit follow this one (absent on the last)."""


def _decode_line(line: bytes) -> dict[str, Any] | None:
    """The record on a complete line, or None when the line is damaged."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class JournalChunk(NamedTuple):
    """What `Journal.read_chunk()` found: the records of the complete commits, the offset just past the last
    of them, whether something unfinished follows (a damaged or unfinished line, a commit without its last
    record), and the offset where the last record starts (``offset`` if none)."""

    records: list[dict[str, Any]]
    end: int
    torn: bool
    last_start: int


class Journal:
    """Reads and appends the journal file at ``path``. Appends must happen under the registry's lock."""

    def __init__(self, path: str) -> None:
        self.path = path

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except FileNotFoundError:
            return 0

    def read(self, offset: int = 0) -> tuple[list[dict[str, Any]], int, bool]:
        """Records from byte ``offset`` on.

        Returns:
            ``(records, end, torn)``: the complete records, the offset just past the last one, and whether a
            damaged or unfinished last line follows it (a crashed or in-progress append).

        Raises:
            CorruptRegistry: a damaged record with complete records after it.
        """
        chunk = self.read_chunk(offset)
        return chunk.records, chunk.end, chunk.torn

    def read_chunk(self, offset: int = 0, end: int | None = None) -> JournalChunk:
        """As `read()`, also telling where the last record starts; ``end`` stops reading at that offset.

        ``offset`` and ``end`` must be commit boundaries (0, or offsets an earlier read returned)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read() if end is None else f.read(max(end - offset, 0))
        except FileNotFoundError:
            return JournalChunk([], offset, False, offset)
        records: list[dict[str, Any]] = []
        committed = 0  # where the records of complete commits end (relative to offset)
        last_start = 0
        opened: list[dict[str, Any]] = []  # the records of a commit whose last record has not come yet
        expected = 0  # how many more records that commit announced
        position = 0
        while position < len(data):
            newline = data.find(b"\n", position)
            if newline < 0:
                return JournalChunk(records, offset + committed, True, offset + last_start)  # unfinished append
            record = _decode_line(data[position:newline])
            more = record.pop(_MORE, 0) if record is not None else 0
            bad_marker = isinstance(more, bool) or not isinstance(more, int) or more < 0
            if record is not None and (bad_marker or (opened and more != expected - 1)):
                raise self._corrupt(offset + position, "a commit marker that does not fit the records around it")
            if record is None:
                if newline + 1 < len(data):
                    raise self._corrupt(offset + position, "a damaged record")
                return JournalChunk(records, offset + committed, True, offset + last_start)  # torn last line
            opened.append(record)
            expected = more
            if more == 0:  # the commit's last record: all of it is there
                records.extend(opened)
                opened = []
                last_start = position
                committed = newline + 1
            position = newline + 1
        # Records of a commit still open at the end: an append in progress, or one a crash cut short.
        return JournalChunk(records, offset + committed, bool(opened), offset + last_start)

    def _corrupt(self, at: int, what: str) -> CorruptRegistry:
        return CorruptRegistry(
            f"The journal {self.path} has {what} at byte {at} followed by more records. Restore the folder from "
            "a backup, or run 'registry check' to see what can be recovered.",
            path=self.path,
            offset=at,
        )

    def truncate(self, end: int) -> None:
        """Cut off a torn tail found at ``end`` (only a writer holding the lock may call this)."""
        log.warning("registry: dropping a torn journal record at byte %d of %s", end, self.path)
        with open(self.path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())

    def append(self, records: Iterable[dict[str, Any]], *, durable: bool) -> tuple[int, int]:
        """Append ``records`` as one commit, in one write (one fsync when ``durable``): readers see all of them
        or none (see the module docstring).

        Returns:
            ``(end, last_start)``: the new end offset, and the offset where the last record appended starts.
        """
        commit = list(records)
        lines = [
            encode_record({**r, _MORE: len(commit) - 1 - i} if i < len(commit) - 1 else r) for i, r in enumerate(commit)
        ]
        payload = b"".join(lines)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(payload):
                written += os.write(fd, payload[written:])
            if durable:
                os.fsync(fd)
            end = os.fstat(fd).st_size
            return end, end - len(lines[-1]) if lines else end
        finally:
            os.close(fd)
