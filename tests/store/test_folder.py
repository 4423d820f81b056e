"""The folder store's durability machinery: the journal, torn tails, checkpoints, rebuilds and refreshes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from registry import CorruptRegistry, Registry, RegistryLockTimeout
from registry.store import folder as folder_module
from registry.store.journal import Journal, encode_record


def journal_path(root: Path) -> Path:
    return root / "journal" / "journal.log"


def snapshot(reg: Registry) -> list:
    return [(m, reg.list_model_versions(m.name)) for m in reg.list_registered_models()]


def populate(reg: Registry, n: int = 3) -> None:
    reg.create_registered_model("m", tags={"t": "1"})
    for i in range(n):
        reg.create_model_version("m", source=f"s3://x/{i}")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.set_registered_model_alias("m", "champion", 1)


def test_journal_records_are_checksummed_lines(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "r"))
    reg.create_registered_model("m", tags={"k": "v\n00000000 {}\n"}, description="line\nbreak")
    lines = journal_path(tmp_path / "r").read_bytes().splitlines()
    assert len(lines) == 1  # user text cannot split a record
    assert lines[0] + b"\n" == encode_record(json.loads(lines[0][9:]))


def test_torn_tail_is_ignored_then_cut_off(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    populate(reg)
    before = snapshot(reg)
    good_size = journal_path(root).stat().st_size
    with open(journal_path(root), "ab") as f:
        f.write(b'deadbeef {"seq": 99, "type": "registered_model.del')  # a crash mid-append
    reader = Registry(str(root))
    assert snapshot(reader) == before
    reader.create_registered_model("after")  # a writer cuts the torn record off before appending
    records, _end, torn = Journal(str(journal_path(root))).read(0)
    assert not torn and records[-1]["name"] == "after"
    assert journal_path(root).stat().st_size > good_size
    assert [entry for entry in snapshot(Registry(str(root))) if entry[0].name == "m"] == before


def test_torn_tail_with_bad_checksum(tmp_path: Path) -> None:
    root = tmp_path / "r"
    populate(Registry(str(root)))
    data = journal_path(root).read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    damaged = data[: len(data) - len(last) - 1] + last.replace(b"champion", b"chumpion") + b"\n"
    journal_path(root).write_bytes(damaged)
    reg = Registry(str(root))
    assert reg.get_registered_model("m").aliases == {}  # the damaged last record is dropped, not believed


def test_damage_in_the_middle_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "r"
    populate(Registry(str(root)))
    lines = journal_path(root).read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"s3://x/0", b"s3://y/0")
    journal_path(root).write_bytes(b"".join(lines))
    (root / "view.json").unlink(missing_ok=True)
    reg = Registry(str(root))  # opens (so that check can report), but serves nothing
    with pytest.raises(CorruptRegistry, match="damaged record at byte"):
        reg.list_registered_models()
    with pytest.raises(CorruptRegistry, match="damaged record at byte"):
        reg.create_registered_model("x")
    assert [p.kind for p in reg.check().problems] == ["journal_damaged"]


def test_checkpoint_documents_and_cold_start(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    populate(reg)
    reg.close()
    view = json.loads((root / "view.json").read_text())
    assert view["seq"] == 6 and len(view["models"]) == 1
    (model_id,) = view["models"]
    doc = json.loads((root / "models" / model_id / "model.json").read_text())
    assert doc["name"] == "m" and doc["aliases"] == {"champion": 1} and len(doc["versions"]) == 3
    # writes after the checkpoint are replayed from the journal tail
    reg2 = Registry(str(root))
    reg2.set_model_version_tag("m", 2, "after", "checkpoint")
    reg2.create_registered_model("n")
    cold = Registry(str(root))
    assert snapshot(cold) == snapshot(reg2)
    assert cold.get_model_version("m", 2).tags == {"after": "checkpoint"}


def test_rebuild_when_view_is_missing_or_corrupt(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    populate(reg)
    reg.close()
    expected = snapshot(Registry(str(root)))
    (root / "view.json").write_text("{not json")
    assert snapshot(Registry(str(root))) == expected
    (root / "view.json").unlink()
    reopened = Registry(str(root))
    assert snapshot(reopened) == expected
    assert not (root / "view.json").exists()  # opening and reading write nothing
    reopened.close()
    assert (root / "view.json").exists()  # closing wrote a fresh checkpoint


def test_rebuild_when_a_document_is_damaged_or_stale(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    populate(reg)
    reg.close()
    expected = snapshot(Registry(str(root)))
    (model_id,) = json.loads((root / "view.json").read_text())["models"]
    doc_path = root / "models" / model_id / "model.json"
    doc = json.loads(doc_path.read_text())
    doc["seq"] = 1  # a document older than the checkpoint says it is (a lost write)
    doc["aliases"] = {}
    doc_path.write_text(json.dumps(doc))
    assert snapshot(Registry(str(root))) == expected
    doc_path.write_text("")
    assert snapshot(Registry(str(root))) == expected
    doc_path.unlink()
    assert snapshot(Registry(str(root))) == expected


def test_delete_after_checkpoint_then_cold_start(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    populate(reg)
    reg.create_registered_model("keep")
    reg.close()
    reg = Registry(str(root))
    reg.set_registered_model_tag("m", "x", "y")
    reg.delete_registered_model("m")  # its folder, document included, goes at once
    cold = Registry(str(root))
    assert [m.name for m in cold.list_registered_models()] == ["keep"]


def test_periodic_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder_module, "CHECKPOINT_EVERY", 5)
    root = tmp_path / "r"
    reg = Registry(str(root), durable=False)
    reg.create_registered_model("m")
    for i in range(11):
        reg.set_registered_model_tag("m", "k", str(i))
    view = json.loads((root / "view.json").read_text())
    assert view["seq"] == 10  # checkpoints at 5 and 10
    assert snapshot(Registry(str(root))) == snapshot(reg)


def test_another_instance_sees_writes_without_reopening(tmp_path: Path) -> None:
    a = Registry(str(tmp_path / "r"))
    b = Registry(str(tmp_path / "r"))
    a.create_registered_model("m")
    assert b.get_registered_model("m").name == "m"
    b.create_model_version("m", source="s3://x")
    a.set_registered_model_alias("m", "champion", 1)
    assert b.get_model_version_by_alias("m", "champion").version == 1
    assert a.create_model_version("m", source="s3://x").version == 2


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root), lock_timeout=0.2)
    reg.create_registered_model("m")
    other = Registry(str(root), lock_timeout=0.2)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with other._store._process_lock():  # type: ignore[attr-defined]
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(5)
        with pytest.raises(RegistryLockTimeout, match="write lock") as info:
            reg.set_registered_model_tag("m", "k", "v")
        assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
        assert reg.get_registered_model("m").tags == {}  # readers take no lock
    finally:
        release.set()
        thread.join()
    reg.set_registered_model_tag("m", "k", "v")


def test_leftover_files_from_a_crashed_publish_are_replaced(tmp_path: Path, model_dir) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "r"
    reg = Registry(str(root))
    reg.create_registered_model("m")
    model_id = reg._store.state.ids_by_name["m"]  # type: ignore[attr-defined]
    leftover = root / "models" / model_id / "versions" / "1"
    leftover.mkdir(parents=True)
    (leftover / "junk").write_text("from a crash between publish and commit")
    mv = reg.create_model_version("m", source=model_dir())
    assert mv.version == 1 and not (leftover / "junk").exists()


def test_journal_replaced_by_backup_is_reloaded(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    reg.create_registered_model("m")
    backup = journal_path(root).read_bytes()
    reg.create_registered_model("n")
    reader = Registry(str(root))
    assert len(reader.list_registered_models()) == 2
    (root / "view.json").unlink(missing_ok=True)
    tmp = journal_path(root).with_suffix(".restore")
    tmp.write_bytes(backup)
    os.replace(tmp, journal_path(root))
    assert [m.name for m in reader.list_registered_models()] == ["m"]


def test_unsupported_format_version(tmp_path: Path) -> None:
    root = tmp_path / "r"
    Registry(str(root))
    settings = json.loads((root / "registry.json").read_text())
    settings["format_version"] = 99
    (root / "registry.json").write_text(json.dumps(settings))
    with pytest.raises(CorruptRegistry, match="format 99"):
        Registry(str(root))
    (root / "registry.json").write_text("[]")
    with pytest.raises(CorruptRegistry):
        Registry(str(root))


def test_a_moved_folder_keeps_working(tmp_path: Path, model_dir) -> None:  # type: ignore[no-untyped-def]
    """An edge device syncs the folder to another path: file locations follow the folder, never the old path."""
    from registry import pyfunc

    class Constant(pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return [7 for _ in model_input]

    reg = Registry(str(tmp_path / "a"))
    reg.create_registered_model("m")
    reg.create_model_version("m", source=model_dir())
    logged = reg.log_model(Constant(), registered_model_name="m")
    assert logged.source == logged.storage_location  # log_model's staging folder is gone: the copy is the source
    reg.close()
    os.rename(tmp_path / "a", tmp_path / "b")
    moved = Registry(str(tmp_path / "b"))
    for mv in moved.list_model_versions("m"):
        assert mv.storage_location is not None and mv.storage_location.startswith(str(tmp_path / "b"))
    assert moved.get_model_version("m", 2).source == moved.get_model_version("m", 2).storage_location
    assert moved.load_model("models:/m/2").predict([{}]) == [7]


def test_files_get_the_usual_permissions(tmp_path: Path) -> None:
    root = tmp_path / "r"
    reg = Registry(str(root))
    reg.create_registered_model("m")
    reg.close()
    umask = os.umask(0)
    os.umask(umask)
    for name in ("registry.json", "view.json"):
        assert (root / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_models_load_on_first_use(tmp_path: Path) -> None:
    """Opening reads no model document; reading one model reads only its own (the edge device's case)."""
    root = tmp_path / "r"
    reg = Registry(str(root))
    for name in ("a", "b", "c"):
        reg.create_registered_model(name)
        reg.create_model_version(name, source="s3://x")
    reg.close()
    view = json.loads((root / "view.json").read_text())
    ids = {entry[1]: model_id for model_id, entry in view["models"].items()}
    (root / "models" / ids["b"] / "model.json").write_text("damaged")  # would force a repair if it were read
    cold = Registry(str(root))
    assert cold.get_model_version("a", 1).version == 1
    assert sorted(m for m in ids if not cold._store.state.models.is_pending(ids[m])) == ["a"]  # type: ignore[attr-defined]
    assert [m.name for m in cold.list_registered_models()] == ["a", "b", "c"]  # b is rebuilt from the journal


def test_a_document_newer_than_the_reader_is_not_applied_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(tmp_path / "r")
    writer = Registry(root)
    writer.create_registered_model("m")
    for _ in range(3):
        writer.create_model_version("m", source="s3://x")
    writer.create_registered_model("other")
    writer.close()
    reader = Registry(root)
    assert reader.get_registered_model("other").name == "other"  # "m" stays unloaded
    writer = Registry(root)
    writer.delete_model_version("m", 2)
    writer.set_registered_model_alias("m", "champion", 3)
    writer.close()  # checkpoint: m's document is now ahead of what `reader` has caught up with
    assert [mv.version for mv in reader.list_model_versions("m")] == [1, 3]
    assert reader.get_model_version_by_alias("m", "champion").version == 3
    writer = Registry(root)
    writer.delete_model_version("m", 3)
    assert [mv.version for mv in reader.list_model_versions("m")] == [1]
