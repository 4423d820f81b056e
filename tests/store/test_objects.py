"""Object storage: the same semantics in memory and on a real S3-compatible server (moto on 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from registry.errors import InvalidParameterValue, RegistryError
from registry.store.objects import (
    BucketObjects,
    MemoryObjects,
    ObjectExists,
    ObjectNotFound,
    ObjectStorage,
    ObjectStorageError,
    is_bucket_url,
    open_objects,
)


@pytest.fixture(params=["memory", "s3"])
def objects(request: pytest.FixtureRequest) -> Iterator[ObjectStorage]:
    if request.param == "memory":
        yield MemoryObjects()
    else:
        yield open_objects(request.getfixturevalue("s3_url"))


def test_put_get_overwrite_and_delete(objects: ObjectStorage) -> None:
    with pytest.raises(ObjectNotFound):
        objects.get("models/a.json")
    objects.put("models/a.json", b"one")
    assert objects.get("models/a.json") == b"one"
    objects.put("models/a.json", b"two")
    assert objects.get("models/a.json") == b"two"
    objects.delete("models/a.json")
    objects.delete("models/a.json")  # deleting what is gone is no error
    with pytest.raises(ObjectNotFound):
        objects.get("models/a.json")


def test_create_only_refuses_a_taken_key_and_keeps_the_first(objects: ObjectStorage) -> None:
    objects.put("journal/00000000000000000001.json", b"first", create_only=True)
    with pytest.raises(ObjectExists):
        objects.put("journal/00000000000000000001.json", b"second", create_only=True)
    assert objects.get("journal/00000000000000000001.json") == b"first"


def test_list_is_in_key_order_under_a_prefix_and_after_a_key(objects: ObjectStorage) -> None:
    for n in (3, 1, 2, 10):
        objects.put(f"journal/{n:020d}.json", b"x")
    objects.put("journalx/1", b"x")  # a sibling whose name starts like the prefix
    objects.put("checkpoints/1.json", b"x")
    keys = objects.list("journal/")
    assert keys == [f"journal/{n:020d}.json" for n in (1, 2, 3, 10)]
    assert objects.list("journal/", after=f"journal/{2:020d}.json") == [f"journal/{n:020d}.json" for n in (3, 10)]
    assert objects.list("nothing/") == []


def test_racing_creators_exactly_one_wins(objects: ObjectStorage) -> None:
    winners: list[int] = []
    barrier = threading.Barrier(6)

    def race(i: int) -> None:
        barrier.wait()
        try:
            objects.put("journal/next.json", str(i).encode(), create_only=True)
            winners.append(i)
        except ObjectExists:
            pass

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert objects.get("journal/next.json") == str(winners[0]).encode()


def test_bucket_urls_and_bad_ones() -> None:
    assert is_bucket_url("s3://bucket/prefix") and is_bucket_url("gs://b/p") and is_bucket_url("az://c/p")
    assert not is_bucket_url("/srv/models") and not is_bucket_url("file:///srv") and not is_bucket_url("s3")
    with pytest.raises(InvalidParameterValue, match="not a bucket URL"):
        open_objects("ftp://host/x")


def test_credentials_never_appear_in_repr_or_errors(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sup3r-s3cret-value-never-shown"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    store = BucketObjects(s3_url.replace("s3://", "s3://user:" + secret + "@", 1))
    assert secret not in repr(store) and secret not in store.url
    missing = BucketObjects("s3://no-such-bucket-here/x")
    with pytest.raises(ObjectStorageError) as caught:
        missing.put("k", b"v")
    assert isinstance(caught.value, RegistryError)
    assert secret not in str(caught.value)
    assert "no-such-bucket-here" in str(caught.value)
