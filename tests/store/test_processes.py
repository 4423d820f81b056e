"""Real processes on one registry folder: concurrent writers, and writers killed with SIGKILL mid-work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from process_support import first_line

from registry import Registry
from registry.store.artifacts import verify_artifacts

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")

WRITER = textwrap.dedent(
    """
    import sys
    from registry import Registry

    root, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reg = Registry(root, lock_timeout=60)
    for _ in range(count):
        mv = reg.create_model_version("m", source="s3://bucket/model", tags={"writer": tag})
        print(mv.version, flush=True)
    """
)


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_writers_get_distinct_consecutive_versions(tmp_path: Path) -> None:
    root = str(tmp_path / "r")
    Registry(root).create_registered_model("m")
    writers, per_writer = 4, 25
    procs = [run_python(WRITER, root, str(per_writer), f"w{i}") for i in range(writers)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    reported = [int(line) for out, _err in outputs for line in out.split()]
    total = writers * per_writer
    assert sorted(reported) == list(range(1, total + 1))  # distinct, consecutive, none lost
    versions = Registry(root).list_model_versions("m")
    assert [mv.version for mv in versions] == list(range(1, total + 1))
    for i in range(writers):
        mine = sorted(int(line) for line in outputs[i][0].split())
        assert sorted(mv.version for mv in versions if mv.tags["writer"] == f"w{i}") == mine


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    from registry import Registry

    root, src = sys.argv[1], sys.argv[2]
    reg = Registry(root)
    print("ready", 0, flush=True)
    i = 0
    while True:
        i += 1
        if i % 3 == 0:
            mv = reg.create_model_version("m", source=src, tags={"i": str(i)})
        else:
            mv = reg.create_model_version("m", source="s3://bucket/model", tags={"i": str(i)})
        print("created", mv.version, i, flush=True)
        if i % 2:
            reg.set_registered_model_alias("m", "champion", mv.version)
            print("alias", mv.version, flush=True)
        if i % 4 == 0:
            reg.transition_model_version_stage("m", mv.version, "Staging", archive_existing_versions=True)
            print("staged", mv.version, flush=True)
        if i % 5 == 0:
            print("deleting", mv.version - 1, flush=True)
            reg.delete_model_version("m", mv.version - 1)
            print("deleted", mv.version - 1, flush=True)
    """
)


def test_sigkill_never_corrupts_or_loses_returned_writes(tmp_path: Path) -> None:
    root = str(tmp_path / "r")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for n in range(20):
        (src / f"f{n}.bin").write_bytes(os.urandom(2048))
    (src / "sub" / "deep.txt").write_text("deep")
    Registry(root).create_registered_model("m")
    rng = random.Random(1234)
    trials = 25
    created: dict[int, int] = {}
    deleted: set[int] = set()
    maybe_deleted: set[int] = set()  # a delete that was under way when the kill came may or may not have committed
    for _trial in range(trials):
        proc = run_python(KILLED_WRITER, root, str(src))
        first = first_line(proc)
        assert first.startswith("ready"), first + proc.communicate(timeout=30)[1]
        # The kill timer starts after the first acknowledged write, so a loaded machine still gives every trial
        # real work to lose (timed from "ready", a slow first write left whole trials empty).
        second = first_line(proc)
        time.sleep(rng.uniform(0.0, 0.3))  # kill somewhere in the writes
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        champion = None
        for line in [second, *out.splitlines()]:
            parts = line.split()
            if len(parts) < 2 or not parts[-1].isdigit():
                continue  # a line cut by the kill
            if parts[0] == "created" and len(parts) == 3:
                created[int(parts[1])] = int(parts[2])
            elif parts[0] == "alias":
                champion = int(parts[1])
            elif parts[0] == "deleting":
                maybe_deleted.add(int(parts[1]))
            elif parts[0] == "deleted":
                deleted.add(int(parts[1]))
        # The folder opens, and every write that returned is there.
        reg = Registry(root)
        live = {mv.version: mv for mv in reg.list_model_versions("m")}
        for version, i in created.items():
            if version in deleted:
                assert version not in live
            elif version in live:
                assert live[version].tags == {"i": str(i)}
            else:
                assert version in maybe_deleted, f"version {version} returned from create, then vanished"
                deleted.add(version)
        if champion is not None and champion in live:
            # the alias may have moved on in a write that did not get to print, but only forward
            assert reg.get_model_version_by_alias("m", "champion").version >= champion
        assert sum(1 for mv in live.values() if mv.current_stage == "Staging") <= 1
        for mv in live.values():
            if mv.digest is not None:
                assert mv.storage_location is not None
                verify_artifacts(mv.storage_location, mv.digest)
        versions = sorted(live)
        assert len(versions) == len(set(versions))
    assert len(created) >= trials  # every trial acknowledged a write before its kill
