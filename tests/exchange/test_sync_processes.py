"""Replicas across processes: a sync SIGKILLed at random points and started again ends equal to the source,
fetching again only what it had not verified, while a reader process polling the replica never sees a model
half-synced (a version without its alias, a moved alias without its version, a version whose files do not
verify); and ``registry serve --sync-from`` swaps in a champion moved at the source, with no restart."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from exchange_support import model_folder, snapshot
from process_support import first_line

from registry import Registry
from registry.pyfunc import PythonModel

SYNC = """
import sys
from registry import Registry
from registry.pyfunc import PythonModel
Registry(sys.argv[1]).sync_from(sys.argv[2])
"""

# The reader prints one line per distinct view of the replica, and "bad ..." for a view that is neither the state
# before the sync nor the state after it, of every model at once (model A synced and model B not yet is a
# mixture), or a visible version whose files do not verify. Each view is read at one journal position: the
# reads of all models between two equal last_event_seq() calls (a handle only moves forward).
READER = """
import json, os, sys, time
from registry import Registry
from registry.errors import ArtifactVerificationError
from registry.store.artifacts import verify_artifacts
reg = Registry(sys.argv[1])
allowed = json.loads(open(sys.argv[2]).read())
stop = sys.argv[3]
print("ready", flush=True)
seen = set()
polls = 0
while not os.path.exists(stop):
    seq = reg.last_event_seq()
    picture, broken = {}, []
    for name in allowed:
        try:
            versions = reg.list_model_versions(name)
            aliases = reg.get_registered_model(name).aliases
        except LookupError:
            picture[name] = None
            continue
        picture[name] = {"versions": [[v.version, v.current_stage, v.digest] for v in versions], "aliases": aliases}
        for v in versions:
            if v.storage_location is None:
                continue
            try:
                verify_artifacts(v.storage_location, v.digest)
            except ArtifactVerificationError as exc:
                broken.append(f"{name} {v.version} {exc}")
    if reg.last_event_seq() != seq:
        continue  # a sync committed between the reads: this is no single view, look again
    polls += 1
    for problem in broken:  # visible at this position, so it must verify
        print("bad files", problem, flush=True)
    sides = {name: [i for i, v in enumerate(views) if v == picture[name]] for name, views in allowed.items()}
    whole = any(all(i in sides[name] for name in allowed) for i in range(2))  # all before, or all after
    key = json.dumps(picture, sort_keys=True)
    if key not in seen:
        seen.add(key)
        print(("ok " if whole else "bad view ") + key, flush=True)
    time.sleep(0.001)
print("polls", polls, flush=True)
"""


def view(reg: Registry, name: str) -> Any:
    if name not in [m.name for m in reg.list_registered_models()]:
        return None
    versions = [[v.version, v.current_stage, v.digest] for v in reg.list_model_versions(name)]
    return {"versions": versions, "aliases": reg.get_registered_model(name).aliases}


def test_a_sync_killed_at_random_points_resumes_and_readers_never_see_a_mixture(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("SYNC_TORTURE_SEED", "14")))
    source = Registry(str(tmp_path / "source"), durable=False)
    names = ("fraud", "churn", "tiny")
    for name in names:
        source.create_registered_model(name)
        for i in range(3):
            source.create_model_version(name, model_folder(tmp_path / f"{name}{i}", i, 50_000))
        source.set_registered_model_alias(name, "champion", 2)
    replica_root = tmp_path / "replica"
    Registry(str(replica_root)).sync_from(source.uri)
    before = {name: view(source, name) for name in names}
    # the source moves on: many new versions with big files, the champion moved, an old version deleted (and
    # one small change to a third model, which one sync brings with the others, all in one commit)
    for name in names:
        for i in range(3, 15 if name != "tiny" else 4):
            mv = source.create_model_version(name, model_folder(tmp_path / f"{name}{i}", 100 + i, 400_000))
        source.set_registered_model_alias(name, "champion", mv.version)
        source.delete_model_version(name, 1)
        source.transition_model_version_stage(name, 2, "Staging")
    after = {name: view(source, name) for name in names}
    allowed = tmp_path / "allowed.json"
    allowed.write_text(json.dumps({name: [before[name], after[name]] for name in before}))
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(replica_root), str(allowed), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first_line(reader).strip() == "ready"
        kills = 0
        tmp = replica_root / "tmp"
        for attempt in range(11):
            child = subprocess.Popen([sys.executable, "-c", SYNC, str(replica_root), source.uri])
            # Wait until the child is fetching (or done), then let it run a random while longer: the kills land
            # among the copies, the renames into place and the commit, more of the sync each attempt.
            deadline = time.monotonic() + 30
            while (
                child.poll() is None
                and time.monotonic() < deadline
                and not any(p.name.startswith("sync-") for p in tmp.iterdir())
            ):
                time.sleep(0.001)
            try:  # the last attempt runs to the end
                child.wait(timeout=rng.uniform(0, 0.04 * (attempt + 1)) if attempt < 10 else 120)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills += 1
                continue
            assert child.returncode == 0
            break
        else:
            pytest.fail("the last sync did not finish")
    finally:
        stop.write_text("")
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert "bad" not in out, out
    assert int(out.split("polls ")[-1]) > 10, out  # the reader looked many times while the syncs ran
    assert kills >= 1, "no sync was interrupted: raise the files' size"
    replica = Registry(str(replica_root))
    assert snapshot(replica) == snapshot(source)
    assert replica.check().problems == []
    assert os.listdir(replica_root / "tmp") == []  # every verified copy was published or cleared
    # one record per model per finished sync, whatever the kills, each sync's records one commit
    assert [e.type for e in replica.events()].count("registered_model.synced") == 6


def test_a_resumed_sync_fetches_only_what_it_had_not_verified(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "source"), durable=False)
    source.create_registered_model("big")
    for i in range(6):
        source.create_model_version("big", model_folder(tmp_path / f"m{i}", i, 2_000_000))
    total = sum(
        (Path(mv.storage_location or "") / "weights.bin").stat().st_size for mv in source.list_model_versions("big")
    )
    replica_root = tmp_path / "replica"
    Registry(str(replica_root)).close()
    child = subprocess.Popen([sys.executable, "-c", SYNC, str(replica_root), source.uri])
    tmp = replica_root / "tmp"
    deadline = time.monotonic() + 30
    # three versions fetched (or being fetched): each a sync-<sha256> folder, complete or .partial
    while time.monotonic() < deadline and len([p for p in tmp.glob("sync-*") if len(p.name) >= 69]) < 3:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    replica = Registry(str(replica_root))
    assert replica.list_registered_models() == []  # nothing visible from the killed sync
    report = replica.sync_from(source.uri)
    assert report.bytes_reused > 0 and report.bytes_fetched + report.bytes_reused >= total
    assert report.bytes_fetched < total
    assert snapshot(replica) == snapshot(source)


class Const(PythonModel):
    """Predicts its value for every row, so a prediction tells which version made it."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return [self.value] * len(model_input)


@contextlib.contextmanager
def by_value() -> Iterator[None]:
    """Pickle this module's classes by value, so the server process (which cannot import tests) loads them."""
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def _predict(url: str) -> Any:
    body = json.dumps({"inputs": [[1.0], [2.0]]}).encode()
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["predictions"]


def test_serve_sync_from_picks_up_a_champion_moved_at_the_source(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "source"))
    with by_value():
        v1 = source.log_model(Const(1), registered_model_name="fraud")
        v2 = source.log_model(Const(2), registered_model_name="fraud")
    source.set_registered_model_alias("fraud", "champion", v1.version)
    edge = tmp_path / "edge"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry",
            "--registry",
            str(edge),
            "serve",
            "models:/fraud@champion",
            "--port",
            "0",
            "--poll-interval",
            "0.05",
            "--sync-from",
            source.uri,
            "--sync-interval",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _server_url(server)
        assert _predict(url) == [1, 1]
        source.set_registered_model_alias("fraud", "champion", v2.version)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _predict(url) != [2, 2]:
            time.sleep(0.05)
        assert _predict(url) == [2, 2]
        replica = Registry(str(edge))
        assert [v.version for v in replica.list_model_versions("fraud")] == [2]  # only the champion is held
        assert replica.replica_source == source.uri
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def _server_url(server: subprocess.Popen[str]) -> str:
    assert server.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stderr.readline()
        if not line:
            break
        if " on http://" in line:
            return line.split(" on ", 1)[1].split(" ", 1)[0]
    raise AssertionError(f"the server did not start: {line!r}")


def test_concurrent_syncs_into_one_replica_take_turns(tmp_path: Path) -> None:
    source = Registry(str(tmp_path / "source"), durable=False)
    source.create_registered_model("big")
    for i in range(4):
        source.create_model_version("big", model_folder(tmp_path / f"m{i}", i, 1_000_000))
    replica_root = tmp_path / "replica"
    children = [subprocess.Popen([sys.executable, "-c", SYNC, str(replica_root), source.uri]) for _ in range(3)]
    assert [child.wait(timeout=120) for child in children] == [0, 0, 0]
    replica = Registry(str(replica_root))
    assert snapshot(replica) == snapshot(source)
    assert replica.check().problems == [] and os.listdir(replica_root / "tmp") == []
    assert [e.type for e in replica.events()] == ["registered_model.synced"]  # the later ones found nothing to do
