"""The folder store's checkpoint: ``view.json`` as read, and the search index files it names.

``view.json`` holds the journal position the model documents reflect, each model's ``(seq, name)`` there and
the names of the index files of that position (:mod:`registry.store.index_files`). Index files are written
before ``view.json`` names them and removed only after a newer ``view.json`` is in place.
"""

from __future__ import annotations

import contextlib
import logging
import os

from registry.store.files import atomic_write_bytes, read_json
from registry.store.index_files import BUCKETS, IndexFiles, file_name, render_bucket

__all__ = ["INDEX_FOLDER", "Checkpoint", "remove_unlisted_index_files", "write_index_files"]

log = logging.getLogger("registry")

#: The folder (beside view.json) that holds the index files.
INDEX_FOLDER = "index"


class Checkpoint:
    """``view.json`` as read: the journal position (``seq``, byte ``offset``, and ``start``, where the record
    of ``seq`` begins), each model's ``(seq, name)`` there, and the search index of that position (``None``
    when the checkpoint has none: written by an older version)."""

    def __init__(
        self,
        seq: int,
        offset: int,
        start: int,
        models: dict[str, tuple[int, str]],
        index: IndexFiles | None = None,
    ) -> None:
        self.seq, self.offset, self.start, self.models, self.index = seq, offset, start, models, index

    @classmethod
    def read(cls, path: str) -> Checkpoint | None:
        """The checkpoint at ``path``; ``None`` if there is none or it is not one this version wrote.

        Raises:
            CorruptRegistry: it is not valid JSON.
        """
        try:
            view = read_json(path)
        except FileNotFoundError:
            return None
        try:
            seq, offset, start = view["seq"], view["offset"], view["start"]
            models = {str(k): (v[0], v[1]) for k, v in view["models"].items()}
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            log.warning("registry: ignoring the malformed checkpoint %s", path)
            return None
        numbers = [seq, offset, start, *(s for s, _ in models.values())]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers) or not all(
            isinstance(name, str) for _, name in models.values()
        ):
            log.warning("registry: ignoring the malformed checkpoint %s", path)
            return None
        folder = os.path.join(os.path.dirname(path), INDEX_FOLDER)

        def read_index_file(name: str) -> bytes:
            with open(os.path.join(folder, name), "rb") as f:
                return f.read()

        return cls(seq, offset, start, models, IndexFiles.from_view(view, read_index_file))


def write_index_files(
    folder: str, buckets: list[dict[str, list[str]]], previous: Checkpoint | None, *, durable: bool
) -> IndexFiles:
    """Write the buckets whose content changed since ``previous`` as new files in ``folder``; the index that
    names them all (for the new ``view.json``)."""
    before = previous.index.files if previous is not None and previous.index is not None else [None] * BUCKETS
    files: list[str | None] = []
    for number, postings in enumerate(buckets):
        if not postings:
            files.append(None)
            continue
        content = render_bucket(postings)
        name = file_name(number, content)
        if name != before[number] or not os.path.exists(os.path.join(folder, name)):
            os.makedirs(folder, exist_ok=True)
            atomic_write_bytes(os.path.join(folder, name), content, durable=durable)
        files.append(name)
    return IndexFiles(files, None)


def remove_unlisted_index_files(folder: str, index: IndexFiles) -> None:
    """Remove the files of ``folder`` that ``index`` does not name (run after the new ``view.json`` is in
    place: a reader still holding an older view and missing one of its files loads every model instead)."""
    listed = {name for name in index.files if name is not None}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name not in listed and name.endswith(".json"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))
