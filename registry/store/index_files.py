"""The checkpoint's search index: which models hold each posting key, in a few files a cold search reads one of.

A checkpoint (``view.json``) lists the model documents' positions; a cold process holding only that would have
to load every model to answer ``tags.build = 'b-42'``. So each checkpoint also carries, for every posting key
of :mod:`registry.domain.indexes` (a tag value, an alias, a stage, a run id, a model's tag or alias), the ids
of the models holding it *at the checkpoint's position*, spread over :data:`BUCKETS` files by a hash of the
key. A cold search reads one file, loads the models it names (their documents, at the checkpoint's position,
with :func:`registry.domain.state.materialize`'s usual checks) and nothing else; models with events after the
checkpoint are loaded whatever the file says. The answer is exact because the search evaluates its whole filter
on what it loaded: the file only decides what to load.

Files are immutable and named by their content (``index/<bucket>-<digest>.json``), so a checkpoint rewrites only
the buckets whose postings changed, and a reader never sees a half-written one; ``view.json`` names the file of
each bucket, written after the files. A file an older ``view.json`` named may be removed once a newer one is in
place: a reader that misses it loads every model instead (slower, never wrong).

This module is pure apart from the caller's reads and writes: it builds, merges and parses postings.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from registry.domain.indexes import PostingKey, model_keys, version_keys
from registry.domain.model_state import ModelState

__all__ = [
    "BUCKETS",
    "IndexFiles",
    "bucket_of",
    "encode_key",
    "file_name",
    "merge_postings",
    "model_postings",
    "parse_bucket",
    "render_bucket",
]

#: How many files the index is spread over (a cold search reads one).
BUCKETS = 64


def encode_key(key: PostingKey) -> str:
    """A posting key as the text the files use (JSON: unambiguous whatever the tag text holds)."""
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))


def bucket_of(encoded: str) -> int:
    return zlib.crc32(encoded.encode("utf-8")) % BUCKETS


def model_postings(model: ModelState) -> set[str]:
    """Every encoded posting key ``model`` or one of its versions is listed under."""
    keys: set[PostingKey] = set(model_keys(model))
    for mv in model.versions.values():
        keys.update(version_keys(mv))
    return {encode_key(k) for k in keys}


def merge_postings(
    previous: list[dict[str, list[str]]] | None, kept: set[str], changed: Iterable[ModelState]
) -> list[dict[str, list[str]]]:
    """The buckets at a new checkpoint: ``previous``'s postings of the ``kept`` models (unchanged since, so
    their postings still hold), plus the postings of the ``changed`` models, computed afresh."""
    buckets: list[dict[str, list[str]]] = [{} for _ in range(BUCKETS)]
    if previous is not None:
        for number, postings in enumerate(previous):
            bucket = buckets[number]
            for encoded, ids in postings.items():
                held = [i for i in ids if i in kept]
                if held:
                    bucket[encoded] = held
    for model in changed:
        for encoded in model_postings(model):
            buckets[bucket_of(encoded)].setdefault(encoded, []).append(model.id)
    return buckets


def render_bucket(postings: Mapping[str, list[str]]) -> bytes:
    """A bucket's file content (sorted, so equal postings give equal bytes and the same file name)."""
    body = {"postings": {k: sorted(set(v)) for k, v in sorted(postings.items())}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def file_name(number: int, content: bytes) -> str:
    return f"{number:02x}-{hashlib.sha256(content).hexdigest()[:20]}.json"


def parse_bucket(content: bytes) -> dict[str, list[str]]:
    """A bucket file's postings.

    Raises:
        ValueError: it is not a bucket file (the caller then treats the index as missing).
    """
    body = json.loads(content)
    postings = body["postings"] if isinstance(body, dict) else None
    if not isinstance(postings, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v) for k, v in postings.items()
    ):
        raise ValueError("not an index bucket")
    return postings


class IndexFiles:
    """The index a checkpoint names: ``files[b]`` is bucket ``b``'s file name (``None``: the bucket is empty).

    Args:
        files: as ``view.json`` lists them.
        read: reads a file of the index folder by name (raises ``OSError`` when it is missing).
    """

    def __init__(self, files: list[str | None], read: Any) -> None:
        self.files = files
        self._read = read
        self._loaded: dict[int, dict[str, list[str]] | None] = {}

    @classmethod
    def from_view(cls, view: Mapping[str, Any], read: Any) -> IndexFiles | None:
        """The index a ``view.json`` names, or ``None`` when it names none (or not in this format)."""
        index = view.get("index")
        if not isinstance(index, dict) or index.get("buckets") != BUCKETS:
            return None
        files = index.get("files")
        if not isinstance(files, list) or len(files) != BUCKETS:
            return None
        if not all(f is None or (isinstance(f, str) and "/" not in f and f.endswith(".json")) for f in files):
            return None
        return cls(files, read)

    def to_view(self) -> dict[str, Any]:
        return {"buckets": BUCKETS, "files": list(self.files)}

    def bucket(self, number: int) -> dict[str, list[str]] | None:
        """Bucket ``number``'s postings; ``None`` when its file cannot be read (removed by a later checkpoint)."""
        if number not in self._loaded:
            name = self.files[number]
            if name is None:
                self._loaded[number] = {}
            else:
                try:
                    self._loaded[number] = parse_bucket(self._read(name))
                except (OSError, ValueError, KeyError, TypeError):
                    self._loaded[number] = None
        return self._loaded[number]

    def all_buckets(self) -> list[dict[str, list[str]]] | None:
        """Every bucket's postings, or ``None`` if any cannot be read."""
        buckets = [self.bucket(n) for n in range(BUCKETS)]
        return None if any(b is None for b in buckets) else buckets  # type: ignore[return-value]

    def model_ids(self, key: PostingKey) -> list[str] | None:
        """The ids of the models the checkpoint lists under ``key``; ``None`` when the index cannot say."""
        encoded = encode_key(key)
        postings = self.bucket(bucket_of(encoded))
        return None if postings is None else postings.get(encoded, [])
