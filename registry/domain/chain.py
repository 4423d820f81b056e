"""The journal as a hash chain: tamper evidence for the history (pure).

Every record the store writes carries ``hash``, the sha256 of its other fields (canonical JSON), and
``prev_hash``, the ``hash`` of the record before it, or `CHAIN_START` on the record where the chain
begins: the registry's first record, or, for a registry created before the chain existed, the first record
written after the upgrade (the records before it are not covered, and `verify_chain()` says so).

Editing a record (even with a valid per-record checksum) breaks its own ``hash``; recomputing that hash breaks
the next record's ``prev_hash``; removing or reordering records breaks a link. So rewriting history unnoticed
means rewriting every record after the change. This is evidence for honest teams sharing a folder or a bucket,
not security: whoever can write the storage can rewrite the whole chain, and cutting records off the end
leaves a shorter chain that still verifies (keep the last ``hash`` elsewhere to detect that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import attrs

from registry.domain.state import Event

__all__ = ["CHAIN_START", "ChainReport", "link", "record_hash", "verify_chain"]

CHAIN_START = "start"
"""The ``prev_hash`` of the record where the chain begins."""


def record_hash(event: Event) -> str:
    """The sha256 (hex) of ``event``'s fields other than ``hash``, as canonical JSON."""
    record = event.to_dict()
    record.pop("hash", None)
    body = json.dumps(record, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def link(event: Event, previous: str) -> Event:
    """``event`` with ``prev_hash=previous`` and its own ``hash``: a record ready to append."""
    linked = attrs.evolve(event, prev_hash=previous, hash=None)
    return attrs.evolve(linked, hash=record_hash(linked))


@attrs.frozen
class ChainReport:
    """What `verify_chain()` found.

    Attributes:
        ok: every record from the chain's start on matches.
        records: how many records were read.
        start: the ``seq`` of the record where the chain starts (None: no record carries one).
        upgraded: the chain starts after the first record (the registry predates it; earlier records are
            not covered).
        first_bad: the ``seq`` of the first record that does not match (None when ``ok``).
        problem: what is wrong with it.
    """

    ok: bool
    records: int
    start: int | None
    upgraded: bool
    first_bad: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def describe(self) -> str:
        if not self.ok:
            return f"history chain broken at event {self.first_bad}: {self.problem}"
        if self.start is None:
            return f"history chain: none yet ({self.records} records written before it; the next write starts it)"
        since = f"since the upgrade at event {self.start}" if self.upgraded else "since the registry's creation"
        return f"history chain intact over {self.records} records ({since})"


def verify_chain(events: Iterable[Event]) -> ChainReport:
    """Check the chain over ``events`` (the whole journal, in file order) and report the first record that
    does not match: edited (its hash), removed or reordered (a link or a ``seq`` out of step)."""
    count = 0
    start: int | None = None
    previous: Event | None = None
    first: Event | None = None
    for event in events:
        count += 1
        if first is None:
            first = event
        problem = _problem(event, previous, start)
        if problem is not None:
            return ChainReport(False, count, start, _upgraded(start, first), event.seq, problem)
        if start is None and event.prev_hash == CHAIN_START:
            start = event.seq
        previous = event
    return ChainReport(True, count, start, _upgraded(start, first))


def _upgraded(start: int | None, first: Event | None) -> bool:
    return start is not None and first is not None and start != first.seq


def _problem(event: Event, previous: Event | None, start: int | None) -> str | None:
    if previous is None and event.seq != 1:
        return "it is the first record, but its sequence number is not 1 (records before it were removed)"
    if previous is not None and event.seq != previous.seq + 1:
        return (
            f"it follows event {previous.seq}: records were removed or reordered (sequence numbers must run on "
            "without gaps)"
        )
    if start is None:
        if event.prev_hash is None and event.hash is None:
            return None  # before the chain: a registry written by an earlier version
        if event.prev_hash != CHAIN_START:
            return "it carries a hash but the chain never started before it (records before it were removed)"
    elif event.prev_hash is None or event.hash is None:
        return "it carries no hash, inside the chain (written by hand or by a program that does not keep it)"
    elif event.prev_hash == CHAIN_START:
        return "the chain starts again here (a record was replaced)"
    elif previous is not None and event.prev_hash != previous.hash:
        return f"it does not link to event {previous.seq} (that record was edited, removed or reordered)"
    if event.hash != record_hash(event):
        return "its hash does not match its contents (the record was edited)"
    return None
