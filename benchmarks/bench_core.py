"""Per-operation costs of the registry core, as ratios to one fsync on the same disk.

    python benchmarks/bench_core.py [--sizes 1000 10000] [--mlflow-python PATH]

Prints a table of median costs for create version, set tag, set alias, transition with archive, get by alias
and get latest, at each registry size, next to the cost of one fsync (write 100 bytes + fsync, the floor of any
durable write) measured in the same run. With ``--mlflow-python`` (a Python of a separate virtual environment
that has MLflow; also found via $MLFLOW_PYTHON) it runs the same operations on MLflow's file and sqlite stores
and prints the ratio. Not part of the test suite: timings belong here, not in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable

from registry import Registry

REPEAT = 200


def median_ms(fn: Callable[[int], object], repeat: int = REPEAT) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def fsync_ms(folder: str) -> float:
    path = os.path.join(folder, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:

        def one(_i: int) -> None:
            os.write(fd, b"x" * 100)
            os.fsync(fd)

        return median_ms(one)
    finally:
        os.close(fd)


def build(root: str, versions: int) -> Registry:
    """A registry whose model 'm' has ``versions`` versions (built without fsync, then reopened durable)."""
    fast = Registry(root, durable=False)
    fast.create_registered_model("m")
    for _ in range(versions):
        fast.create_model_version("m", source="s3://bucket/model")
    fast.close()
    reg = Registry(root)
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.set_registered_model_alias("m", "champion", 1)
    return reg


def measure(root: str, versions: int) -> dict[str, float]:
    reg = build(root, versions)
    results = {
        "create version": median_ms(lambda i: reg.create_model_version("m", source="s3://bucket/model")),
        "set tag": median_ms(lambda i: reg.set_model_version_tag("m", 1, "k", str(i))),
        "set alias": median_ms(lambda i: reg.set_registered_model_alias("m", "champion", 1 + i % 2)),
    }
    base = versions + REPEAT

    def promote(i: int) -> None:
        version = base - i
        reg.transition_model_version_stage("m", version, "Staging", archive_existing_versions=True)

    results["transition + archive"] = median_ms(promote, repeat=100)
    results["get by alias"] = median_ms(lambda i: reg.get_model_version_by_alias("m", "champion"), 2000)
    results["get latest"] = median_ms(lambda i: reg.get_latest_versions("m", ["Staging"]), 2000)
    reg.close()
    return results


def import_ms() -> tuple[float, list[str]]:
    code = textwrap.dedent(
        """
        import sys, time
        t = time.perf_counter()
        import registry
        elapsed = time.perf_counter() - t
        heavy = [m for m in ("numpy", "pandas", "mlflow", "sklearn") if m in sys.modules]
        print(elapsed * 1000, ",".join(heavy))
        """
    )
    samples, heavy = [], ""
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        samples.append(float(out[0]))
        heavy = out[1] if len(out) > 1 else ""
    return statistics.median(samples), [m for m in heavy.split(",") if m]


def fresh_process_ms(code: str, runs: int = 15) -> float:
    """Median wall time of ``python -c code`` in a fresh process."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def importtime_ms(statement: str, runs: int = 7) -> float:
    """Median over fresh processes of what ``python -X importtime`` charges to ``statement``'s own imports
    (the cumulative time of each top-level import it makes, after Python's start has finished)."""
    samples = []
    for _ in range(runs):
        code = f"import sys; print('--start--', file=sys.stderr, flush=True); {statement}"
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
        ).stderr
        total = 0
        for line in err.split("--start--", 1)[1].splitlines():
            parts = line.split("|")
            if len(parts) == 3 and not parts[2].startswith("  ") and parts[1].strip().isdigit():
                total += int(parts[1])
        samples.append(total / 1000)
    return statistics.median(samples)


MLFLOW_SCRIPT = textwrap.dedent(
    """
    import json, os, statistics, sys, tempfile, time, warnings, logging
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    os.environ.setdefault("MLFLOW_ENABLE_FILE_STORE", "true")
    from mlflow import MlflowClient

    kind, versions, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    folder = tempfile.mkdtemp()
    uri = "file://" + folder + "/mlruns" if kind == "file" else "sqlite:///" + folder + "/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m")
    for _ in range(versions):
        client.create_model_version("m", source="s3://bucket/model")
    client.transition_model_version_stage("m", 1, "Staging")
    client.set_registered_model_alias("m", "champion", 1)

    def med(fn, n=repeat):
        s = []
        for i in range(n):
            t = time.perf_counter(); fn(i); s.append(time.perf_counter() - t)
        return statistics.median(s) * 1000

    r = {}
    r["create version"] = med(lambda i: client.create_model_version("m", source="s3://bucket/model"))
    r["set tag"] = med(lambda i: client.set_model_version_tag("m", "1", "k", str(i)))
    r["set alias"] = med(lambda i: client.set_registered_model_alias("m", "champion", str(1 + i % 2)))
    base = versions + repeat
    r["transition + archive"] = med(
        lambda i: client.transition_model_version_stage("m", str(base - i), "Staging", archive_existing_versions=True),
        max(repeat // 2, 1),
    )
    r["get by alias"] = med(lambda i: client.get_model_version_by_alias("m", "champion"))
    r["get latest"] = med(lambda i: client.get_latest_versions("m", ["Staging"]))
    print(json.dumps(r))
    """
)


def mlflow_measure(python: str, kind: str, versions: int, repeat: int) -> dict[str, float] | None:
    try:
        done = subprocess.run(
            [python, "-c", MLFLOW_SCRIPT, kind, str(versions), str(repeat)],
            cwd=tempfile.gettempdir(),  # MLflow 3 may create a default ./mlflow.db wherever it runs
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"  (MLflow {kind} store at {versions}: {exc})")
        return None
    if done.returncode != 0:
        print(f"  (MLflow {kind} store at {versions} failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 1000, 10000])
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"))
    parser.add_argument("--mlflow-repeat", type=int, default=10, help="repetitions per MLflow operation")
    parser.add_argument(
        "--mlflow-file-max", type=int, default=50, help="largest size to build in MLflow's (slow) file store"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=os.getcwd()) as scratch:
        fsync = fsync_ms(scratch)
        print(f"one fsync (100-byte append) on this disk: baseline = 1.0 ({fsync:.3f} ms)\n")
        for size in args.sizes:
            ours = measure(os.path.join(scratch, f"r{size}"), size)
            theirs = {}
            if args.mlflow_python:
                for kind in ("file", "sqlite"):
                    if kind == "file" and size > args.mlflow_file_max:
                        # each create in MLflow's file store rescans the model's versions: a 1,000-version
                        # registry takes tens of minutes to build there
                        print(f"  (MLflow file store skipped at {size} versions: see --mlflow-file-max)")
                        theirs[kind] = None
                        continue
                    theirs[kind] = mlflow_measure(args.mlflow_python, kind, size, args.mlflow_repeat)
            header = f"{'operation':<22} {'x fsync':>9} {'ms':>9}"
            for kind in theirs:
                header += f" {'mlflow ' + kind + ' / ours':>22}"
            print(f"-- {size} versions in one model --")
            print(header)
            for op, ms in ours.items():
                row = f"{op:<22} {ms / fsync:>9.2f} {ms:>9.3f}"
                for _kind, res in theirs.items():
                    row += f" {(res[op] / ms if res else float('nan')):>22.1f}"
                print(row)
            print()
    ms, heavy = import_ms()
    print(f"import registry: {ms:.1f} ms (median of 7 fresh processes); heavy modules imported: {heavy or 'none'}")
    python_start = fresh_process_ms("pass")
    with_import = fresh_process_ms("from registry import Registry")
    charged = importtime_ms("from registry import Registry")
    print(
        f"from registry import Registry: {with_import - python_start:.1f} ms beyond Python's own start "
        f"({python_start:.1f} ms, baseline = 1.0: {(with_import - python_start) / python_start:.2f}x); "
        f"-X importtime charges {charged:.1f} ms to it"
    )
    if not args.mlflow_python:
        print("MLflow comparison skipped: pass --mlflow-python /path/to/venv/bin/python (MLflow installed there).")


if __name__ == "__main__":
    main()
