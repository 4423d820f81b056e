"""What a test fixture costs: open a fresh registry, create a model, register one version, close.

Run: ``python benchmarks/bench_fixtures.py [--repeat N]``. Prints a table of median and 90th-percentile times
and ratios against baselines measured in the same run: creating an empty ``dict`` (for the in-memory
registry) and creating a temporary directory (for the folder registries, which is what pytest's ``tmp_path``
costs), so the numbers say how much a registry fixture costs beyond the cheapest thing a test could do
instead. Removing the folders is not timed: pytest keeps ``tmp_path`` folders and prunes old runs later.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

from registry import Registry
from registry.testing import FrozenClock, seed

Case = Callable[[], Callable[[], None] | None]
"""A timed action; it may return an untimed cleanup."""


def _dict_baseline() -> None:
    d: dict[str, str] = {}
    d["fraud"] = "s3://b/fraud/1"


def _tmpdir_baseline() -> Callable[[], None]:
    root = tempfile.mkdtemp(prefix="bench-")
    return lambda: shutil.rmtree(root)


def _memory_fixture() -> None:
    with Registry("memory://", clock=FrozenClock(), user="bench") as reg:
        reg.create_registered_model("fraud")
        reg.create_model_version("fraud", "s3://b/fraud/1")


def _folder_fixture(durable: bool) -> Case:
    def run() -> Callable[[], None]:
        root = tempfile.mkdtemp(prefix="bench-")
        with Registry(root, durable=durable, clock=FrozenClock(), user="bench") as reg:
            reg.create_registered_model("fraud")
            reg.create_model_version("fraud", "s3://b/fraud/1")
        return lambda: shutil.rmtree(root)

    return run


_SPEC = {
    "fraud": {"tags": {"team": "risk"}, "versions": [{"stage": "Archived"}, {"stage": "Production"}, {}]},
    "churn": {"versions": [{"aliases": ["champion"]}]},
}


def _memory_seeded() -> None:
    with Registry("memory://", clock=FrozenClock(), user="bench") as reg:
        seed(reg, _SPEC)


def _measure(fn: Case, repeat: int) -> tuple[float, float]:
    samples = []
    for i in range(repeat + max(3, repeat // 10)):  # the first runs warm up imports, caches, the allocator
        start = time.perf_counter_ns()
        cleanup = fn()
        elapsed = (time.perf_counter_ns() - start) / 1000
        if cleanup is not None:
            cleanup()
        if i >= max(3, repeat // 10):
            samples.append(elapsed)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args(argv)
    cases: list[tuple[str, Case, str]] = [
        ("baseline: empty dict + one key", _dict_baseline, ""),
        ("baseline: mkdtemp", _tmpdir_baseline, ""),
        ("memory:// registry + model + version", _memory_fixture, "baseline: empty dict + one key"),
        ("memory:// seeded (2 models, 4 versions, stages, alias)", _memory_seeded, "baseline: empty dict + one key"),
        ("folder durable=False + model + version", _folder_fixture(False), "baseline: mkdtemp"),
        ("folder durable=True + model + version", _folder_fixture(True), "baseline: mkdtemp"),
    ]
    results: dict[str, tuple[float, float]] = {}
    print(f"{'case':<56} {'median us':>11} {'p90 us':>10} {'x own baseline':>15} {'x mkdtemp':>10}")
    for label, fn, baseline in cases:
        median, p90 = results[label] = _measure(fn, args.repeat)
        own = f"{median / results[baseline][0]:.1f}x" if baseline else "1x"
        vs_tmp = f"{median / results['baseline: mkdtemp'][0]:.2f}x" if "baseline: mkdtemp" in results else "-"
        print(f"{label:<56} {median:>11.1f} {p90:>10.1f} {own:>15} {vs_tmp:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
