"""Small file primitives the folder store is built from: atomic replace, fsync of folders, safe reads."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any

from registry.errors import CorruptRegistry

__all__ = ["atomic_write_bytes", "atomic_write_json", "fsync_dir", "read_json"]

log = logging.getLogger("registry")

# mkstemp creates files readable by their owner only; registry files should get the permissions any other file
# written here would (a registry folder is often shared, or synced to devices that read it as another user).
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


def fsync_dir(path: str) -> None:
    """Make a rename or a new entry in ``path`` durable (POSIX needs the folder itself synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms where folders cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a mix.

    The temp file lives in the same folder (so ``os.replace`` is a rename on one filesystem) and is fsynced
    before the rename when ``durable``; a crash leaves at worst a stray ``.tmp`` file, which ``check`` removes.
    """
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        fsync_dir(folder)


def atomic_write_json(path: str, value: Any, *, durable: bool = True) -> None:
    data = json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode()
    atomic_write_bytes(path, data, durable=durable)


def read_json(path: str) -> Any:
    """Read a JSON document; a file that is not valid JSON raises :class:`CorruptRegistry` naming it."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRegistry(
            f"{path} is not valid JSON ({exc}); run 'registry check --fix' to rebuild it from the journal.",
            path=path,
        ) from None
