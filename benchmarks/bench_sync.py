"""Replicas: the cost of a verified sync, as a ratio to a plain recursive copy of the same files.

    python benchmarks/bench_sync.py [--versions 20] [--mb 5] [--durable]

Builds a source registry with ``--versions`` versions of one model, each a folder of a few files totalling
``--mb`` megabytes, then times, best of three in the same run:

* a first ``sync_from`` into a fresh replica (reads the source's manifests, copies every file into the
  replica's ``tmp/`` hashing it against the manifest, renames the folders into place, one journal record)
  against ``shutil.copytree`` of the source's version folders (the baseline: no checks, no record);
* an incremental sync after one new version at the source (only that version's files are copied) against
  copying that one folder;
* a sync when nothing moved (one look at the source's journal position) against ``os.stat`` of every file
  (what an rsync-like tool must do to find out nothing changed).

``--durable`` fsyncs as a default registry does (each file and folder, the journal); without it both sides
skip fsync, so the ratio measures the work, not the disk. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable

from registry import Registry


def best_of(runs: int, fn: Callable[[], object], setup: Callable[[], object] | None = None) -> float:
    best = float("inf")
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def make_version(reg: Registry, root: str, i: int, size: int) -> None:
    folder = os.path.join(root, "src", str(i))
    os.makedirs(os.path.join(folder, "data"))
    with open(os.path.join(folder, "MLmodel"), "w") as f:
        f.write("flavors: {}\n")
    with open(os.path.join(folder, "data", "weights.bin"), "wb") as f:
        f.write(os.urandom(size))
    with open(os.path.join(folder, "requirements.txt"), "w") as f:
        f.write("cloudpickle\n")
    reg.create_model_version("m", folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--mb", type=float, default=5.0, help="megabytes per version")
    parser.add_argument("--durable", action="store_true", help="fsync as a default registry does")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-sync-")
    size = int(args.mb * 1024 * 1024)
    try:
        source = Registry(os.path.join(root, "source"), durable=False)
        source.create_registered_model("m")
        for i in range(args.versions):
            make_version(source, root, i, size)
        folders = [mv.storage_location or "" for mv in source.list_model_versions("m")]
        counter = iter(range(1_000_000))
        replica_path = os.path.join(root, "replica")

        def fresh_replica() -> None:
            shutil.rmtree(replica_path, ignore_errors=True)

        def first_sync() -> None:
            with Registry(replica_path, durable=args.durable) as replica:
                replica.sync_from(source.uri)

        def plain_copy(chosen: list[str]) -> Callable[[], None]:
            def copy() -> None:
                target = os.path.join(root, f"plain-{next(counter)}")
                for i, folder in enumerate(chosen):
                    shutil.copytree(folder, os.path.join(target, str(i)))
                    if args.durable:
                        for dirpath, _dirs, files in os.walk(os.path.join(target, str(i))):
                            for name in files:
                                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                                os.fsync(fd)
                                os.close(fd)

            return copy

        first = best_of(3, first_sync, setup=fresh_replica)
        plain_first = best_of(3, plain_copy(folders))

        replica = Registry(replica_path, durable=args.durable)
        replica.sync_from(source.uri)
        extra = iter(range(args.versions, args.versions + 1000))

        def grow() -> None:
            make_version(source, root, next(extra), size)

        incremental = best_of(3, lambda: replica.sync_from(source.uri), setup=grow)
        newest = source.list_model_versions("m")[-1].storage_location or ""
        plain_incremental = best_of(3, plain_copy([newest]))

        still = best_of(5, lambda: replica.sync_from(source.uri))
        everything = [mv.storage_location or "" for mv in source.list_model_versions("m")]

        def stat_all() -> None:
            for folder in everything:
                for dirpath, _dirs, files in os.walk(folder):
                    for name in files:
                        os.stat(os.path.join(dirpath, name))

        plain_still = best_of(5, stat_all)
        replica.close()
        total = args.versions * args.mb
        print(f"{args.versions} versions, {total:.0f} MB in all, durable={args.durable}")
        print(f"{'operation':<22} {'sync s':>8} {'plain s':>8} {'ratio':>6} {'sync MB/s':>10}")
        rows = (
            ("first sync", first, plain_first, total),
            ("one new version", incremental, plain_incremental, args.mb),
            ("nothing moved", still, plain_still, 0.0),
        )
        for name, ours, base, megabytes in rows:
            rate = f"{megabytes / ours:>10.0f}" if megabytes else f"{'-':>10}"
            print(f"{name:<22} {ours:>8.4f} {base:>8.4f} {ours / base:>6.2f} {rate}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
