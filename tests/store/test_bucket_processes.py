"""Many machines on one bucket, simulated by separate processes, each with its own ``Registry("s3://...")``:
racing version creation, archive-existing promotions and alias moves, then the same with writers SIGKILLed at
random. Afterwards: version numbers unique and gapless, every acknowledged write in the journal, never two
versions in Production at any position of the journal."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from registry import Registry
from registry.domain.stages import Stage
from registry.domain.state import RegistryState
from registry.store.bucket import BucketStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")

WRITERS = 6

# One machine: it creates versions (some with files), promotes one with archive_existing_versions, moves the
# alias, and prints an acknowledgement line after each call returns.
WORKER = textwrap.dedent(
    """
    import json, os, random, sys, tempfile, time
    from registry import Registry

    url, name, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    reg = Registry(url, user=name)
    files = tempfile.mkdtemp()
    with open(os.path.join(files, "MLmodel"), "w") as f:
        f.write("flavors: {}\\n")
    for i in range(count):
        op = rnd.choice(["create", "create", "promote", "alias"])
        mine = [v for v in reg.list_model_versions("m")]
        if op == "create" or not mine:
            with open(os.path.join(files, "weights.txt"), "w") as f:
                f.write(f"{name}-{i}")
            if rnd.random() < 0.5:
                mv = reg.create_model_version("m", files, tags={"by": name, "i": str(i)})
            else:
                mv = reg.create_model_version("m", f"s3://elsewhere/{name}/{i}", tags={"by": name, "i": str(i)})
            ack = {"op": "create", "version": mv.version, "i": i, "digest": mv.digest}
        elif op == "promote":
            target = rnd.choice(mine).version
            reg.transition_model_version_stage("m", target, "Production", archive_existing_versions=True)
            ack = {"op": "promote", "version": target, "t": time.time_ns() // 1_000_000}
        else:
            target = rnd.choice(mine).version
            reg.set_registered_model_alias("m", "champion", target)
            ack = {"op": "alias", "version": target, "t": time.time_ns() // 1_000_000}
        print(json.dumps(ack), flush=True)
    """
)


def spawn(url: str, name: str, count: int, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, name, str(count), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def acks_of(out: str) -> list[dict[str, object]]:
    acks = []
    for line in out.splitlines():
        try:
            acks.append(json.loads(line))
        except ValueError:
            pass  # the half-printed last line of a killed writer: not an acknowledgement
    return acks


def verify_the_bucket(url: str, acks: dict[str, list[dict[str, object]]], killed: set[str]) -> None:
    reg = Registry(url)
    versions = {mv.version: mv for mv in reg.list_model_versions("m")}
    # Unique and gapless: numbers are allocated only by a commit, so even killed writers leave no hole.
    assert sorted(versions) == list(range(1, len(versions) + 1))
    created = [(name, a) for name, items in acks.items() for a in items if a["op"] == "create"]
    numbers = [a["version"] for _, a in created]
    assert len(numbers) == len(set(numbers)), "two acknowledgements for one version number"
    for name, a in created:  # no acknowledged version lost, and it is the one that writer made
        mv = versions[a["version"]]  # type: ignore[index]
        assert mv.tags == {"by": name, "i": str(a["i"])} and mv.digest == a["digest"]
    if not killed:
        assert len(versions) == len(created)
    # Every acknowledged write is in the journal (a killed writer may have committed one more it never acked).
    store = reg._store  # the test reads the journal behind the public face
    assert isinstance(store, BucketStore)
    events = store.journal_events()
    made = Counter(e.actor for e in events if e.type == "model_version.created")
    for name, items in acks.items():
        count = sum(1 for a in items if a["op"] == "create")
        assert made[name] >= count if name in killed else made[name] == count, (name, made[name], count)
    # An acknowledged promotion or alias move may have been a no-op (already so), so its proof is a position of
    # the journal, committed before the acknowledgement, where it held. Never two versions in Production at
    # any position (archive-existing is one event).
    fold = RegistryState()
    held: set[tuple[str, int, int]] = set()  # (op, version, timestamp of the position)
    for event in events:
        fold.apply(event)
        if "m" in fold.ids_by_name:
            model = fold.model("m")
            production = model.by_stage[Stage.PRODUCTION]
            assert len(production) <= 1, f"two versions in Production after event {event.seq}"
            held.update(("promote", v, event.timestamp) for v in production)
            held.update(("alias", v, event.timestamp) for a, v in model.aliases.items() if a == "champion")
    for items in acks.values():
        for a in items:
            if a["op"] != "create":
                assert any(op == a["op"] and v == a["version"] and t <= a["t"] for op, v, t in held), a  # type: ignore[operator]
    # Every version with files downloads and verifies (nothing half-uploaded is referenced).
    for mv in versions.values():
        if mv.digest:
            reg.resolve_model_uri(f"models:/m/{mv.version}")
    report = reg.check()
    assert report.ok, report.problems


def prepare(url: str) -> None:
    reg = Registry(url, policy="mlflow")
    reg.create_registered_model("m")
    reg.close()


@pytest.mark.slow
def test_racing_machines_on_one_bucket(s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    prepare(s3_url)
    procs = {f"w{k}": spawn(s3_url, f"w{k}", 8, k) for k in range(WRITERS)}
    acks = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        acks[name] = acks_of(out)
    assert sum(len(a) for a in acks.values()) == WRITERS * 8
    verify_the_bucket(s3_url, acks, killed=set())


@pytest.mark.slow
def test_machines_killed_at_random(s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    prepare(s3_url)
    rnd = random.Random(int(os.environ.get("REGISTRY_SEED", "13")))
    procs = {f"w{k}": spawn(s3_url, f"w{k}", 40, 100 + k) for k in range(WRITERS)}
    victims = rnd.sample(sorted(procs), WRITERS // 2)
    deadline = time.monotonic() + 300
    for name in victims:  # each victim dies at a random moment of its work, mid-request or not
        time.sleep(rnd.uniform(0.3, 1.5))
        procs[name].send_signal(signal.SIGKILL)
    acks = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
        if name in victims:
            assert proc.returncode in (-signal.SIGKILL, 0), err
        else:
            assert proc.returncode == 0, err
        acks[name] = acks_of(out)
    killed = {name for name in victims if procs[name].returncode == -signal.SIGKILL}
    assert killed, "no writer was killed mid-work: the test proved nothing"
    verify_the_bucket(s3_url, acks, killed=killed)
