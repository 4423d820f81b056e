"""Replicas: ``Registry.sync_from`` makes a registry equal to its source (or to the selected part of it), only
when the source moved, with every file verified, removals and moved aliases propagated, writes to the replica
refused until it is detached, and the source never written."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import TickingClock
from exchange_support import make_model, make_source, snapshot

from registry import Registry
from registry.errors import (
    ArtifactVerificationError,
    InvalidParameterValue,
    ReadOnlyRegistry,
    ReplicaReadOnly,
    ResourceDoesNotExist,
)
from registry.exchange.sync import SyncProgress


@pytest.fixture
def source(tmp_path: Path) -> Any:
    reg = make_source(tmp_path)
    yield reg
    reg.close()


def replica_of(tmp_path: Path, name: str = "replica") -> Registry:
    return Registry(str(tmp_path / name))


def test_a_whole_registry_round_trips_and_stays_equal(source: Registry, tmp_path: Path) -> None:
    replica = replica_of(tmp_path)
    report = replica.sync_from(source.uri)
    assert report.created_models == ["churn", "fraud"] and report.files_fetched == 3 * 4
    assert snapshot(replica) == snapshot(source)
    assert replica.replica_source == source.uri
    assert replica.check().problems == []
    assert [e.type for e in replica.events()] == ["registered_model.synced"] * 2  # one record per model
    # numbers deleted at the source stay unused: the counter came along
    assert replica.history("fraud")[0].data["next_version"] == 5
    # a version loads from the replica's own verified copy
    mv = replica.get_model_version("fraud", 3)
    assert mv.storage_location is not None and mv.storage_location.startswith(str(tmp_path / "replica"))
    assert (Path(mv.storage_location) / "data" / "weights.bin").read_bytes() == b"w3" * 100


def test_nothing_is_read_when_the_source_has_not_moved(source: Registry, tmp_path: Path, monkeypatch: Any) -> None:
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    events = replica.events()
    import registry.exchange.sync as sync  # the client imports it when a sync runs, so a patch here is seen

    def refuse(*args: Any) -> Any:
        raise AssertionError("the source was read although its journal did not move")

    monkeypatch.setattr(sync, "describe_source", refuse)
    again = replica.sync_from(source.uri)
    assert again.up_to_date and not again.changed
    assert replica.events() == events


def test_deletes_alias_moves_and_edits_propagate(source: Registry, tmp_path: Path) -> None:
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    old_files = Path(replica.get_model_version("fraud", 1).storage_location or "")
    source.set_registered_model_alias("fraud", "champion", 1)
    source.delete_registered_model_alias("fraud", "old")
    source.delete_model_version("fraud", 4)
    source.set_model_version_tag("fraud", 1, "validated", "true")
    source.update_registered_model("fraud", description="v2 of the scores")
    source.delete_registered_model("churn")
    source.create_registered_model("new")
    report = replica.sync_from(source.uri)
    assert report.synced_models == ["fraud"] and report.deleted_models == ["churn"]
    assert report.created_models == ["new"] and report.files_fetched == 0  # the files were already here
    assert snapshot(replica) == snapshot(source)
    assert old_files.is_dir()
    source.delete_model_version("fraud", 1)
    replica.sync_from(source.uri)
    assert snapshot(replica) == snapshot(source)
    assert not old_files.exists()  # a version deleted at the source leaves the replica's disk too
    assert not (tmp_path / "replica" / "models" / "churn").exists()
    assert replica.check().problems == []


def test_a_selection_holds_only_the_selected_versions(source: Registry, tmp_path: Path) -> None:
    edge = replica_of(tmp_path, "edge")
    edge.sync_from(source.uri, ["fraud@champion"])
    assert [m.name for m in edge.list_registered_models()] == ["fraud"]
    (mv,) = edge.list_model_versions("fraud")
    assert (mv.version, mv.current_stage, mv.aliases) == (3, "Production", ["champion"])
    assert edge.get_registered_model("fraud").tags == {"team": "risk"}
    # the champion moves at the source: the edge holds the new one, the old one is gone
    source.create_model_version("fraud", make_model(tmp_path / "m5", "w5"))
    source.set_registered_model_alias("fraud", "champion", 5)
    report = edge.sync_from(source.uri, ["fraud@champion"])
    assert report.synced_models == ["fraud"] and report.files_fetched == 4
    (mv,) = edge.list_model_versions("fraud")
    assert (mv.version, mv.aliases) == (5, ["champion"])
    assert edge.resolve_model_uri("models:/fraud@champion").version == 5
    assert [p.name for p in (tmp_path / "edge" / "models").glob("*/versions/*")] == ["5"]  # v3's files are gone
    assert edge.check().problems == []
    # a stage and a fixed version together, and a wider selection later
    edge.sync_from(source.uri, ["fraud/Production", "fraud/1", "churn"])
    assert [v.version for v in edge.list_model_versions("fraud")] == [1, 3]
    assert edge.get_registered_model("fraud").aliases == {"old": 1}
    assert [m.name for m in edge.list_registered_models()] == ["churn", "fraud"]


def test_a_selection_that_names_nothing_is_refused_with_nothing_written(source: Registry, tmp_path: Path) -> None:
    edge = replica_of(tmp_path, "edge")
    with pytest.raises(ResourceDoesNotExist):
        edge.sync_from(source.uri, ["fraud@nobody"])
    assert edge.list_registered_models() == [] and edge.replica_source is None


def test_a_bundle_is_a_source_too(source: Registry, tmp_path: Path) -> None:
    bundle = tmp_path / "all.tar"
    source.export_bundle(bundle)
    replica = replica_of(tmp_path)
    replica.sync_from(bundle, ["fraud@champion"])
    assert [v.version for v in replica.list_model_versions("fraud")] == [3]
    assert replica.sync_from(bundle, ["fraud@champion"]).up_to_date
    source.set_registered_model_alias("fraud", "champion", 1)
    source.export_bundle(bundle)
    os.utime(bundle, ns=(1, 1))  # a new bundle in the same place: its size or time moves
    replica.sync_from(bundle, ["fraud@champion"])
    # the aliases of what is held come along: @old points at version 1 too
    assert [(v.version, v.aliases) for v in replica.list_model_versions("fraud")] == [(1, ["champion", "old"])]


def test_writes_to_a_replica_are_refused_until_it_is_detached(source: Registry, tmp_path: Path) -> None:
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    other_handle = Registry(str(tmp_path / "replica"))
    for write in (
        lambda r: r.set_registered_model_alias("fraud", "mine", 1),
        lambda r: r.create_registered_model("x"),
        lambda r: r.delete_model_version("fraud", 1),
        lambda r: r.set_stage_policy("mlflow"),
    ):
        for handle in (replica, other_handle):
            with pytest.raises(ReplicaReadOnly, match=r"replica of .*source.*registry sync --detach") as info:
                write(handle)
            assert isinstance(info.value, ReadOnlyRegistry) and info.value.context["source"] == source.uri
    assert snapshot(replica) == snapshot(source)
    assert replica.check(fix=True).problems == []  # maintenance is not a write
    other_handle.detach_replica()
    assert replica.replica_source is None
    replica.set_registered_model_alias("fraud", "mine", 1)  # another process's detach is seen
    with pytest.raises(InvalidParameterValue, match="holds models and is not a replica"):
        replica.sync_from(source.uri)
    with pytest.raises(InvalidParameterValue, match="not a replica"):
        replica.detach_replica()


def test_a_registry_with_models_or_another_source_is_not_synced_over(source: Registry, tmp_path: Path) -> None:
    mine = replica_of(tmp_path, "mine")
    mine.create_registered_model("precious")
    with pytest.raises(InvalidParameterValue, match="holds models"):
        mine.sync_from(source.uri)
    assert [m.name for m in mine.list_registered_models()] == ["precious"]
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    other = Registry(str(tmp_path / "other"))
    with pytest.raises(InvalidParameterValue, match="is a replica of"):
        replica.sync_from(other.uri)


def test_the_source_is_opened_read_only_and_never_written(source: Registry, tmp_path: Path) -> None:
    root = Path(source.uri)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    os.chmod(root / "journal", 0o555)
    try:
        replica_of(tmp_path).sync_from(str(root))
    finally:
        os.chmod(root / "journal", 0o755)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_a_read_only_replica_refuses_to_sync(source: Registry, tmp_path: Path) -> None:
    replica_of(tmp_path).close()
    with pytest.raises(ReadOnlyRegistry):
        Registry(str(tmp_path / "replica"), read_only=True).sync_from(source.uri)


def test_a_damaged_source_file_is_refused_before_anything_is_visible(source: Registry, tmp_path: Path) -> None:
    mv = source.get_model_version("fraud", 3)
    weights = Path(mv.storage_location or "") / "data" / "weights.bin"
    weights.write_bytes(b"tampered" * 25)
    replica = replica_of(tmp_path)
    with pytest.raises(ArtifactVerificationError, match="does not match its manifest"):
        replica.sync_from(source.uri)
    assert replica.list_registered_models() == []
    (Path(mv.storage_location or "") / "MANIFEST.sha256").write_text("junk")
    with pytest.raises(ArtifactVerificationError, match="differs from its digest"):
        replica.sync_from(source.uri)
    assert replica.list_registered_models() == []


def test_progress_is_reported_and_verified_files_are_reused(source: Registry, tmp_path: Path) -> None:
    reports: list[SyncProgress] = []
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri, progress=reports.append)
    last = reports[-1]
    assert last.finished and last.files_done == last.files_total == 12
    assert last.bytes_done == last.bytes_total > 0 and last.bytes_reused == 0
    # what an interrupted sync verified into tmp/ is kept by digest and reused, never fetched again
    mv = source.get_model_version("fraud", 3)
    v6, v7 = (source.create_model_version("fraud", make_model(tmp_path / f"m{i}", f"w{i}")) for i in range(6, 8))
    staged = tmp_path / "replica" / "tmp" / f"sync-{v6.digest}"
    import shutil

    shutil.copytree(v6.storage_location or "", staged)
    partial = tmp_path / "replica" / "tmp" / f"sync-{v7.digest}.partial"
    (partial / "data").mkdir(parents=True)
    shutil.copy(Path(v7.storage_location or "") / "data" / "weights.bin", partial / "data" / "weights.bin")
    (partial / "README.part").write_text("cut off")  # an interrupted copy: dropped, not published
    reports.clear()
    report = replica.sync_from(source.uri, progress=reports.append)

    def size(v: Any) -> int:
        files = Path(v.storage_location).rglob("*")
        return sum(p.stat().st_size for p in files if p.is_file() and p.name != "MANIFEST.sha256")

    assert report.bytes_reused == size(v6) + 200 and report.files_fetched == 3  # v7's three other files
    assert snapshot(replica) == snapshot(source)
    assert replica.check().problems == [] and os.listdir(tmp_path / "replica" / "tmp") == []
    assert mv.version == 3


def test_follow_keeps_the_replica_current(source: Registry, tmp_path: Path) -> None:
    replica = replica_of(tmp_path, "edge")
    stop = threading.Event()
    synced: list[Any] = []

    def on_sync(report: Any) -> None:
        synced.append(report)
        if len(synced) == 1:
            source.set_registered_model_alias("fraud", "champion", 1)
        elif replica.resolve_model_uri("models:/fraud@champion").version == 1:
            stop.set()

    thread = threading.Thread(
        target=replica.follow_sync,
        args=(source.uri, ["fraud@champion"]),
        kwargs={"interval": 0.05, "stop": stop, "on_sync": on_sync},
    )
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [v.version for v in replica.list_model_versions("fraud")] == [1]
    assert any(r.up_to_date for r in synced) or len(synced) >= 2


def test_follow_reports_errors_and_carries_on(tmp_path: Path) -> None:
    replica = replica_of(tmp_path)
    stop = threading.Event()
    errors: list[Exception] = []

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        if len(errors) == 2:
            stop.set()

    replica.follow_sync(str(tmp_path / "missing"), interval=0.01, stop=stop, on_error=on_error)
    assert len(errors) == 2 and all(isinstance(e, ResourceDoesNotExist) for e in errors)
    with pytest.raises(ResourceDoesNotExist):
        replica.follow_sync(str(tmp_path / "missing"), interval=0.01)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r, s: r.sync_from(s, 3), "selections"),
        (lambda r, s: r.sync_from(s, progress=3), "progress"),
        (lambda r, s: r.sync_from(None), "sync source"),
        (lambda r, s: r.follow_sync(s, interval=0), "interval"),
        (lambda r, s: r.follow_sync(s, interval=True), "interval"),
    ],
)
def test_bad_arguments_are_refused(source: Registry, tmp_path: Path, call: Any, match: str) -> None:
    replica = replica_of(tmp_path)
    with pytest.raises(InvalidParameterValue, match=match):
        call(replica, source.uri)
    assert replica.list_registered_models() == []


def test_the_replica_survives_a_checkpoint_and_a_full_replay(source: Registry, tmp_path: Path) -> None:
    root = tmp_path / "replica"
    with Registry(str(root)) as replica:
        replica.sync_from(source.uri)
        source.set_registered_model_alias("fraud", "champion", 1)
        source.delete_model_version("fraud", 4)
        replica.sync_from(source.uri)
        expected = snapshot(replica)
        assert [e.type for e in replica.history("fraud")] == ["registered_model.synced"] * 2
        assert [e.seq for e in replica.history("fraud", 4)] == [e.seq for e in replica.history("fraud")]
    with Registry(str(root)) as reopened:
        assert snapshot(reopened) == expected
    (root / "view.json").unlink()
    for doc in root.glob("models/*/model.json"):
        doc.unlink()
    with Registry(str(root)) as replayed:
        assert snapshot(replayed) == expected
        assert replayed.check().problems == []


def test_an_in_memory_registry_can_be_a_replica(source: Registry) -> None:
    replica = Registry("memory://")
    replica.sync_from(source.uri, ["fraud@champion"])
    assert [v.version for v in replica.list_model_versions("fraud")] == [3]
    assert replica.check().problems == []
    with pytest.raises(ReplicaReadOnly):
        replica.create_registered_model("x")


def test_a_registry_is_not_its_own_replica(tmp_path: Path) -> None:
    reg = replica_of(tmp_path)
    with pytest.raises(InvalidParameterValue, match="replica of itself"):
        reg.sync_from(reg.uri)
    reg.create_registered_model("m")  # still an ordinary registry


def test_the_replica_s_copy_limits_apply_before_anything_is_fetched(source: Registry, tmp_path: Path) -> None:
    small = Registry(str(tmp_path / "small"), max_version_bytes=100)
    with pytest.raises(InvalidParameterValue, match="beyond this registry's limits"):
        small.sync_from(source.uri)
    assert small.list_registered_models() == [] and os.listdir(tmp_path / "small" / "tmp") == []


def test_subscribers_get_typed_synced_events_and_history_describes_them(source: Registry, tmp_path: Path) -> None:
    from registry.domain.events import RegisteredModelSynced
    from registry.domain.history import describe_event

    replica = replica_of(tmp_path)
    heard: list[Any] = []
    replica.subscribe(heard.append, events="registered_model.*")
    replica.sync_from(source.uri, ["fraud@champion"])
    (event,) = heard
    assert isinstance(event, RegisteredModelSynced)
    assert (event.created, event.versions, event.origin) == (True, [3], source.uri)
    text = describe_event(replica.history("fraud")[0])
    assert text.startswith("model replicated from /") and text.endswith(": versions 3")


def test_a_bucket_registry_is_a_source(s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``s3://`` registry (moto on 127.0.0.1) syncs like a folder: only the versions the replica lacks are
    downloaded (into the source's verified cache), and the replica then owes the bucket nothing."""
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    bucket = Registry(s3_url)
    bucket.create_registered_model("fraud")
    for i in range(1, 3):
        bucket.create_model_version("fraud", make_model(tmp_path / f"b{i}", f"b{i}"))
    bucket.set_registered_model_alias("fraud", "champion", 2)
    edge = replica_of(tmp_path, "edge")
    report = edge.sync_from(s3_url, ["fraud@champion"])
    assert report.created_models == ["fraud"] and report.files_fetched == 4
    (mv,) = edge.list_model_versions("fraud")
    assert (mv.version, mv.aliases, mv.digest) == (2, ["champion"], bucket.get_model_version("fraud", 2).digest)
    assert (Path(mv.storage_location or "") / "data" / "weights.bin").read_bytes() == b"b2" * 100
    assert edge.sync_from(s3_url, ["fraud@champion"]).up_to_date
    bucket.set_registered_model_alias("fraud", "champion", 1)
    edge.sync_from(s3_url, ["fraud@champion"])
    assert [(v.version, v.aliases) for v in edge.list_model_versions("fraud")] == [(1, ["champion"])]
    assert edge.check().problems == []


def _models_view(reg: Registry) -> dict[str, Any]:
    return {
        rm.name: (rm.aliases, [(v.version, str(v.current_stage), v.digest) for v in reg.list_model_versions(rm.name)])
        for rm in reg.list_registered_models()
    }


def test_a_sync_of_several_models_is_one_commit_seen_whole_wherever_it_is_cut(source: Registry, tmp_path: Path) -> None:
    """A reader sees every model as before the sync or every model as after it, never model A synced and model
    B not yet: the sync's records are one journal commit, cut here at every record boundary and inside records
    (what a reader reading during the append, or a crash, can find)."""
    root = tmp_path / "replica"
    replica = Registry(str(root))
    replica.sync_from(source.uri)
    before = _models_view(replica)
    source.set_registered_model_alias("fraud", "champion", 1)
    source.set_registered_model_tag("churn", "moved", "yes")
    source.create_registered_model("third")
    source.delete_model_version("fraud", 4)
    journal = root / "journal" / "journal.log"
    start = journal.stat().st_size
    report = replica.sync_from(source.uri)
    assert report.synced_models == ["churn", "fraud"] and report.created_models == ["third"]
    after = _models_view(replica)
    data = journal.read_bytes()
    lines = data[start:].splitlines(keepends=True)
    assert len(lines) == 3  # one record per model, one commit
    boundaries = [start + len(b"".join(lines[:i])) for i in range(len(lines) + 1)]
    cuts = sorted({*boundaries, *(b + 20 for b in boundaries[:-1]), *(b - 1 for b in boundaries[1:])})
    for size in cuts:
        journal.write_bytes(data[:size])
        seen = _models_view(Registry(str(root), read_only=True))
        assert seen == (after if size == len(data) else before), size


def _governance(reg: Registry, name: str) -> Any:
    out = []
    for mv in reg.list_model_versions(name):
        requests = [r.to_dict() for r in reg.list_transition_requests(name, mv.version, include_closed=True)]
        comments = [
            {**c.to_dict(), "id": c.id.partition(".")[2]}  # the part after the model id (which differs)
            for c in reg.list_comments(name, mv.version)
        ]
        out.append((mv.version, requests, comments))
    return out


def test_transition_requests_and_comments_come_along(source: Registry, tmp_path: Path) -> None:
    bob = Registry(source.uri, user="bob", clock=TickingClock(10**12))
    source.create_transition_request("fraud", 1, "Staging", comment="please")
    source.create_transition_request("fraud", 3, "Archived")
    bob.reject_transition_request("fraud", 3, "Archived", comment="not yet")
    source.create_comment("fraud", 1, "first look")
    bob.create_comment("fraud", 3, "ships on Monday")
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    assert _governance(replica, "fraud") == _governance(source, "fraud")
    assert [c.comment for c in replica.list_comments("fraud", 3)] == ["ships on Monday"]
    assert replica.list_transition_requests("fraud", 1)[0].comment == "please"
    assert replica.sync_from(source.uri).up_to_date
    # at the source: the request approved (the version moves in the same event), a comment edited, one added
    bob.approve_transition_request("fraud", 1, "Staging", comment="ok")
    (first,) = source.list_comments("fraud", 1)
    source.update_comment(first.id, "second look")
    bob.create_comment("fraud", 1, "agreed")
    report = replica.sync_from(source.uri)
    assert report.synced_models == ["fraud"]
    assert _governance(replica, "fraud") == _governance(source, "fraud")
    assert replica.get_model_version("fraud", 1).current_stage == "Staging"
    with pytest.raises(ReplicaReadOnly):
        replica.create_comment("fraud", 1, "from the edge")
    bob.create_comment("fraud", 3, "only a comment")  # nothing else moved: the comment alone is synced
    assert replica.sync_from(source.uri).synced_models == ["fraud"]
    assert _governance(replica, "fraud") == _governance(source, "fraud")
    # a selection brings only the requests and comments of the versions it holds
    edge = replica_of(tmp_path, "edge")
    edge.sync_from(source.uri, ["fraud@champion"])
    assert _governance(edge, "fraud") == [v for v in _governance(source, "fraud") if v[0] == 3]
    # the documents of a checkpoint and a full replay hold them too
    replica.close()
    (tmp_path / "replica" / "view.json").unlink()
    with Registry(str(tmp_path / "replica")) as replayed:
        assert _governance(replayed, "fraud") == _governance(source, "fraud")
        assert replayed.check().problems == []


def test_the_source_s_stage_policy_comes_along_even_when_only_it_changed(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "source"), policy="lifecycle")
    source.create_registered_model("m")
    replica = replica_of(tmp_path)
    replica.sync_from(source.uri)
    assert replica.stage_policy.name == "lifecycle"
    with pytest.raises(ReplicaReadOnly, match="replica of"):
        replica.set_stage_policy("mlflow")
    source.set_stage_policy("mlflow")  # registry.json only: the source's journal does not move
    report = replica.sync_from(source.uri)
    assert not report.up_to_date and report.changed and report.policy == "mlflow"
    assert report.synced_models == [] and report.to_dict()["policy"] == "mlflow"
    assert replica.stage_policy.name == "mlflow"
    assert Registry(str(tmp_path / "replica")).stage_policy.name == "mlflow"  # stored, for every process
    assert replica.sync_from(source.uri).up_to_date


def test_a_bundle_source_leaves_the_replica_s_own_policy(source: Registry, tmp_path: Path) -> None:
    bundle = str(tmp_path / "b.tar")
    source.export_bundle(bundle)
    replica = Registry(str(tmp_path / "replica"), policy="lifecycle")
    replica.sync_from(bundle)
    assert replica.stage_policy.name == "lifecycle"


def test_a_bucket_replica_stays_a_replica_after_a_reopen_and_takes_a_sync_as_one_object(
    source: Registry, s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replica marker of an ``s3://`` replica lives in the bucket: every handle, opened before or after the
    sync, refuses ordinary writes naming the source, until a detach (which every handle sees too)."""
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    other = Registry(s3_url)  # opened before the bucket became a replica
    replica = Registry(s3_url)
    replica.sync_from(source.uri)
    assert snapshot(replica) == snapshot(source)
    objects = replica._store.objects  # type: ignore[attr-defined]
    assert len(objects.list("journal/")) == 1  # both models' records, one commit: one object
    for reg in (Registry(s3_url), other):
        assert reg.replica_source == source.uri
        with pytest.raises(ReplicaReadOnly, match=source.uri.replace("\\", "\\\\")):
            reg.create_registered_model("local")
        with pytest.raises(ReplicaReadOnly):
            reg.set_stage_policy("lifecycle")
    source.set_registered_model_alias("fraud", "champion", 1)
    source.set_registered_model_tag("churn", "k", "v")
    report = Registry(s3_url).sync_from(source.uri)  # a new handle continues from the stored position
    assert report.synced_models == ["churn", "fraud"]
    assert len(objects.list("journal/")) == 2
    assert snapshot(Registry(s3_url)) == snapshot(source)
    elsewhere = Registry(str(tmp_path / "elsewhere"))
    with pytest.raises(InvalidParameterValue, match="replica of"):
        Registry(s3_url).sync_from(elsewhere.uri)
    Registry(s3_url).detach_replica()
    other.create_registered_model("local")  # a handle opened long ago sees the detach
    assert Registry(s3_url).replica_source is None
