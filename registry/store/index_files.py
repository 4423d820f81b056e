"""The checkpoint's search index: which models hold each posting key, in levels a cold search reads a bit of.

A checkpoint (``view.json``) lists the model documents' positions; a cold process holding only that would have
to load every model to answer ``tags.build = 'b-42'``. So each checkpoint also carries, for every posting key
of `registry.domain.indexes` (a tag value, an alias, a stage, a run id, a model's tag or alias), the ids
of the models holding it *at the checkpoint's position*. A cold search reads the little of it that names its
key, loads the models it lists (their documents, with `registry.domain.state.materialize()`'s usual
checks) and nothing else; models with events after the checkpoint are loaded whatever the index says. The
answer is exact because the search evaluates its whole filter on what it loaded: the index only decides what
to load.

**Levels, so a checkpoint costs what changed.** The index is a list of levels, oldest first, as in a
log-structured merge tree. Each checkpoint adds one level holding the postings of the models changed since the
previous checkpoint, and the ids of every model it *supersedes* (changed or deleted): a model's postings are
those of the newest level that lists it. When a level grows to half the size of the one below, the two are
merged into one (a binary counter), so each posting is rewritten O(log n) times over a registry's life and a
checkpoint never rewrites the whole index. A level is spread over ``buckets`` files by a hash of the key
(more for a bigger level), so a cold lookup reads one small file per level plus each level's superseded list.

Files are immutable and named by their content (``index/<level digest>-<bucket>.json``): a reader never sees
a half-written one, ``view.json`` names them after they are written, and files no ``view.json`` names any more
are removed after the new one is in place (a reader still holding the old view that misses one loads every
model instead: slower, never wrong).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from registry.domain.indexes import PostingKey, model_keys, version_keys
from registry.domain.model_state import ModelState

__all__ = [
    "IndexFiles",
    "Level",
    "LevelContent",
    "encode_key",
    "level_of_models",
    "merge_levels",
    "model_postings",
]

# Postings per bucket file a level aims at (a cold lookup reads one bucket of each level).
_POSTINGS_PER_BUCKET = 2048
_MAX_BUCKETS = 256

Read = Callable[[str], bytes]


def encode_key(key: PostingKey) -> str:
    """A posting key as the text the files use (JSON, ASCII-escaped: unambiguous whatever the tag text holds,
    lone surrogates included)."""
    return json.dumps(list(key), separators=(",", ":"))


def _bucket_of(encoded: str, buckets: int) -> int:
    return zlib.crc32(encoded.encode("utf-8")) % buckets


def model_postings(model: ModelState) -> set[str]:
    """Every encoded posting key ``model`` or one of its versions is listed under."""
    keys: set[PostingKey] = set(model_keys(model))
    for mv in model.versions.values():
        keys.update(version_keys(mv))
    return {encode_key(k) for k in keys}


class LevelContent:
    """A level in memory: postings (encoded key -> model ids) and the ids it supersedes in older levels."""

    def __init__(self, postings: dict[str, list[str]], superseded: set[str]) -> None:
        self.postings, self.superseded = postings, superseded

    @property
    def size(self) -> int:
        return sum(len(ids) for ids in self.postings.values()) + len(self.superseded)


def level_of_models(models: Iterable[ModelState], removed: Iterable[str]) -> LevelContent:
    """The level of a checkpoint: the postings of ``models`` (changed since the previous checkpoint), which
    supersede them and the ``removed`` (deleted) ones in older levels."""
    postings: dict[str, list[str]] = {}
    superseded = set(removed)
    for model in models:
        superseded.add(model.id)
        for encoded in model_postings(model):
            postings.setdefault(encoded, []).append(model.id)
    return LevelContent(postings, superseded)


def merge_levels(older: LevelContent, newer: LevelContent, *, bottom: bool) -> LevelContent:
    """One level equal to ``older`` then ``newer``; at the ``bottom`` nothing is left to supersede."""
    gone = newer.superseded
    postings: dict[str, list[str]] = {}
    for encoded, ids in older.postings.items():
        kept = [i for i in ids if i not in gone]
        if kept:
            postings[encoded] = kept
    for encoded, ids in newer.postings.items():
        postings.setdefault(encoded, []).extend(ids)
    return LevelContent(postings, set() if bottom else older.superseded | gone)


class Level:
    """A level as ``view.json`` names it: its bucket files (``None``: an empty bucket), its superseded list's
    file (``None``: supersedes nothing) and its size (postings plus superseded ids, for the merge rule)."""

    def __init__(self, files: list[str | None], superseded: str | None, size: int) -> None:
        self.files, self.superseded, self.size = files, superseded, size

    def to_view(self) -> dict[str, Any]:
        return {"files": list(self.files), "superseded": self.superseded, "size": self.size}

    @classmethod
    def from_view(cls, view: Any) -> Level | None:
        if not isinstance(view, dict):
            return None
        files, superseded, size = view.get("files"), view.get("superseded"), view.get("size")
        if not isinstance(files, list) or not files or len(files) > _MAX_BUCKETS:
            return None
        if not all(f is None or _is_name(f) for f in files) or not (superseded is None or _is_name(superseded)):
            return None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None
        return cls(files, superseded, size)

    def names(self) -> list[str]:
        return [n for n in [*self.files, self.superseded] if n is not None]

    @classmethod
    def render(cls, content: LevelContent) -> tuple[Level, dict[str, bytes]]:
        """The level's files (name -> bytes) for ``content``, named by their content."""
        total = sum(len(ids) for ids in content.postings.values())
        buckets = 1
        while buckets < _MAX_BUCKETS and total > buckets * _POSTINGS_PER_BUCKET:
            buckets *= 2
        split: list[dict[str, list[str]]] = [{} for _ in range(buckets)]
        for encoded, ids in content.postings.items():
            split[_bucket_of(encoded, buckets)][encoded] = sorted(set(ids))
        files: dict[str, bytes] = {}
        names: list[str | None] = []
        for number, postings in enumerate(split):
            if not postings:
                names.append(None)
                continue
            data = _dumps({"postings": dict(sorted(postings.items()))})
            name = f"{hashlib.sha256(data).hexdigest()[:20]}-{number}.json"
            files[name] = data
            names.append(name)
        superseded = None
        if content.superseded:
            data = _dumps({"superseded": sorted(content.superseded)})
            superseded = f"{hashlib.sha256(data).hexdigest()[:20]}-s.json"
            files[superseded] = data
        return cls(names, superseded, content.size), files


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and value.endswith(".json") and "/" not in value and "\\" not in value


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("ascii")


class IndexFiles:
    """The index a checkpoint names: its levels, oldest first, read through ``read`` (a file of the index
    folder by name; raises ``OSError`` when it is missing)."""

    def __init__(self, levels: list[Level], read: Read | None) -> None:
        self.levels = levels
        self._read = read
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_view(cls, view: Mapping[str, Any], read: Read) -> IndexFiles | None:
        """The index a ``view.json`` names, or ``None`` when it names none (or not in this format)."""
        index = view.get("index")
        raw = index.get("levels") if isinstance(index, dict) else None
        if not isinstance(raw, list):
            return None
        levels = [Level.from_view(v) for v in raw]
        if any(level is None for level in levels):
            return None
        return cls([level for level in levels if level is not None], read)

    def to_view(self) -> dict[str, Any]:
        return {"levels": [level.to_view() for level in self.levels]}

    def names(self) -> set[str]:
        return {name for level in self.levels for name in level.names()}

    def _load(self, name: str, field: str) -> Any:
        if name not in self._cache:
            try:
                body = json.loads(self._read(name)) if self._read is not None else None
                value = body[field] if isinstance(body, dict) else None
            except (OSError, ValueError, KeyError, TypeError):
                value = None
            if field == "postings" and not (
                isinstance(value, dict) and all(isinstance(v, list) for v in value.values())
            ):
                value = None
            if field == "superseded" and not isinstance(value, list):
                value = None
            self._cache[name] = set(value) if field == "superseded" and value is not None else value
        return self._cache[name]

    def _bucket(self, level: Level, encoded: str) -> dict[str, list[str]] | None:
        name = level.files[_bucket_of(encoded, len(level.files))]
        return {} if name is None else self._load(name, "postings")

    def _superseded(self, level: Level) -> set[str] | None:
        return set() if level.superseded is None else self._load(level.superseded, "superseded")

    def model_ids(self, key: PostingKey) -> list[str] | None:
        """The ids of the models the checkpoint lists under ``key``; ``None`` when the index cannot say (a file
        is missing or unreadable)."""
        encoded = encode_key(key)
        found: list[str] = []
        newer: set[str] = set()
        for level in reversed(self.levels):
            bucket = self._bucket(level, encoded)
            superseded = self._superseded(level)
            if bucket is None or superseded is None:
                return None
            found.extend(i for i in bucket.get(encoded, ()) if i not in newer)
            newer |= superseded
        return found

    def content(self, level: Level) -> LevelContent | None:
        """A whole level in memory (for merging); ``None`` when one of its files cannot be read."""
        postings: dict[str, list[str]] = {}
        for name in level.files:
            if name is None:
                continue
            bucket = self._load(name, "postings")
            if bucket is None:
                return None
            postings.update(bucket)
        superseded = self._superseded(level)
        return None if superseded is None else LevelContent(postings, set(superseded))

    def effective(self) -> dict[str, set[str]] | None:
        """Every key's models as the whole index says (the newest level listing a model wins); ``None`` when a
        file cannot be read. What ``check`` compares with the journal's fold."""
        result: dict[str, set[str]] = {}
        newer: set[str] = set()
        for level in reversed(self.levels):
            content = self.content(level)
            if content is None:
                return None
            for encoded, ids in content.postings.items():
                kept = {i for i in ids if i not in newer}
                if kept:
                    result.setdefault(encoded, set()).update(kept)
            newer |= content.superseded
        return result
