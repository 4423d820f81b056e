"""Fault injection: a write storm on one bucket through a proxy that fails a fraction of requests (503s,
connections dropped before the request reaches the server, and after it did but before the answer). Nothing
acknowledged is lost, nothing half-done is visible, and an answer lost after a commit landed is recognised as
the writer's own commit (never a duplicate)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest
from s3_proxy import FaultyProxy

from registry import Registry, RegistryError
from registry.domain.stages import Stage
from registry.domain.state import RegistryState
from registry.store.bucket import BucketStore

THREADS = 4
OPS = 10


def storm(url: str, name: str, acks: list[dict[str, object]], failures: Counter[str], files: Path) -> None:
    reg = Registry(url, user=name)
    for i in range(OPS):
        try:
            if i % 3 == 2:
                target = reg.list_model_versions("m")[-1].version
                reg.transition_model_version_stage("m", target, "Production", archive_existing_versions=True)
                reg.set_registered_model_alias("m", "champion", target)
                continue
            (files / "weights.txt").write_text(f"{name}-{i}")
            mv = reg.create_model_version("m", str(files), tags={"by": name, "i": str(i)})
            acks.append({"version": mv.version, "by": name, "i": str(i), "digest": mv.digest})
        except RegistryError as exc:  # given up after its retries: not acknowledged, and must not be half-done
            failures[type(exc).__name__] += 1


@pytest.mark.slow
def test_a_write_storm_through_a_faulty_network(
    s3_url: str, s3_endpoint: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if s3_endpoint is None:
        pytest.skip("the proxy sits in front of the suite's own S3 server")
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    setup = Registry(s3_url, policy="mlflow")
    setup.create_registered_model("m")
    acks: list[dict[str, object]] = []
    failures: Counter[str] = Counter()
    with FaultyProxy(s3_endpoint, rate=0.2, seed=int(os.environ.get("REGISTRY_SEED", "7"))) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        threads = []
        for k in range(THREADS):
            files = tmp_path / f"files-{k}"
            files.mkdir()
            (files / "MLmodel").write_text("flavors: {}\n")
            threads.append(threading.Thread(target=storm, args=(s3_url, f"w{k}", acks, failures, files)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    assert all(proxy.counts[f] > 0 for f in ("503", "drop_before", "drop_after")), proxy.counts
    assert len(acks) >= THREADS * OPS // 3, (acks, failures)  # the storm mostly got through its retries
    reg = Registry(s3_url)
    versions = {mv.version: mv for mv in reg.list_model_versions("m")}
    assert sorted(versions) == list(range(1, len(versions) + 1))
    numbers = [a["version"] for a in acks]
    assert len(numbers) == len(set(numbers))
    for a in acks:  # nothing acknowledged lost, each the version its writer made
        mv = versions[a["version"]]  # type: ignore[index]
        assert mv.tags == {"by": a["by"], "i": a["i"]} and mv.digest == a["digest"]
    # An answer lost after the commit landed was recognised as the writer's own: no version twice.
    made = Counter((mv.tags["by"], mv.tags["i"]) for mv in versions.values())
    assert max(made.values()) == 1, made
    store = reg._store  # the test reads the journal behind the public face
    assert isinstance(store, BucketStore)
    fold = RegistryState()
    for event in store.journal_events():
        fold.apply(event)
        assert len(fold.model("m").by_stage[Stage.PRODUCTION]) <= 1
    for mv in versions.values():  # every committed version's files are whole: they download and verify
        reg.resolve_model_uri(f"models:/m/{mv.version}")
    report = reg.check()
    assert report.ok, report.problems
