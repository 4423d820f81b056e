"""The hash chain's cost: commits with every record linked (sha256 of its canonical JSON) against the same
commits with linking switched off, in the same run, and ``verify_history`` against a plain read of the journal.

    python benchmarks/bench_chain.py [--writes 2000]

Both registries are folders with ``durable=False`` (no fsync, so the hashing is not hidden behind the disk) and
``durable=True`` (what users get). Best of three. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from unittest import mock

from registry import Registry
from registry.domain.state import Event


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def writes(n: int, durable: bool) -> Callable[[], None]:
    def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            reg = Registry(os.path.join(root, "r"), durable=durable, user="bench")
            reg.create_registered_model("m")
            reg.create_model_version("m", "s3://bucket/m")
            for i in range(n):
                reg.set_model_version_tag("m", 1, "k", str(i))
            reg.close()

    return run


def unlinked(event: Event, previous: str) -> Event:
    return event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=2000)
    a = parser.parse_args()
    print(f"{'case':<42} {'chained s':>10} {'plain s':>10} {'ratio':>7}")
    for durable, n in ((False, a.writes), (True, max(a.writes // 10, 50))):
        chained = best_of(3, writes(n, durable))
        with mock.patch("registry.store.base.link", unlinked):
            plain = best_of(3, writes(n, durable))
        label = f"{n} commits, durable={durable}"
        print(f"{label:<42} {chained:>10.3f} {plain:>10.3f} {chained / plain:>7.2f}")
    with tempfile.TemporaryDirectory() as root:
        reg = Registry(os.path.join(root, "r"), durable=False, user="bench")
        reg.create_registered_model("m")
        reg.create_model_version("m", "s3://bucket/m")
        for i in range(a.writes):
            reg.set_model_version_tag("m", 1, "k", str(i))
        verify = best_of(3, reg.verify_history)
        read = best_of(3, lambda: reg._store.read_events(0))
        label = f"verify_history over {a.writes + 2} records"
        print(f"{label:<42} {verify:>10.3f} {read:>10.3f} {verify / read:>7.2f}")
        reg.close()


if __name__ == "__main__":
    main()
