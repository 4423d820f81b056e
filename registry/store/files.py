"""Small file primitives the folder store is built from: atomic replace, fsync of folders, safe reads."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from registry.errors import CorruptRegistry, InvalidParameterValue, ReadOnlyRegistry, RegistryError, RegistryIOError

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "atomic_write_bytes",
    "atomic_write_json",
    "fsync_dir",
    "os_error",
    "os_errors",
    "path_text",
    "read_json",
]

MAX_PATH_BYTES = 4095
"""The longest path accepted (Linux's PATH_MAX less its NUL); longer ones no call could open anyway."""
MAX_NAME_BYTES = 255
"""The longest single path component accepted (NAME_MAX of the usual filesystems)."""

_CANNOT_WRITE = {errno.EACCES, errno.EPERM, errno.EROFS}
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

log = logging.getLogger(__name__)

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
    """Read a JSON document; a file that is not valid JSON raises `CorruptRegistry` naming it."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRegistry(
            f"{path} is not valid JSON ({exc}); run 'registry check --fix' to rebuild it from the journal.",
            path=path,
        ) from None


def os_error(exc: OSError, *, path: str, doing: str, writing: bool) -> RegistryError:
    """The registry error for an OS error met while ``doing`` something to the registry at ``path``.

    A write refused for permissions or a read-only filesystem is `ReadOnlyRegistry`; a name too long for
    the filesystem is bad input; anything else is `RegistryIOError`. Each message names the path (and
    the file, when the OS said which) and what to do.
    """
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else path
    reason = exc.strerror or str(exc) or type(exc).__name__
    if writing and exc.errno in _CANNOT_WRITE:
        fs = "is on a read-only filesystem" if exc.errno == errno.EROFS else "cannot be written by this user"
        return ReadOnlyRegistry(
            f"Cannot {doing}: the registry at {path} {fs} ({reason}: {where}). Open it as a user who can write "
            "to it or on a writable copy; to only read it, open it with read_only=True (or REGISTRY_READ_ONLY=1).",
            path=path,
        )
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidParameterValue(
            f"Cannot {doing}: the path {where[:80]}... is too long for the filesystem ({len(where)} characters). "
            "Choose a shorter registry path.",
            path=path,
        )
    if exc.errno in _DISK_FULL:
        return RegistryIOError(
            f"Cannot {doing}: the disk holding {path} is full ({reason}). Free some space and retry; a write that "
            "failed this way was not committed.",
            path=path,
        )
    advice = "Check that the folder exists and this user may read it" + (" and write to it" if writing else "")
    return RegistryIOError(f"Cannot {doing} ({reason}: {where}). {advice}, then retry.", path=path)


@contextlib.contextmanager
def os_errors(path: str, doing: str, *, writing: bool) -> Iterator[None]:
    """Turn any `OSError` raised in the block into the registry error `os_error()` gives."""
    try:
        yield
    except RegistryError:
        raise  # some registry errors are OSErrors too (RegistryLockTimeout is a TimeoutError)
    except OSError as exc:
        raise os_error(exc, path=path, doing=doing, writing=writing) from exc


def path_text(value: Any, what: str) -> str:
    """``value`` (a ``str`` or ``os.PathLike``) as text that can name a file, or a clear error saying why not.

    Raises:
        InvalidParameterValue: not text, a NUL character, a lone surrogate (no file name can hold one), a
            component longer than 255 bytes or a path longer than 4,095 bytes.
    """
    try:
        text = os.fspath(value)
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise InvalidParameterValue(f"{what} must be a path or URI string, got {type(value).__name__} {value!r}.")
    if "\x00" in text:
        raise InvalidParameterValue(f"{what} {text[:80]!r} contains a NUL character, which no path can hold.")
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        raise InvalidParameterValue(
            f"{what} {text[:80]!r} cannot be a file name on this system (it holds a lone surrogate or a character "
            "the filesystem encoding lacks)."
        ) from None
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if len(encoded) > MAX_PATH_BYTES or longest > MAX_NAME_BYTES:
        raise InvalidParameterValue(
            f"{what} {text[:60]!r}... is too long for a path ({len(encoded)} bytes; a path may have "
            f"{MAX_PATH_BYTES}, each of its parts {MAX_NAME_BYTES}). Choose a shorter one."
        )
    return text
