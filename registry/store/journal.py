"""The journal: an append-only file of checksummed event records, the registry's commit point.

Each record is one line: ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``. JSON escapes every newline inside
strings, so no user text can split or forge a record. A record is committed once its line (and the newline
that ends it) is on disk: appending it and fsyncing the file is the single durable step of every write.

A crash in the middle of an append leaves a torn last line (no newline, or a checksum that does not match).
Readers treat it as not yet written; the next writer, holding the lock, cuts it off before appending. A bad
record anywhere *before* the last line is real corruption and is reported, never skipped.
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

log = logging.getLogger("registry")


def encode_record(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(body) + body + b"\n"


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
    """What :meth:`Journal.read_chunk` found: the complete records, the offset just past the last one, whether a
    damaged or unfinished line follows it, and the offset where the last record starts (``offset`` if none)."""

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
        """As :meth:`read`, also telling where the last record starts; ``end`` stops reading at that offset."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read() if end is None else f.read(max(end - offset, 0))
        except FileNotFoundError:
            return JournalChunk([], offset, False, offset)
        records: list[dict[str, Any]] = []
        position = 0
        last_start = 0
        while position < len(data):
            newline = data.find(b"\n", position)
            if newline < 0:
                return JournalChunk(records, offset + position, True, offset + last_start)  # unfinished append
            record = _decode_line(data[position:newline])
            if record is None:
                if newline + 1 < len(data):
                    raise CorruptRegistry(
                        f"The journal {self.path} has a damaged record at byte {offset + position} followed by "
                        "more records. Restore the folder from a backup, or run 'registry check' to see what "
                        "can be recovered.",
                        path=self.path,
                        offset=offset + position,
                    )
                return JournalChunk(records, offset + position, True, offset + last_start)  # torn last line
            records.append(record)
            last_start = position
            position = newline + 1
        return JournalChunk(records, offset + position, False, offset + last_start)

    def truncate(self, end: int) -> None:
        """Cut off a torn tail found at ``end`` (only a writer holding the lock may call this)."""
        log.warning("registry: dropping a torn journal record at byte %d of %s", end, self.path)
        with open(self.path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())

    def append(self, records: Iterable[dict[str, Any]], *, durable: bool) -> tuple[int, int]:
        """Append ``records`` in one write (one fsync when ``durable``).

        Returns:
            ``(end, last_start)``: the new end offset, and the offset where the last record appended starts.
        """
        lines = [encode_record(r) for r in records]
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
