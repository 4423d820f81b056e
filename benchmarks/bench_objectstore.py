"""A registry on object storage: requests per operation and latencies as multiples of the server's own round
trips, measured in the same run against the same S3-compatible server.

The server is moto's standalone S3 server on 127.0.0.1 (started here, as the tests do), or the bucket named by
``REGISTRY_BENCH_S3_URL`` (with the usual ``AWS_*`` variables). The baselines are one PUT and one GET of a small
object through the same client (obstore); every figure is a ratio against them, so it says what the protocol
costs, not how fast this machine or that server is.

    python benchmarks/bench_objectstore.py [--rounds 30] [--history 300]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from s3_support import MOTO_ENV, WatchedObjects, fresh_bucket_url, moto_server

import registry.store.bucket as bucket_module
from registry import Registry
from registry.pyfunc import PythonModel
from registry.store.objects import open_objects


class Doubler(PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return [2 * x for x in model_input]


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def server() -> Iterator[str]:
    external = os.environ.get("REGISTRY_BENCH_S3_URL")
    if external:
        os.environ["REGISTRY_TEST_S3_URL"] = external
        yield fresh_bucket_url(None)
        return
    with moto_server() as endpoint:
        os.environ.update(MOTO_ENV)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield fresh_bucket_url(endpoint)


class Counting:
    """Open every registry through a WatchedObjects, so its requests can be counted."""

    def __init__(self) -> None:
        self.last: WatchedObjects | None = None
        self.real = bucket_module.open_objects
        bucket_module.open_objects = self.open  # type: ignore[assignment]

    def open(self, url: str) -> WatchedObjects:
        self.last = WatchedObjects(self.real(url))
        return self.last

    def calls(self) -> int:
        assert self.last is not None
        return self.last.total()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--history", type=int, default=300, help="events in the registry before the cold opens")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="bench-objectstore-cache-")
    os.environ["REGISTRY_CACHE_DIR"] = cache
    rows: list[tuple[str, str, str]] = []
    with server() as url:
        raw = open_objects(url)
        raw.put("bench/probe", b"x" * 200)
        put_s = median_seconds(lambda: raw.put("bench/probe", b"x" * 200), args.rounds)
        get_s = median_seconds(lambda: raw.get("bench/probe"), args.rounds)
        raw.delete("bench/probe")
        counting = Counting()
        reg = Registry(url, policy="mlflow")
        watched = counting.last
        assert watched is not None
        reg.create_registered_model("m")

        def requests_of(action: Callable[[], object]) -> int:
            before = watched.total()
            action()
            return watched.total() - before

        tag_requests = requests_of(lambda: reg.set_registered_model_tag("m", "k", "v"))
        bare_requests = requests_of(lambda: reg.create_model_version("m", "s3://elsewhere/model"))
        files = Path(tempfile.mkdtemp(prefix="bench-objectstore-files-"))
        (files / "MLmodel").write_text("flavors: {}\n")
        (files / "weights.bin").write_bytes(os.urandom(50_000))
        files_requests = requests_of(lambda: reg.create_model_version("m", str(files)))
        read_requests = requests_of(lambda: reg.get_registered_model("m"))
        counter = iter(range(10**9))
        write_s = median_seconds(lambda: reg.set_registered_model_tag("m", "k", str(next(counter))), args.rounds)
        read_s = median_seconds(lambda: reg.get_registered_model("m"), args.rounds)
        rows += [
            ("requests per write (a tag: list, settings, put)", f"{tag_requests}", "requests"),
            ("requests per version without files", f"{bare_requests}", "requests"),
            ("requests per version with 2 files (+manifest)", f"{files_requests}", "requests"),
            ("requests per read (catching up: one list)", f"{read_requests}", "requests"),
            ("write latency (a tag)", f"{write_s / put_s:.1f}", "x one PUT"),
            ("read latency (a model, caught up)", f"{read_s / get_s:.1f}", "x one GET"),
        ]
        while reg._store.state.seq < args.history:  # a history for the cold opens to skip
            reg.set_registered_model_tag("m", "k", str(next(counter)))

        def cold_open() -> None:
            Registry(url).get_registered_model("m")

        cold_s = median_seconds(cold_open, max(args.rounds // 3, 3))
        cold_open()
        assert counting.last is not None
        cold_requests = counting.calls()
        reg.log_model(python_model=Doubler(), registered_model_name="served")

        def first_load() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            Registry(url).load_model("models:/served/latest")

        fresh = Registry(url)
        fresh.load_model("models:/served/latest")
        first_s = median_seconds(first_load, max(args.rounds // 3, 3))
        cached_s = median_seconds(lambda: fresh.load_model("models:/served/latest"), args.rounds)
        rows += [
            (f"cold open of {args.history} events (checkpoint + tail)", f"{cold_s / get_s:.1f}", "x one GET"),
            ("requests per cold open (and one read)", f"{cold_requests}", "requests"),
            ("load_model, first (open + download + verify)", f"{first_s / get_s:.1f}", "x one GET"),
            ("load_model, cached (verify + load)", f"{cached_s / get_s:.1f}", "x one GET"),
        ]
        print(f"server: {url} (one PUT {put_s * 1000:.2f} ms, one GET {get_s * 1000:.2f} ms, median of {args.rounds})")
    shutil.rmtree(cache, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>8}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>8}  {unit}")


if __name__ == "__main__":
    main()
