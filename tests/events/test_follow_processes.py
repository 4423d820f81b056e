"""Cross-process following: real processes write and follow one registry folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from process_support import first_line

from registry import Registry

WRITERS = 4
TAGS_PER_WRITER = 15
PER_WRITER = 1 + TAGS_PER_WRITER  # one model, then its tags

WRITER = textwrap.dedent(
    """
    import sys
    from registry import Registry
    root, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reg = Registry(root, lock_timeout=60)
    reg.create_registered_model(name)
    for i in range(count):
        reg.set_registered_model_tag(name, f"k{i:03d}", str(i))
    reg.close()
    """
)

FOLLOWER = textwrap.dedent(
    """
    import json, sys
    from registry import Registry
    root, since, stop_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    reg = Registry(root)
    print("ready", flush=True)
    seen = 0
    for event in reg.follow(since=since, poll_interval=0.01, timeout=60):
        print(json.dumps({"seq": event.seq, "type": event.type, "name": event.name, "data": event.data}), flush=True)
        seen += 1
        if seen == stop_after:
            break
    """
)


def start_follower(root: str, since: int, stop_after: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, root, str(since), str(stop_after)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first_line(proc).strip() == "ready"  # it is following before anyone writes
    return proc


def collect(proc: subprocess.Popen[str]) -> list[dict]:
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_follower_sees_every_event_of_four_writers_in_commit_order_exactly_once(tmp_path: Path) -> None:
    root = str(tmp_path / "reg")
    Registry(root).close()  # create the folder first, so every process opens the same registry
    total = WRITERS * PER_WRITER
    first = start_follower(root, since=0, stop_after=total // 2)
    second_half_from: int | None = None
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, root, f"writer{i}", str(TAGS_PER_WRITER)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    # The first follower stops halfway (a "restart"); a second one resumes from the last seq it handled.
    first_half = collect(first)
    second_half_from = first_half[-1]["seq"]
    second = start_follower(root, since=second_half_from, stop_after=total - len(first_half))
    for writer in writers:
        _, err = writer.communicate(timeout=90)
        assert writer.returncode == 0, err
    seen = first_half + collect(second)

    assert [e["seq"] for e in seen] == list(range(1, total + 1))  # commit order, no gap, no repeat
    journal = [(e.seq, e.type, e.name) for e in Registry(root).events()]
    assert [(e["seq"], e["type"], e["name"]) for e in seen] == journal
    for i in range(WRITERS):
        mine = [e for e in seen if e["name"] == f"writer{i}"]
        assert mine[0]["type"] == "registered_model.created"
        assert [e["data"]["key"] for e in mine[1:]] == [f"k{j:03d}" for j in range(TAGS_PER_WRITER)]
