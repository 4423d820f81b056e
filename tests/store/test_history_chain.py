"""The journal's hash chain (issue 16): an edited, removed or reordered record is reported, naming the first
record that does not match, by ``verify_history`` and ``registry check``; journal lines are rewritten with
valid per-record checksums, so only the chain can tell. Registries from before the chain are upgraded in place."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import TickingClock

from registry import Registry
from registry.cli import main
from registry.domain.chain import CHAIN_START, record_hash
from registry.store.journal import encode_record


def _journal(root: Path) -> Path:
    return root / "journal" / "journal.log"


def _records(root: Path) -> list[dict]:
    return [json.loads(line[9:]) for line in _journal(root).read_bytes().splitlines()]


def _write(root: Path, records: list[dict]) -> None:
    _journal(root).write_bytes(b"".join(encode_record(r) for r in records))
    (root / "view.json").unlink(missing_ok=True)  # the checkpoint would name a position the edit moved


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "r"
    with Registry(str(path), clock=TickingClock(), user="alice") as reg:
        reg.create_registered_model("fraud")
        for n in range(3):
            reg.create_model_version("fraud", f"s3://b/{n}")
        reg.transition_model_version_stage("fraud", 1, "Staging")
        reg.set_model_version_tag("fraud", 1, "k", "v")
        reg.create_comment("fraud", 1, "fine")
    return path


def test_an_untouched_chain_verifies_from_creation(root: Path) -> None:
    records = _records(root)
    assert records[0]["prev_hash"] == CHAIN_START
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.records, report.start, report.upgraded) == (True, len(records), 1, False)


def test_an_edited_record_is_found(root: Path) -> None:
    records = _records(root)
    records[3]["actor"] = "mallory"  # who registered version 3, rewritten with a valid checksum
    _write(root, records)
    reg = Registry(str(root), read_only=True)
    assert reg.get_model_version("fraud", 3).user_id == "mallory"  # the registry itself cannot tell
    report = reg.verify_history()
    assert (report.ok, report.first_bad) == (False, 4) and "edited" in (report.problem or "")
    # Recomputing the edited record's own hash moves the evidence to the next record's link.
    records[3]["hash"] = record_hash(_event(records[3]))
    _write(root, records)
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.first_bad) == (False, 5) and "does not link to event 4" in (report.problem or "")


def test_a_removed_record_is_found(root: Path) -> None:
    records = _records(root)
    del records[5]  # the tag on version 1; later seqs renumbered so the journal still replays
    for seq, record in enumerate(records, start=1):
        record["seq"] = seq
    _write(root, records)
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.first_bad) == (False, 6)


def test_a_removed_record_that_leaves_a_gap_is_found(root: Path) -> None:
    records = _records(root)
    del records[5]
    _write(root, records)
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.first_bad) == (False, 7) and "removed or reordered" in (report.problem or "")


def test_reordered_records_are_found(root: Path) -> None:
    records = _records(root)
    records[5], records[6] = records[6], records[5]
    records[5]["seq"], records[6]["seq"] = 6, 7  # renumbered: a replay accepts the new order
    _write(root, records)
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.first_bad) == (False, 6)


def test_check_reports_the_first_record_that_does_not_match(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--registry", str(root)]) == 0
    assert "history chain intact over 7 records (since the registry's creation)" in capsys.readouterr().out.lower()
    records = _records(root)
    records[2]["data"]["source"] = "s3://elsewhere"
    _write(root, records)
    report = Registry(str(root), read_only=True).check()
    [chain] = [p for p in report.problems if p.kind == "history_mismatch"]
    assert "event 3" in chain.detail and not chain.fixed and not report.ok
    assert main(["check", "--fix", "--registry", str(root)]) == 5  # never "fixed": the originals are unknown
    assert "history_mismatch" in capsys.readouterr().out


def test_a_registry_from_before_the_chain_is_upgraded_in_place(tmp_path: Path) -> None:
    root = tmp_path / "old"
    with Registry(str(root), user="alice") as reg:
        reg.create_registered_model("fraud")
        reg.create_model_version("fraud", "s3://b/1")
    old = [{k: v for k, v in r.items() if k not in ("prev_hash", "hash")} for r in _records(root)]
    _write(root, old)  # as an earlier version of the library wrote it
    before = Registry(str(root), read_only=True).verify_history()
    assert (before.ok, before.start) == (True, None) and "none yet" in before.describe()
    with Registry(str(root), user="alice") as reg:
        reg.create_model_version("fraud", "s3://b/2")
        reg.create_model_version("fraud", "s3://b/3")
        report = reg.verify_history()
    assert (report.ok, report.start, report.upgraded) == (True, 3, True)
    assert "since the upgrade at event 3" in report.describe()
    assert _records(root)[2]["prev_hash"] == CHAIN_START  # the record that marks the start
    records = _records(root)
    records[3]["actor"] = "mallory"
    _write(root, records)
    assert Registry(str(root), read_only=True).verify_history().first_bad == 4
    # Pretending the chain starts later (a second start) is refused too.
    records = _records(root)
    records[3]["prev_hash"] = CHAIN_START
    records[3]["hash"] = record_hash(_event(records[3]))
    _write(root, records)
    report = Registry(str(root), read_only=True).verify_history()
    assert (report.ok, report.first_bad) == (False, 4) and "starts again" in (report.problem or "")


def test_a_write_after_a_checkpoint_links_to_the_last_record(root: Path) -> None:
    with Registry(str(root), user="bob") as reg:  # opened from the checkpoint: nothing folded since
        reg.set_model_version_tag("fraud", 2, "k", "v")
    assert Registry(str(root), read_only=True).verify_history().ok


def test_the_memory_store_keeps_the_chain_too() -> None:
    reg = Registry("memory://", user="alice")
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://x")
    events = reg.events()
    assert events[0].prev_hash == CHAIN_START and events[1].prev_hash == events[0].hash
    assert reg.verify_history().ok


def _event(record: dict):  # type: ignore[no-untyped-def]
    from registry.domain.state import Event

    return Event.from_dict(record)
