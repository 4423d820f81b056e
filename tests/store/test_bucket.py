"""The bucket store on a real S3-compatible server (moto on 127.0.0.1): the commit protocol's races and
ambiguous puts, checkpoints, the verified download cache, leftovers, read-only and credentials."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from s3_support import WatchedObjects

import registry.store.bucket as bucket_module
from registry import Registry
from registry.cli.app import main as cli_main
from registry.errors import ArtifactVerificationError, ReadOnlyRegistry, RegistryError
from registry.store.bucket import BucketStore, journal_key, version_prefix
from registry.store.check import check_registry
from registry.store.objects import ObjectStorageError, open_objects


@pytest.fixture
def bucket(s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    return s3_url


@pytest.fixture
def watched(bucket: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], WatchedObjects]]:
    """Open registries on ``bucket`` through a :class:`WatchedObjects`: call it to get the next one opened."""
    opened: list[WatchedObjects] = []

    def open_watched(url: str) -> WatchedObjects:
        objects = WatchedObjects(open_objects(url))
        opened.append(objects)
        return objects

    monkeypatch.setattr(bucket_module, "open_objects", open_watched)
    yield lambda: opened[-1]


def _store(reg: Registry) -> BucketStore:
    store = reg._store  # the test looks at the store behind the public face
    assert isinstance(store, BucketStore)
    return store


def test_a_bucket_url_opens_a_bucket_registry_everywhere(bucket: str, model_dir: Callable[..., str]) -> None:
    reg = Registry(bucket + "/")
    assert reg.uri == bucket and repr(reg) == f"Registry({bucket!r})"
    reg.create_registered_model("m")
    reg.create_model_version("m", model_dir())
    assert cli_main(["--registry", bucket, "alias", "set", "m", "champion", "1"]) == 0
    os.environ["REGISTRY_URI"] = bucket
    try:
        assert Registry().get_model_version_by_alias("m", "champion").version == 1
    finally:
        del os.environ["REGISTRY_URI"]


def test_a_writer_that_loses_the_race_decides_again(bucket: str, watched: Callable[[], WatchedObjects]) -> None:
    a = Registry(bucket)
    a.create_registered_model("m")
    a.create_model_version("m", "s3://elsewhere/a")
    b = Registry(bucket)
    objects = watched()
    raced = []

    def race(key: str) -> None:
        # Just before b's commit lands, a commits a version at the very position b decided on.
        if key.startswith("journal/") and not raced:
            raced.append(key)
            a.create_model_version("m", "s3://elsewhere/a2")

    objects.before_put = race
    mv = b.create_model_version("m", "s3://elsewhere/b")
    assert raced and mv.version == 3  # b decided 2, lost the race for it, caught up and took 3
    assert [v.source for v in a.list_model_versions("m")] == ["s3://elsewhere/a", "s3://elsewhere/a2", mv.source]
    assert [e.seq for e in a.events()] == [1, 2, 3, 4]


def test_a_put_that_landed_but_failed_is_recognised_as_our_own(
    bucket: str, watched: Callable[[], WatchedObjects]
) -> None:
    reg = Registry(bucket)
    objects = watched()
    reg.create_registered_model("m")

    def lose_the_answer(key: str) -> None:
        if key.startswith("journal/"):
            raise ObjectStorageError("the connection dropped after the put (simulated)")

    objects.after_put = lose_the_answer
    mv = reg.create_model_version("m", "s3://elsewhere/x")  # acknowledged: the object is ours
    objects.after_put = None
    assert mv.version == 1
    fresh = Registry(bucket)
    assert [v.version for v in fresh.list_model_versions("m")] == [1]
    assert [e.type for e in fresh.events()] == ["registered_model.created", "model_version.created"]


def test_a_retried_put_that_hears_exists_is_our_own_commit_not_a_conflict(
    bucket: str, watched: Callable[[], WatchedObjects]
) -> None:
    reg = Registry(bucket)
    objects = watched()
    reg.create_registered_model("m")
    inner_put = objects.inner.put

    def put_twice(key: str, data: bytes, *, create_only: bool = False) -> None:
        inner_put(key, data, create_only=create_only)
        if key.startswith("journal/"):
            inner_put(key, data, create_only=create_only)  # the client's retry after a lost answer: "exists"

    objects.inner.put = put_twice
    reg.set_registered_model_tag("m", "k", "v")
    assert len(objects.inner.list("journal/")) == 2 and reg.get_registered_model("m").tags == {"k": "v"}


def test_endless_conflicts_end_in_a_clear_error(bucket: str, watched: Callable[[], WatchedObjects]) -> None:
    reg = Registry(bucket)
    reg.create_registered_model("m")
    other = Registry(bucket)
    objects = watched()
    _store(other).max_commit_attempts = 3

    def always_first(key: str) -> None:
        if key.startswith("journal/"):
            reg.set_registered_model_tag("m", "n", key)

    objects.before_put = always_first
    with pytest.raises(RegistryError, match="other writers committed first 3 times"):
        other.set_registered_model_tag("m", "mine", "x")
    assert "mine" not in reg.get_registered_model("m").tags


def test_a_cold_open_reads_the_checkpoint_not_the_history(
    bucket: str, watched: Callable[[], WatchedObjects], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bucket_module, "CHECKPOINT_EVERY", 10)
    reg = Registry(bucket)
    reg.create_registered_model("m")
    for i in range(24):
        reg.set_registered_model_tag("m", f"k{i}", str(i))
    assert json.loads(open_objects(bucket).get("_last_checkpoint")) == {"seq": 20}
    cold = Registry(bucket)
    objects = watched()
    assert objects.calls["get"] == 3 + 5  # settings, hint, checkpoint, then the 5 commits after it
    assert objects.calls["list"] == 1 and objects.writes() == 0
    assert cold.get_registered_model("m").tags == reg.get_registered_model("m").tags
    report = cold.check()
    assert report.ok and not report.problems


def test_check_finds_a_forged_checkpoint_and_fix_rebuilds_it(bucket: str) -> None:
    reg = Registry(bucket)
    reg.create_registered_model("m")
    reg.set_registered_model_tag("m", "k", "v")
    _store(reg).checkpoint()
    objects = open_objects(bucket)
    key = "checkpoints/" + f"{2:020d}.json"
    body = json.loads(objects.get(key))
    body["models"][0]["tags"] = {"k": "forged"}
    objects.put(key, json.dumps(body).encode())
    report = Registry(bucket).check()
    assert not report.ok and [p.kind for p in report.problems] == ["checkpoint_mismatch", "view_mismatch"]
    fixed = Registry(bucket).check(fix=True)
    assert fixed.ok and fixed.rebuilt
    assert Registry(bucket).check().problems == []
    assert Registry(bucket).get_registered_model("m").tags == {"k": "v"}


def test_a_writer_killed_before_its_commit_leaves_garbage_check_removes(
    bucket: str, model_dir: Callable[..., str], watched: Callable[[], WatchedObjects]
) -> None:
    reg = Registry(bucket)
    objects = watched()
    reg.create_registered_model("m")

    def die(key: str) -> None:
        if key.startswith("journal/"):
            raise KeyboardInterrupt  # the process stops between uploading the files and committing

    objects.before_put = die
    with pytest.raises(KeyboardInterrupt):
        reg.create_model_version("m", model_dir("lost"))
    objects.before_put = None
    assert reg.list_model_versions("m") == []  # nothing half-done is visible
    kept = reg.create_model_version("m", model_dir("kept"))
    assert kept.version == 1  # the number the dead writer wanted was never committed
    young = reg.check()
    assert young.ok and young.leftovers == []  # a fresh upload may be a commit in flight: left alone
    report = check_registry(_store(reg), tmp_grace=0)
    orphans = [p for p in report.leftovers if p.kind == "orphan_version_folder"]
    assert report.ok and len(orphans) == 1 and "/versions/1/" in orphans[0].path
    assert check_registry(_store(reg), fix=True, tmp_grace=0).leftovers[0].fixed
    assert check_registry(_store(reg), tmp_grace=0).leftovers == []
    assert reg.check().versions_checked == 1  # the live version's files survived the clean-up
    shutil.rmtree(_store(reg).cache_dir)
    assert Path(reg.resolve_model_uri("models:/m/1").storage_location or "", "model.bin").read_text() == "kept"


def test_versions_download_once_verified_and_the_cache_is_reused(
    bucket: str, model_dir: Callable[..., str], watched: Callable[[], WatchedObjects]
) -> None:
    Registry(bucket).create_registered_model("m")
    Registry(bucket).create_model_version("m", model_dir("weights"))
    reg = Registry(bucket)
    objects = watched()
    shutil.rmtree(_store(reg).cache_dir)  # the writer left its own copy in this machine's cache: another machine
    before = objects.calls["get"]
    first = reg.resolve_model_uri("models:/m/1")
    downloaded = objects.calls["get"] - before
    assert downloaded == 4  # MLmodel, model.bin, data/extra.txt, the manifest
    path = Path(first.storage_location or "")
    assert (path / "model.bin").read_text() == "weights"
    before = objects.calls["get"]
    reg.resolve_model_uri("models:/m/1")
    assert objects.calls["get"] == before  # cached: no download
    (path / "MANIFEST.sha256").write_text("tampered")  # a damaged cache is downloaded again, never used
    reg.resolve_model_uri("models:/m/1")
    assert objects.calls["get"] - before == 4 and (path / "model.bin").read_text() == "weights"
    assert not list((Path(_store(reg).cache_dir) / "tmp").iterdir())  # no download folder left behind


def test_bucket_files_that_differ_from_the_digest_are_never_installed(
    bucket: str, model_dir: Callable[..., str]
) -> None:
    reg = Registry(bucket)
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", model_dir("weights"))
    shutil.rmtree(_store(reg).cache_dir)
    model_id = Path(mv.storage_location or "").parent.parent.name
    open_objects(bucket).put(version_prefix(model_id, 1, mv.digest or "") + "model.bin", b"poisoned")
    with pytest.raises(ArtifactVerificationError, match=r"model\.bin"):
        reg.load_model("models:/m/1")
    assert not Path(mv.storage_location or "").exists()
    report = reg.check()
    assert [p.kind for p in report.problems] == ["corrupt_version"]


def test_a_download_that_fails_midway_leaves_no_folder_to_load(
    bucket: str, model_dir: Callable[..., str], watched: Callable[[], WatchedObjects]
) -> None:
    Registry(bucket).create_registered_model("m")
    mv = Registry(bucket).create_model_version("m", model_dir())
    reg = Registry(bucket)
    objects = watched()
    shutil.rmtree(_store(reg).cache_dir)
    inner_get = objects.inner.get
    seen = []

    def flaky_get(key: str) -> bytes:
        if "/versions/" in key:
            seen.append(key)
            if len(seen) == 2:
                raise ObjectStorageError("connection reset (simulated)")
        return bytes(inner_get(key))

    objects.inner.get = flaky_get
    with pytest.raises(ObjectStorageError):
        reg.resolve_model_uri("models:/m/1")
    assert not Path(mv.storage_location or "").exists()
    again = reg.resolve_model_uri("models:/m/1")  # the next look downloads it whole
    assert sorted(os.listdir(again.storage_location or "")) == ["MANIFEST.sha256", "MLmodel", "data", "model.bin"]


def test_read_only_never_writes_to_the_bucket(
    bucket: str, model_dir: Callable[..., str], watched: Callable[[], WatchedObjects]
) -> None:
    with pytest.raises(RegistryError, match="read-only is never created"):
        Registry(bucket, read_only=True)
    writer = Registry(bucket)
    writer.create_registered_model("m")
    writer.create_model_version("m", model_dir())
    reader = Registry(bucket, read_only=True)
    objects = watched()
    reader.resolve_model_uri("models:/m/1")
    assert reader.check().ok
    with pytest.raises(ReadOnlyRegistry):
        reader.set_registered_model_tag("m", "k", "v")
    with pytest.raises(ReadOnlyRegistry):
        reader.create_model_version("m", model_dir())
    with pytest.raises(ReadOnlyRegistry):
        reader.check(fix=True)
    reader.close()
    assert objects.writes() == 0 and objects.total() > 0


def test_credentials_never_appear_in_errors_or_repr(
    s3_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SECRETsecretSECRET0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(bucket_module, "open_objects", lambda url: open_objects_quick(url))
    caplog.set_level("DEBUG", logger="registry")
    with pytest.raises(RegistryError) as info:
        Registry(s3_url)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text
    assert s3_url in str(info.value)


def test_a_bucket_url_with_credentials_in_it_is_refused_without_echoing_them() -> None:
    with pytest.raises(RegistryError) as info:
        Registry("s3://AKIDEXAMPLE:SECRETsecret0123@bucket/prefix")
    assert "SECRETsecret0123" not in str(info.value) and "AWS_SECRET_ACCESS_KEY" in str(info.value)
    with pytest.raises(RegistryError):
        Registry("s3://bucket/prefix?secret=SECRETsecret0123")


def open_objects_quick(url: str) -> bucket_module.ObjectStorage:
    from registry.store.objects import BucketObjects

    return BucketObjects(url, max_retries=0)


def test_the_journal_holds_one_object_per_commit_with_its_commit_id(bucket: str) -> None:
    reg = Registry(bucket)
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://x/1")
    reg.create_model_version("m", "s3://x/2")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    objects = open_objects(bucket)
    keys = objects.list("journal/")
    last = json.loads(objects.get(keys[-1]))
    assert keys[-1] == journal_key(7)  # the promotion and the archiving: one event
    assert [e["seq"] for e in last["events"]] == [7] and len(last["commit"]) == 32
    assert [v.current_stage.value for v in Registry(bucket).list_model_versions("m")] == ["Archived", "Production"]


def test_files_of_a_version_on_another_machine_bundles_and_listings(
    bucket: str, model_dir: Callable[..., str], tmp_path: Path
) -> None:
    writer = Registry(bucket)
    writer.create_registered_model("m")
    writer.create_model_version("m", model_dir("weights"))
    shutil.rmtree(_store(writer).cache_dir)  # another machine: nothing cached
    reader = Registry(bucket)
    assert sorted(f.path for f in reader.list_model_version_files("m", 1)) == ["MLmodel", "data/extra.txt", "model.bin"]
    shutil.rmtree(_store(writer).cache_dir)
    reader.export_bundle(tmp_path / "m.tar")
    folder = Registry(str(tmp_path / "folder"))
    folder.import_bundle(tmp_path / "m.tar")
    copy = folder.get_model_version("m", 1)
    assert Path(copy.storage_location or "", "model.bin").read_text() == "weights"


def test_an_import_that_loses_a_race_still_commits_its_files(
    bucket: str, model_dir: Callable[..., str], tmp_path: Path, watched: Callable[[], WatchedObjects]
) -> None:
    source = Registry(str(tmp_path / "source"))
    source.create_registered_model("m")
    source.create_model_version("m", model_dir("imported"))
    source.export_bundle(tmp_path / "m.tar")
    other = Registry(bucket)
    other.create_registered_model("elsewhere")
    reg = Registry(bucket)
    objects = watched()
    raced = []

    def race(key: str) -> None:
        if key.startswith("journal/") and not raced:
            raced.append(key)
            # Another machine creates the model first: the import decides again and goes into that model (another
            # id, so its files belong somewhere else than where the first round uploaded them).
            other.create_registered_model("m")

    objects.before_put = race
    reg.import_bundle(tmp_path / "m.tar")
    assert raced
    shutil.rmtree(_store(reg).cache_dir)
    mv = Registry(bucket).resolve_model_uri("models:/m/1")
    assert Path(mv.storage_location or "", "model.bin").read_text() == "imported"
    assert Registry(bucket).check().ok
