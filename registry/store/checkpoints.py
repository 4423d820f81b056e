"""The folder store's checkpoint: ``view.json`` as read, and the search index files it names.

``view.json`` holds the journal position the model documents reflect, each model's ``(seq, name)`` there and
the names of the index files of that position (`registry.store.index_files`). Index files are written
before ``view.json`` names them and removed only after a newer ``view.json`` is in place.
"""

from __future__ import annotations

import contextlib
import logging
import os

from registry.domain.model_state import ModelState
from registry.store.files import atomic_write_bytes, read_json
from registry.store.index_files import IndexFiles, Level, LevelContent, level_of_models, merge_levels

__all__ = ["INDEX_FOLDER", "Checkpoint", "remove_unlisted_index_files", "write_index_files"]

log = logging.getLogger(__name__)

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
    folder: str,
    previous: IndexFiles | None,
    changed: list[ModelState],
    removed: list[str],
    *,
    durable: bool,
) -> IndexFiles | None:
    """Add a level for the models ``changed`` and ``removed`` since ``previous`` (all models when it is
    ``None``), merge levels as `registry.store.index_files` says, and write the files of new levels.

    Returns:
        The index for the new ``view.json``; ``None`` when a level that must be merged cannot be read (the
        caller then builds the index afresh from every model).
    """
    stack: list[tuple[Level | None, LevelContent | None]] = [(level, None) for level in (previous or _NONE).levels]
    new = level_of_models(changed, removed)
    if not stack:
        new.superseded = set()  # the bottom level: nothing older to supersede
    if new.postings or new.superseded or not stack:
        stack.append((None, new))

    def size(entry: tuple[Level | None, LevelContent | None]) -> int:
        level, content = entry
        return content.size if content is not None else level.size if level is not None else 0

    while len(stack) >= 2 and size(stack[-1]) * 2 >= size(stack[-2]):
        newer, older = stack.pop(), stack.pop()
        parts = [c if c is not None else previous.content(lv) if previous and lv else None for lv, c in (older, newer)]
        if parts[0] is None or parts[1] is None:
            return None
        stack.append((None, merge_levels(parts[0], parts[1], bottom=not stack)))
    levels: list[Level] = []
    for level, content in stack:
        if content is not None:
            level, files = Level.render(content)
            for name, data in files.items():
                path = os.path.join(folder, name)
                if not os.path.exists(path):
                    os.makedirs(folder, exist_ok=True)
                    atomic_write_bytes(path, data, durable=durable)
        assert level is not None
        levels.append(level)
    return IndexFiles(levels, None)


_NONE = IndexFiles([], None)


def remove_unlisted_index_files(folder: str, index: IndexFiles) -> None:
    """Remove the files of ``folder`` that ``index`` does not name (run after the new ``view.json`` is in
    place: a reader still holding an older view and missing one of its files loads every model instead)."""
    listed = index.names()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name not in listed and name.endswith(".json"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))
