"""Bundles: the cost of a verified export and import, as ratios to a plain tar of the same files.

    python benchmarks/bench_bundle.py [--versions 20] [--mb 5]

Builds a registry with ``--versions`` versions of one model, each a folder of a few files totalling ``--mb``
megabytes, then times, best of three in the same run:

* ``export_bundle`` (verifies every file against its manifest, writes the index and the files) against
  ``tarfile`` adding the same folders (the baseline: no verification, no index);
* ``import_bundle`` into a fresh registry (checks every member, hashes every byte, copies into the registry's
  staging area with a manifest, commits) against ``tarfile.extractall`` of the baseline tar into a folder plus
  ``shutil.copytree`` of it (the same two copies with no checks).

Not part of the test suite: timings belong here, not in unit tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable

from registry import Registry


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def build(root: str, versions: int, megabytes: float) -> Registry:
    reg = Registry(os.path.join(root, "source"), durable=False)
    reg.create_registered_model("m")
    size = int(megabytes * 1024 * 1024)
    for i in range(versions):
        folder = os.path.join(root, "src", str(i))
        os.makedirs(os.path.join(folder, "data"))
        with open(os.path.join(folder, "MLmodel"), "w") as f:
            f.write("flavors: {}\n")
        with open(os.path.join(folder, "data", "weights.bin"), "wb") as f:
            f.write(os.urandom(size))
        with open(os.path.join(folder, "requirements.txt"), "w") as f:
            f.write("cloudpickle\n")
        reg.create_model_version("m", folder)
    return reg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--mb", type=float, default=5.0, help="megabytes per version")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-bundle-")
    try:
        reg = build(root, args.versions, args.mb)
        folders = [mv.storage_location or "" for mv in reg.list_model_versions("m")]
        bundle, plain = os.path.join(root, "b.tar"), os.path.join(root, "plain.tar")

        def baseline_export() -> None:
            with tarfile.open(plain, "w") as tar:
                for i, folder in enumerate(folders):
                    tar.add(folder, arcname=str(i))

        export = best_of(3, lambda: reg.export_bundle(bundle))
        plain_export = best_of(3, baseline_export)
        counter = iter(range(1_000_000))

        def import_fresh() -> None:
            with Registry(os.path.join(root, f"dest-{next(counter)}"), durable=False) as dest:
                dest.import_bundle(bundle)

        def baseline_import() -> None:
            target = os.path.join(root, f"plain-{next(counter)}")
            with tarfile.open(plain) as tar:
                tar.extractall(target, filter="data")
            shutil.copytree(target, target + "-copy")

        imported = best_of(3, import_fresh)
        plain_import = best_of(3, baseline_import)
        total = args.versions * args.mb
        print(f"{args.versions} versions, {total:.0f} MB in all")
        print(f"{'operation':<10} {'bundle s':>9} {'plain s':>8} {'ratio':>6} {'bundle MB/s':>12}")
        for name, ours, base in (("export", export, plain_export), ("import", imported, plain_import)):
            print(f"{name:<10} {ours:>9.3f} {base:>8.3f} {ours / base:>6.2f} {total / ours:>12.0f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
