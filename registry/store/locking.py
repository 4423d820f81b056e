"""The writers' lock on a registry folder: exclusive across processes, with a timeout.

On POSIX it is an ``flock`` on a descriptor the store keeps open, which costs a system call per acquire
(``filelock`` re-resolves paths and tracks forks on every acquire, which cost more than the fsync of a fast disk
here). Elsewhere it is ``filelock.FileLock``. Threads of one process are serialized by the store's own
``RLock`` before they reach this lock; the lock counts nested acquisitions by its holder (a rebuild inside a
write takes it again), because a second ``flock`` on the same descriptor would succeed and its release would
drop the outer hold too. The kernel releases an ``flock`` when its process dies, so no lock is ever stale.

Fork safety: a child process inherits the descriptor, and an ``flock`` belongs to the open file description
that parent and child then share, so a child reusing it could "hold" the parent's lock. The descriptor is
therefore reopened whenever the process id changes (``test_locking.py`` forks to prove it).
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockTimeout", "ProcessLock"]

log = logging.getLogger(__name__)


class LockTimeout(Exception):
    """The lock was not acquired within the timeout (the store turns this into RegistryLockTimeout)."""


class ProcessLock:
    """An exclusive lock on ``path`` shared by every process that opens the same file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._finalizer: weakref.finalize | None = None
        self._depth = 0
        self._fallback = _portable_lock(path) if fcntl is None else None

    def open(self) -> None:
        """Open the lock file for writing without locking it (raises the OSError when this user cannot)."""
        if self._fallback is None:
            self._descriptor()
        else:  # pragma: no cover - not POSIX
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644))

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            # After a fork the inherited descriptor shares the parent's lock state: open our own.
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
            # Registries are often dropped without close() (tests make thousands): do not leak descriptors.
            self._finalizer = weakref.finalize(self, _close_in_owner, self._fd, self._pid)
        return self._fd

    def acquire(self, timeout: float) -> None:
        """Take the lock, waiting at most ``timeout`` seconds (0: try once). Raises `LockTimeout`."""
        if self._depth and self._pid == os.getpid():
            self._depth += 1  # already ours
            return
        self._acquire(timeout)
        self._depth = 1

    def _acquire(self, timeout: float) -> None:
        if self._fallback is not None:  # pragma: no cover - not POSIX
            import filelock

            try:
                self._fallback.acquire(timeout=timeout)
            except filelock.Timeout:
                raise LockTimeout(self.path) from None
            return
        fd = self._descriptor()
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(self.path) from None
                # Back off up to 20 ms: short waits for short writes, no busy loop for long ones.
                time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
                delay = min(delay * 2, 0.02)

    def release(self) -> None:
        self._depth -= 1
        if self._depth:
            return
        if self._fallback is not None:  # pragma: no cover - not POSIX
            self._fallback.release()
            return
        assert self._fd is not None and self._pid == os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._depth = 0
        if self._finalizer is not None:
            self._finalizer()
        self._fd = None


def _portable_lock(path: str) -> Any:  # pragma: no cover - not POSIX
    import filelock  # only where there is no flock: it costs more to import than the rest of the store

    return filelock.FileLock(path, thread_local=False, is_singleton=False)


def _close_in_owner(fd: int, pid: int) -> None:
    if pid == os.getpid():  # a forked child must not close the parent's descriptor number
        try:
            os.close(fd)
        except OSError:
            pass
