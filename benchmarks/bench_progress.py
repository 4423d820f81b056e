"""Progress reporting must never slow the work: register, export and check with and without a progress
display, as a ratio measured in the same run.

    python benchmarks/bench_progress.py [--files 200] [--mb 100] [--runs 5]

Builds a model folder of ``--files`` files totalling ``--mb`` megabytes and times, best of ``--runs`` (with and
without progress alternating, so both see the same machine):

* ``versions register``: ``create_model_version`` copying the folder in (hashing every byte);
* ``export``: ``export_model_version`` copying it out, verified;
* ``check``: verifying every stored version's files.

"with bar" passes the command line's own :class:`registry.cli.progress.ProgressBar` drawing to a terminal-like
sink (it redraws on every report, the most it ever does); "without" passes ``progress=None``. The library
reports at most every 0.1 s, so the cost is a few additions per 1 MiB chunk plus ten redraws a second;
"reports" is how many times the bar was called per run and "in the bar" the share of the run spent drawing
(measured directly, so the shared machine's noise, which blurs the ratio, does not hide it). The
registry is not durable (no fsync) so the ratio measures the work, not the disk. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable

from registry import Registry
from registry.cli.progress import ProgressBar


class Sink(io.StringIO):
    def isatty(self) -> bool:
        return True


class Timed:
    """The bar, with the time spent inside it counted (a figure the machine's noise does not blur)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar, self.calls, self.seconds = bar, 0, 0.0

    def __call__(self, p: object) -> None:
        start = time.perf_counter()
        self.bar(p)
        self.seconds += time.perf_counter() - start
        self.calls += 1


def best_of(runs: int, fn: Callable[[int], object]) -> float:
    best = float("inf")
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-progress-")
    try:
        src = os.path.join(root, "model")
        os.makedirs(src)
        with open(os.path.join(src, "MLmodel"), "w") as f:
            f.write("flavors: {}\n")
        size = int(args.mb * 1e6 / args.files)
        for i in range(args.files):
            with open(os.path.join(src, f"part-{i:04d}.bin"), "wb") as f:
                f.write(os.urandom(size))
        reg = Registry(os.path.join(root, "reg"), durable=False)
        reg.create_registered_model("m")
        bar = Timed(ProgressBar(Sink(), tty=True))
        rows = []

        def tidy() -> None:
            # untimed: drop what a run wrote, so dirty pages piling up do not slow the later runs
            for mv in reg.list_model_versions("m")[2:]:
                reg.delete_model_version("m", mv.version)
            for entry in os.listdir(root):
                if entry.startswith("out-"):
                    shutil.rmtree(os.path.join(root, entry))
            os.sync()

        counter = iter(range(10**6))
        for label, with_bar, without in (
            (
                "versions register",
                lambda: reg.create_model_version("m", src, progress=bar),
                lambda: reg.create_model_version("m", src),
            ),
            (
                "export",
                lambda: reg.export_model_version(
                    "models:/m/1", os.path.join(root, f"out-{next(counter)}"), progress=bar
                ),
                lambda: reg.export_model_version("models:/m/1", os.path.join(root, f"out-{next(counter)}")),
            ),
            ("check", lambda: reg.check(progress=bar), lambda: reg.check()),
        ):
            without()  # warm the page cache for both sides
            tidy()
            plain = with_time = float("inf")
            for i in range(args.runs):  # alternate which goes first: a busy moment hits both sides alike
                for fn in (without, with_bar) if i % 2 == 0 else (with_bar, without):
                    took = best_of(1, lambda _, fn=fn: fn())
                    if fn is without:
                        plain = min(plain, took)
                    else:
                        with_time = min(with_time, took)
                    tidy()
            rows.append((label, plain, with_time, bar.calls / args.runs, bar.seconds / args.runs))
            bar.calls, bar.seconds = 0, 0.0
        print(f"{args.files} files, {args.mb:g} MB, best of {args.runs}, durable=False")
        print(
            f"{'operation':<20}{'without s':>10}{'with bar s':>12}{'ratio':>8}{'MB/s':>8}"
            f"{'reports':>9}{'in the bar':>12}"
        )
        for label, plain, with_time, calls, seconds in rows:
            mb = args.mb * (2 if label == "check" else 1)
            print(
                f"{label:<20}{plain:>10.4f}{with_time:>12.4f}{with_time / plain:>8.2f}{mb / with_time:>8.0f}"
                f"{calls:>9.0f}{seconds / with_time:>11.3%}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
