"""Commits in the folder journal: a write's records are seen all together or not at all, wherever an append in
progress or a crash cuts them; the next writer cuts an unfinished commit off; markers never reach callers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry import CorruptRegistry, Registry
from registry.domain.state import Event
from registry.store.journal import Journal, encode_record


def _record(seq: int, name: str) -> dict:
    return {"seq": seq, "timestamp": seq, "type": "registered_model.created", "actor": None, "model_id": name,
            "name": name, "data": {}}  # fmt: skip


def test_a_commit_cut_at_any_byte_is_invisible_until_its_last_record_is_there(tmp_path: Path) -> None:
    whole = tmp_path / "whole.log"
    journal = Journal(str(whole))
    first_end, _ = journal.append([_record(1, "a")], durable=False)
    end, last_start = journal.append([_record(2, "b"), _record(3, "c"), _record(4, "d")], durable=False)
    data = whole.read_bytes()
    cut = Journal(str(tmp_path / "cut.log"))
    for size in range(first_end, end + 1):
        (tmp_path / "cut.log").write_bytes(data[:size])
        chunk = cut.read_chunk(0)
        if size == end:
            assert [r["seq"] for r in chunk.records] == [1, 2, 3, 4]
            assert (chunk.end, chunk.torn, chunk.last_start) == (end, False, last_start)
        else:
            assert [r["seq"] for r in chunk.records] == [1], size
            assert (chunk.end, chunk.torn, chunk.last_start) == (first_end, size != first_end, 0), size
    # read from a commit boundary, as followers and checkpoints do
    records, at, torn = journal.read(first_end)
    assert ([r["seq"] for r in records], at, torn) == ([2, 3, 4], end, False)
    assert all("more" not in r for r in journal.read(0)[0])  # the marker is the journal's own
    assert [Event.from_dict(r).seq for r in records] == [2, 3, 4]


def test_a_journal_without_markers_reads_one_commit_per_record(tmp_path: Path) -> None:
    path = tmp_path / "old.log"
    path.write_bytes(b"".join(encode_record(_record(n, f"m{n}")) for n in (1, 2, 3)))
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # the last record torn: the two before it stand on their own
    records, _end, torn = Journal(str(path)).read(0)
    assert [r["seq"] for r in records] == [1, 2] and torn


@pytest.mark.parametrize(
    "second",
    [
        {**_record(3, "c"), "more": 5},  # a count that does not go down by one
        {**_record(3, "c"), "more": "x"},  # not a count
    ],
)
def test_markers_that_do_not_fit_are_corruption_not_a_torn_tail(tmp_path: Path, second: dict) -> None:
    path = tmp_path / "bad.log"
    lines = [encode_record({**_record(1, "a"), "more": 2}), encode_record({**_record(2, "b"), "more": 1})]
    path.write_bytes(b"".join([*lines, encode_record(second), encode_record(_record(4, "d"))]))
    with pytest.raises(CorruptRegistry, match="commit marker"):
        Journal(str(path)).read(0)


def _journal(root: Path) -> Path:
    return root / "journal" / "journal.log"


def test_readers_see_a_folder_store_s_multi_record_commit_whole_and_a_writer_cuts_an_unfinished_one(
    tmp_path: Path,
) -> None:
    from registry import ImportedModel, ImportedVersion

    root = tmp_path / "r"
    reg = Registry(str(root), durable=False)
    reg.create_registered_model("before")
    held = Registry(str(root))  # opened before the commit, catching up across it
    assert [m.name for m in held.list_registered_models()] == ["before"]
    start = _journal(root).stat().st_size
    models = [ImportedModel(n, versions=[ImportedVersion(1, source=f"s3://b/{n}")]) for n in ("x", "y", "z")]
    reg.import_models(models)  # one record per model, one commit
    data = _journal(root).read_bytes()
    assert len(data[start:].splitlines()) == 3
    full = sorted(m.name for m in reg.list_registered_models())
    sizes = sorted({start, len(data), *range(start, len(data), 37), *(start + i for i in range(1, 12))})
    for size in sizes:
        _journal(root).write_bytes(data[:size])
        names = sorted(m.name for m in Registry(str(root), read_only=True).list_registered_models())
        assert names == (full if size == len(data) else ["before"]), size
        seen = sorted(m.name for m in held.list_registered_models())  # a handle that folds the tail
        assert seen in (["before"], full), size
    # a crash left the commit without its last record: the next writer cuts it off and commits after it
    cut = start + len(b"".join(data[start:].splitlines(keepends=True)[:2]))
    _journal(root).write_bytes(data[:cut])
    writer = Registry(str(root))
    writer.create_registered_model("after")
    records, _end, torn = Journal(str(_journal(root))).read(0)
    assert not torn and [r["name"] for r in records] == ["before", "after"]
    assert [r["seq"] for r in records] == [1, 2]
    assert writer.check().ok
    assert json.loads(_journal(root).read_bytes().splitlines()[-1][9:])["name"] == "after"
