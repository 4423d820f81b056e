"""Every handle's view is the fold of a prefix of the journal, however its model documents were loaded.

Two ``Registry`` objects on one folder behave as two processes: each has its own state, its own descriptor on
the writers' lock, and loads model documents lazily from the checkpoint it opened. The named tests below are
the multi-process bugs of issue 10, each reproduced with the least that triggers it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from registry import CorruptRegistry, Registry, RegistryError, ResourceAlreadyExists, ResourceDoesNotExist
from registry.domain.commands import Change
from registry.domain.state import Event, EventType, RegistryState
from registry.store import files as files_module
from registry.store.journal import Journal


def journal_records(root: str) -> list[dict]:
    records, _end, torn = Journal(os.path.join(root, "journal", "journal.log")).read(0)
    assert not torn
    return records


def full_replay(root: str) -> RegistryState:
    """The fold of the whole journal, as a process with no caches at all would see it."""
    state = RegistryState(os.path.join(root, "models"))
    for record in journal_records(root):
        state.apply(Event.from_dict(record))
    return state


def picture(reg: Registry) -> dict:
    """Everything a reader can see, by model name."""
    return {
        m.name: (
            m.description,
            m.tags,
            m.aliases,
            [(v.version, v.current_stage.value, v.tags, v.name) for v in reg.list_model_versions(m.name)],
        )
        for m in reg.list_registered_models()
    }


def replay_picture(root: str, tmp_path: Path) -> dict:
    """The picture of a copy of the folder with every cache (view.json, model documents) deleted."""
    copy = tmp_path / f"replay-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(root, copy)
    (copy / "view.json").unlink(missing_ok=True)
    for doc in copy.glob("models/*/model.json"):
        doc.unlink()
    return picture(Registry(str(copy), read_only=True))


@pytest.fixture
def root(tmp_path: Path) -> str:
    path = str(tmp_path / "r")
    writer = Registry(path)
    writer.create_registered_model("m", tags={"t": "1"})
    writer.create_model_version("m", source="s3://bucket/v1")
    writer.create_model_version("m", source="s3://bucket/v2")
    writer.close()  # a checkpoint: the next handles open from documents they have not read yet
    return path


def test_stale_names_after_a_rename_in_another_process(root: str, tmp_path: Path) -> None:
    """Issue 10, bug 1: a handle opened from a checkpoint, another process renames m to m2 and checkpoints."""
    stale = Registry(root)  # documents not read yet
    other = Registry(root)
    other.rename_registered_model("m", "m2")
    other.close()  # its checkpoint rewrites m's document, which now says 'm2' and a later seq
    assert [m.name for m in stale.list_registered_models()] == ["m2"]
    assert stale.get_registered_model("m2").name == "m2"
    with pytest.raises(ResourceDoesNotExist):
        stale.get_registered_model("m")
    with pytest.raises(ResourceAlreadyExists):
        stale.create_registered_model("m2")  # no duplicate name, ever
    assert [v.version for v in Registry(root).list_model_versions("m2")] == [1, 2]
    assert picture(stale) == picture(Registry(root)) == replay_picture(root, tmp_path)
    assert Registry(root).check().ok


def test_stale_names_when_the_renamed_model_is_read_first(root: str) -> None:
    """The same, reading the model by its new name before anything else loads it."""
    stale = Registry(root)
    other = Registry(root)
    other.rename_registered_model("m", "m2")
    other.close()
    assert stale.get_registered_model("m2").name == "m2"
    assert [v.name for v in stale.list_model_versions("m2")] == ["m2", "m2"]


def test_a_process_is_not_wedged_by_a_rename_then_a_delete(root: str, tmp_path: Path) -> None:
    """Issue 10, bug 2: after the rename, any process deletes m2; the long-lived handle must carry on."""
    stale = Registry(root)
    other = Registry(root)
    other.rename_registered_model("m", "m2")
    other.close()
    assert [m.name for m in stale.list_registered_models()] == ["m2"]  # loads m's (renamed) document
    Registry(root).delete_registered_model("m2")
    assert stale.list_registered_models() == []
    with pytest.raises(ResourceDoesNotExist):
        stale.get_registered_model("m2")
    stale.create_registered_model("m2")  # reads and writes keep working
    stale.create_model_version("m2", source="s3://bucket/new")
    assert picture(stale) == picture(Registry(root)) == replay_picture(root, tmp_path)


def test_a_stale_process_cannot_brick_the_folder(root: str, tmp_path: Path) -> None:
    """Issue 10, bug 3: the stale handle goes on writing (rename its view of things away, delete m)."""
    stale = Registry(root)
    other = Registry(root)
    other.rename_registered_model("m", "m2")
    other.close()
    with pytest.raises(ResourceAlreadyExists):
        stale.create_registered_model("m2")
    with pytest.raises(ResourceDoesNotExist):
        stale.delete_registered_model("m")  # 'm' no longer exists at the journal's end
    stale.rename_registered_model("m2", "m3")
    stale.delete_registered_model("m3")
    assert stale.list_registered_models() == []
    full_replay(root)  # never raises
    assert Registry(root).list_registered_models() == []
    assert replay_picture(root, tmp_path) == {}
    report = Registry(root).check(fix=True)
    assert report.ok
    assert Registry(root).list_registered_models() == []


def test_a_crash_between_a_document_and_the_checkpoint(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, bug 3's single-writer path: a checkpoint writes m's document, then dies before view.json."""
    writer = Registry(root)
    writer.rename_registered_model("m", "m2")
    writer.set_model_version_tag("m2", 1, "k", "v")
    real = files_module.atomic_write_json

    def crash_on_view(path: str, value: object, *, durable: bool = True) -> None:
        if os.path.basename(path) == "view.json":
            raise KeyboardInterrupt("killed between the documents and view.json")
        real(path, value, durable=durable)

    monkeypatch.setattr("registry.store.folder.atomic_write_json", crash_on_view)
    with pytest.raises(KeyboardInterrupt):
        writer._store.checkpoint()  # type: ignore[attr-defined]
    monkeypatch.undo()
    fresh = Registry(root)  # the old view.json, documents ahead of it, the journal's tail after it
    assert fresh.get_registered_model("m2").name == "m2"
    with pytest.raises(ResourceDoesNotExist):
        fresh.get_registered_model("m")
    assert fresh.get_model_version("m2", 1).tags == {"k": "v"}
    assert picture(fresh) == replay_picture(root, tmp_path)


def test_a_document_ahead_of_the_handle_never_leaks(root: str) -> None:
    """A handle at position P reading a model whose document another process wrote at P + k sees P."""
    stale = Registry(root)
    with stale._store.reading() as state:  # type: ignore[attr-defined]
        position = state.seq
    other = Registry(root)
    other.set_registered_model_tag("m", "later", "yes")
    other.delete_model_version("m", 1)
    other.close()
    # Read the model lazily *without* catching up (as a read racing another process's checkpoint would).
    model = stale._store._state.model("m")  # type: ignore[attr-defined]
    assert model.seq <= position
    assert "later" not in model.tags and sorted(model.versions) == [1, 2]
    assert stale.get_registered_model("m").tags == {"t": "1", "later": "yes"}  # and a read catches up
    assert [v.version for v in stale.list_model_versions("m")] == [2]


def test_no_event_is_committed_that_a_replay_cannot_apply(root: str) -> None:
    """The write funnel applies every event to the caught-up state before it appends it."""
    reg = Registry(root)
    model_id = reg._store.state.ids_by_name["m"]  # type: ignore[attr-defined]
    before = journal_records(root)
    bad = [
        Change(EventType.MODEL_VERSION_DELETED, model_id, "m", {"version": 99}),
        Change(EventType.REGISTERED_MODEL_CREATED, "another-id", "m", {"tags": {}, "description": None}),
        Change(EventType.REGISTERED_MODEL_RENAMED, "unknown-id", "x", {"old_name": "x", "new_name": "y"}),
    ]
    for change in bad:
        with pytest.raises(RegistryError, match="not committed"):
            reg._store.write(lambda _state, change=change: [change])  # type: ignore[attr-defined]
        assert journal_records(root) == before
        assert [v.version for v in reg.list_model_versions("m")] == [1, 2]  # the handle's state is intact
    full_replay(root)


def test_a_replay_refuses_a_second_model_with_the_same_name() -> None:
    state = RegistryState()
    state.apply(Event(1, 0, EventType.REGISTERED_MODEL_CREATED, None, "a", "m", {}))
    with pytest.raises(CorruptRegistry, match="already"):
        state.apply(Event(2, 0, EventType.REGISTERED_MODEL_CREATED, None, "b", "m", {}))
    state.apply(Event(3, 0, EventType.REGISTERED_MODEL_CREATED, None, "c", "n", {}))
    with pytest.raises(CorruptRegistry, match="already"):
        state.apply(Event(4, 0, EventType.REGISTERED_MODEL_RENAMED, None, "c", "n", {"old_name": "n", "new_name": "m"}))


def test_documents_name_the_model_they_claim(root: str, tmp_path: Path) -> None:
    """A document claiming another seq than the checkpoint recorded is not believed; the journal is."""
    view = json.loads(Path(root, "view.json").read_text())
    (model_id,) = view["models"]
    doc_path = Path(root, "models", model_id, "model.json")
    doc = json.loads(doc_path.read_text())
    doc["seq"] += 5
    doc["tags"] = {"t": "forged"}
    doc_path.write_text(json.dumps(doc))
    reg = Registry(root, read_only=True)
    assert reg.get_registered_model("m").tags == {"t": "1"}
