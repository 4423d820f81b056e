"""Bundles: a registry -> bundle -> new registry round trip equals the original, imports are idempotent and
refuse conflicts, and every kind of damaged or hostile bundle is refused with nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from exchange_support import make_model, make_source, snapshot
from process_support import first_line

from registry import Registry
from registry.errors import CorruptBundle, ImportConflict, ReadOnlyRegistry, ResourceAlreadyExists
from registry.exchange.bundle import read_bundle


@pytest.fixture
def source(tmp_path: Path) -> Any:
    reg = make_source(tmp_path)
    yield reg
    reg.close()


def test_round_trip_equals_the_original(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    assert source.export_bundle(bundle) == {"churn": [1], "fraud": [1, 3, 4]}
    dest = Registry(str(tmp_path / "dest"))
    report = dest.import_bundle(bundle)
    assert report.created_models == ["churn", "fraud"]
    assert snapshot(dest) == snapshot(source)
    # the history travels in the bundle, event for event
    read = read_bundle(bundle)
    assert read.history["fraud"] == [e.to_dict() for e in source.history("fraud")]
    assert dest.check().problems == []
    assert dest.history("fraud")[0].type == "registered_model.imported"
    # numbers stay unique: the next version continues after the imported ones
    assert dest.create_model_version("fraud", "s3://x").version == 5


def test_import_is_idempotent(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    source.export_bundle(bundle)
    dest = Registry(str(tmp_path / "dest"))
    dest.import_bundle(bundle)
    before = dest.events()
    again = dest.import_bundle(bundle)
    assert not again.changed and again.existing_versions == [("churn", 1), ("fraud", 1), ("fraud", 3), ("fraud", 4)]
    assert dest.events() == before
    assert os.listdir(tmp_path / "dest" / "tmp") == []


def test_a_selection_brings_only_those_versions_and_their_aliases(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "champion.tar"
    assert source.export_bundle(bundle, ["fraud@champion"]) == {"fraud": [3]}
    dest = Registry(str(tmp_path / "dest"))
    dest.import_bundle(bundle)
    (mv,) = dest.list_model_versions("fraud")
    assert (mv.version, mv.current_stage, mv.aliases, mv.tags) == (
        3,
        "Production",
        ["champion"],
        source.get_model_version("fraud", 3).tags,
    )
    assert dest.get_registered_model("fraud").aliases == {"champion": 3}
    assert [e["seq"] for e in read_bundle(bundle).history["fraud"]] == [e.seq for e in source.history("fraud", 3)]
    # a later, wider bundle adds what is new and leaves what is there
    wider = tmp_path / "stages.tar"
    source.export_bundle(wider, ["fraud/Production", "fraud/4"])
    report = dest.import_bundle(wider)
    assert report.created_versions == [("fraud", 4)] and report.existing_versions == [("fraud", 3)]
    assert dest.get_model_version("fraud", 4).source == "s3://bucket/fraud/4"


def test_conflicts_are_listed_and_nothing_is_written(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    source.export_bundle(bundle)
    dest = Registry(str(tmp_path / "dest"))
    dest.create_registered_model("fraud", tags={"team": "ops"})
    dest.create_model_version("fraud", make_model(tmp_path / "other", "different"))
    before = dest.events()
    with pytest.raises(ImportConflict) as info:
        dest.import_bundle(bundle)
    text = str(info.value)
    assert "version 1 exists here with other content" in text and "tag 'team'" in text
    assert len(info.value.conflicts) == 2
    assert dest.events() == before and not dest.get_registered_model("fraud").aliases
    assert "churn" not in [m.name for m in dest.list_registered_models()]  # not even the model without conflicts
    assert os.listdir(tmp_path / "dest" / "tmp") == []


def test_destination_with_other_versions_keeps_numbers_unique(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "v3.tar"
    source.export_bundle(bundle, ["fraud/3"])
    dest = Registry(str(tmp_path / "dest"))
    dest.create_registered_model("fraud")
    dest.create_model_version("fraud", "s3://here/1")
    dest.import_bundle(bundle)  # 3 is past this model's counter (2): it keeps its number
    assert [mv.version for mv in dest.list_model_versions("fraud")] == [1, 3]
    assert dest.create_model_version("fraud", "s3://here/next").version == 4
    # a number allocated here before (even if deleted since) is never reused
    dest.delete_model_version("fraud", 1)
    earlier = tmp_path / "v1.tar"
    source.export_bundle(earlier, ["fraud/1"])
    with pytest.raises(ImportConflict, match="never reused"):
        dest.import_bundle(earlier)


def test_a_chosen_version_number_goes_through_the_funnel(reg: Registry, model_dir: Callable[..., str]) -> None:
    reg.create_registered_model("m")
    assert reg.create_model_version_from_files("m", model_dir(), version=7).version == 7
    assert reg.create_model_version("m", model_dir()).version == 8
    with pytest.raises(ResourceAlreadyExists, match="already allocated version 5"):
        reg.create_model_version_from_files("m", model_dir(), version=5)
    assert [mv.version for mv in reg.list_model_versions("m")] == [7, 8]


# -- damaged and hostile bundles -------------------------------------------------------------------------------


def members_of(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


def reindexed(members: list[tuple[tarfile.TarInfo, bytes]], edit: Callable[[dict[str, Any]], None]) -> None:
    """Change bundle.json and re-sign it, as an attacker who knows the format would."""
    index = json.loads(members[0][1])
    edit(index)
    data = json.dumps(index).encode()
    members[0][0].size = len(data)
    members[0] = (members[0][0], data)
    checksum = (hashlib.sha256(data).hexdigest() + "\n").encode()
    members[1] = (members[1][0], checksum)


def first_file(members: list[tuple[tarfile.TarInfo, bytes]]) -> int:
    return next(i for i, (m, _) in enumerate(members) if m.name.startswith("files/"))


def flip_file_byte(path: Path) -> None:
    members = members_of(path)
    i = first_file(members)
    data = bytearray(members[i][1])
    data[len(data) // 2] ^= 0x01
    members[i] = (members[i][0], bytes(data))
    write_tar(path, members)


def flip_index_byte(path: Path) -> None:
    members = members_of(path)
    data = members[0][1].replace(b"Fraud scores", b"Fraud scorez")
    members[0] = (members[0][0], data)
    write_tar(path, members)


def flip_raw_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    path.write_bytes(bytes(raw))


def truncate(path: Path) -> None:
    with tarfile.open(path) as tar:
        biggest = max((m for m in tar.getmembers() if m.name.startswith("files/")), key=lambda m: m.size)
    raw = path.read_bytes()
    path.write_bytes(raw[: biggest.offset_data + biggest.size // 2])  # cut inside a member's data


def truncate_between_members(path: Path) -> None:
    with tarfile.open(path) as tar:
        last = tar.getmembers()[-1]
    path.write_bytes(path.read_bytes()[: last.offset])  # the last member is gone with no trace


def hostile_name(name: str) -> Callable[[Path], None]:
    def attack(path: Path) -> None:
        members = members_of(path)
        i = first_file(members)
        old = members[i][0].name
        rel = old.split("/", 3)[3]

        def edit(index: dict[str, Any]) -> None:
            for model in index["models"]:
                for v in model["versions"]:
                    for f in v["files"]:
                        if f["path"] == rel:
                            f["path"] = name
                    v["files"].sort(key=lambda f: f["path"])
                    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in v["files"])
                    v["digest"] = hashlib.sha256(lines.encode()).hexdigest() if v["files"] else v["digest"]

        reindexed(members, edit)
        members[i][0].name = "/".join(old.split("/")[:3]) + "/" + name
        write_tar(path, members)

    return attack


def extra_member(name: str) -> Callable[[Path], None]:
    def attack(path: Path) -> None:
        members = members_of(path)
        info = tarfile.TarInfo(name)
        info.size = 5
        members.append((info, b"owned"))
        write_tar(path, members)

    return attack


def special_member(kind: bytes) -> Callable[[Path], None]:
    def attack(path: Path) -> None:
        members = members_of(path)
        i = next(i for i, (m, _) in enumerate(members) if m.name.endswith("/empty"))
        info = tarfile.TarInfo(members[i][0].name)
        info.type = kind
        if kind == tarfile.SYMTYPE or kind == tarfile.LNKTYPE:
            info.linkname = "/etc/passwd"
        info.devmajor, info.devminor = 1, 3
        members[i] = (info, b"")
        write_tar(path, members)

    return attack


def huge_declared_size(path: Path) -> None:
    members = members_of(path)
    i = first_file(members)
    rel = members[i][0].name.split("/", 3)[3]

    def edit(index: dict[str, Any]) -> None:
        for model in index["models"]:
            for v in model["versions"]:
                for f in v["files"]:
                    if f["path"] == rel:
                        f["size"] = 10**15

    reindexed(members, edit)
    write_tar(path, members)


def huge_header(path: Path) -> None:
    members = members_of(path)
    i = first_file(members)
    members = members[: i + 1]
    with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members[:-1]:
            tar.addfile(info, io.BytesIO(data))
        info = members[-1][0]
        info.size = 10**12
        tar.fileobj.write(info.tobuf(tarfile.GNU_FORMAT))  # type: ignore[union-attr]
        tar.fileobj.write(b"x" * 512)  # type: ignore[union-attr]
        tar.offset += 1024  # type: ignore[attr-defined]
        tar.closed = True  # do not pad the lie


def missing_member(path: Path) -> None:
    members = members_of(path)
    del members[first_file(members)]
    write_tar(path, members)


def swapped_checksum(path: Path) -> None:
    members = members_of(path)
    members[0], members[1] = members[1], members[0]
    write_tar(path, members)


ATTACKS: dict[str, Callable[[Path], None]] = {
    "flipped byte in a file": flip_file_byte,
    "flipped byte in bundle.json": flip_index_byte,
    "flipped byte anywhere": flip_raw_byte,
    "truncated inside a file": truncate,
    "truncated between members": truncate_between_members,
    "member ../x": hostile_name("../x"),
    "member a/../../x": hostile_name("a/../../x"),
    "absolute member": hostile_name("/etc/x"),
    "extra member ../x": extra_member("../x"),
    "extra absolute member": extra_member("/tmp/owned"),
    "extra unlisted member": extra_member("files/0/1/smuggled"),
    "symlink member": special_member(tarfile.SYMTYPE),
    "hard link member": special_member(tarfile.LNKTYPE),
    "device member": special_member(tarfile.CHRTYPE),
    "fifo member": special_member(tarfile.FIFOTYPE),
    "folder member": special_member(tarfile.DIRTYPE),
    "huge declared size": huge_declared_size,
    "huge header size": huge_header,
    "missing member": missing_member,
    "members out of order": swapped_checksum,
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_a_corrupted_bundle_is_refused_with_nothing_written(source: Registry, tmp_path: Path, attack: str) -> None:
    bundle = tmp_path / "b.tar"
    source.export_bundle(bundle)
    ATTACKS[attack](bundle)
    dest_root = tmp_path / "dest"
    dest = Registry(str(dest_root))
    with pytest.raises(CorruptBundle, match="Nothing was imported"):
        dest.import_bundle(bundle)
    assert dest.events() == [] and dest.list_registered_models() == []
    assert os.listdir(dest_root / "tmp") == [] and os.listdir(dest_root / "models") == []
    assert not (tmp_path / "x").exists() and not Path("/tmp/owned").exists()


def test_a_file_that_is_not_a_tar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.tar"
    path.write_bytes(b"not a tar file at all" * 100)
    with pytest.raises(CorruptBundle):
        Registry("memory://").import_bundle(path)


def test_a_whole_model_carries_its_counter(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "s"))
    source.create_registered_model("m")
    for i in range(3):
        source.create_model_version("m", f"s3://b/{i}")
    source.delete_model_version("m", 3)  # 3 was used there: it must stay unused here too
    source.export_bundle(tmp_path / "whole.tar", ["m"])
    dest = Registry(str(tmp_path / "d"))
    dest.import_bundle(tmp_path / "whole.tar")
    assert dest.create_model_version("m", "s3://b/next").version == 4
    again = Registry(str(tmp_path / "d2"))
    source.export_bundle(tmp_path / "one.tar", ["m/1"])  # a selection of versions carries no counter
    again.import_bundle(tmp_path / "one.tar")
    assert again.create_model_version("m", "s3://b/next").version == 2


def test_the_imported_state_survives_a_checkpoint_and_a_full_replay(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    source.export_bundle(bundle)
    root = tmp_path / "dest"
    with Registry(str(root)) as dest:
        dest.import_bundle(bundle)
        expected = snapshot(dest)
    with Registry(str(root)) as reopened:  # from the checkpoint written on close
        assert snapshot(reopened) == expected
    (root / "view.json").unlink()
    for doc in root.glob("models/*/model.json"):
        doc.unlink()
    with Registry(str(root)) as replayed:  # the journal alone
        assert snapshot(replayed) == expected
        assert replayed.check().problems == []


READER = """
import json, sys, time
from registry import Registry
reg = Registry(sys.argv[1])
print("ready", flush=True)
seen = set()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    names = [m.name for m in reg.list_registered_models()]
    if "big" in names:
        versions = [v.version for v in reg.list_model_versions("big")]
        aliases = reg.get_registered_model("big").aliases
        seen.add(json.dumps([len(versions), aliases], sort_keys=True))
        break
    seen.add("absent")
print(json.dumps(sorted(seen)))
"""


def test_a_reader_in_another_process_sees_a_model_whole_or_not_at_all(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "s"), durable=False)
    source.create_registered_model("big")
    for i in range(40):
        source.create_model_version("big", make_model(tmp_path / f"src{i}", str(i)))
    source.set_registered_model_alias("big", "champion", 40)
    source.export_bundle(tmp_path / "big.tar")
    root = tmp_path / "dest"
    Registry(str(root)).close()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert first_line(reader).strip() == "ready"
    Registry(str(root)).import_bundle(tmp_path / "big.tar")
    out, err = reader.communicate(timeout=90)
    assert reader.returncode == 0, err
    views = json.loads(out.strip().splitlines()[-1])
    assert set(views) - {"absent"} == {json.dumps([40, {"champion": 40}], sort_keys=True)}  # whole, never part


def test_a_read_only_registry_refuses_an_import(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    source.export_bundle(bundle)
    root = tmp_path / "dest"
    Registry(str(root)).close()
    with pytest.raises(ReadOnlyRegistry):
        Registry(str(root), read_only=True).import_bundle(bundle)
    assert Registry(str(root)).list_registered_models() == []
