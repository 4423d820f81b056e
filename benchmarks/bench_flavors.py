"""What finding a model's flavor costs a load: the registered-flavor lookup, cached and read afresh, against a
warm ``pyfunc.load_model`` of a small PythonModel directory measured in the same run.

    python benchmarks/bench_flavors.py [--repeat R]

The lookup reads the ``registry.flavors`` entry points of every installed distribution; the cache is keyed on
the ``sys.path`` folders and their mtimes (registry/flavors/__init__.py). Prints a table; ratios are what to
quote. Not part of the test suite: timings belong here, not in unit tests.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import registry.flavors as flavors
from registry import pyfunc


class Echo(pyfunc.PythonModel):
    def predict(self, context: object, model_input: list[float], params: object = None) -> list[float]:
        return model_input


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def uncached() -> object:
    flavors._cache = None  # the benchmark's own business: force a fresh read of the entry points
    return flavors.registered_flavors()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "echo"
        pyfunc.save_model(path, python_model=Echo())
        flavors.registered_flavors()
        t_load = median_ms(lambda: pyfunc.load_model(path).predict([1.0]), args.repeat)
        t_cached = median_ms(flavors.registered_flavors, args.repeat)
        t_fresh = median_ms(uncached, max(10, args.repeat // 10))
        flavors.registered_flavors()
    rows = [
        ("warm pyfunc.load_model + predict (cached lookup inside)", t_load, "1.00x load"),
        ("registered_flavors(), cached", t_cached, f"{t_cached / t_load:.3f}x load"),
        ("registered_flavors(), entry points read afresh", t_fresh, f"{t_fresh / t_load:.2f}x load"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'case'.ljust(width)}  {'time':>10}  ratio")
    for name, ms, ratio in rows:
        print(f"{name.ljust(width)}  {ms:>8.3f}ms  {ratio}")


if __name__ == "__main__":
    main()
