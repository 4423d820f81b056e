"""The writers' lock: exclusive across processes, timed, and safe across fork."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from registry.store.locking import LockTimeout, ProcessLock

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")

HOLDER = textwrap.dedent(
    """
    import sys, time
    from registry.store.locking import ProcessLock
    lock = ProcessLock(sys.argv[1])
    lock.acquire(timeout=5)
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    lock.release()
    """
)


def test_another_process_waits_then_times_out_or_gets_it(tmp_path: Path) -> None:
    path = str(tmp_path / ".lock")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path, "0.6"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    lock = ProcessLock(path)
    start = time.monotonic()
    with pytest.raises(LockTimeout):
        lock.acquire(timeout=0.1)
    assert time.monotonic() - start < 0.5
    lock.acquire(timeout=10)  # granted once the holder releases
    lock.release()
    lock.close()
    holder.communicate(timeout=10)


def test_forked_child_does_not_share_the_parents_lock(tmp_path: Path) -> None:
    lock = ProcessLock(str(tmp_path / ".lock"))
    lock.acquire(timeout=1)
    try:
        pid = os.fork()
        if pid == 0:  # child: the inherited descriptor must not count as holding the lock
            try:
                lock.acquire(timeout=0.2)
                os._exit(1)  # wrongly acquired while the parent holds it
            except LockTimeout:
                os._exit(0)
            except BaseException:
                os._exit(2)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        lock.release()
    lock.close()


def test_nested_acquisition_keeps_the_lock_until_the_outer_release(tmp_path: Path) -> None:
    """A rebuild inside a write takes the lock again; its release must not drop the write's hold."""
    path = str(tmp_path / ".lock")
    holder, other = ProcessLock(path), ProcessLock(path)  # two descriptors: they exclude each other
    holder.acquire(timeout=1)
    holder.acquire(timeout=0)
    holder.release()
    with pytest.raises(LockTimeout):
        other.acquire(timeout=0)  # still held by the outer acquisition
    holder.release()
    other.acquire(timeout=0)
    other.release()
    holder.close()
    other.close()
