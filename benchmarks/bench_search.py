"""What a search costs at 10,000 / 100,000 (and with ``--million`` 1,000,000) versions, warm and cold.

Run: ``python benchmarks/bench_search.py [--sizes 10000,100000] [--million] [--repeat N] [--no-mlflow]``.

Each size is a folder registry built through the public client (``Registry(path, durable=False)``: 100
versions per model, tags ``status`` (passed/failed), ``team`` (10 values) and a unique ``build``). Then:

- warm searches in the process that built it, each against a *naive scan* measured in the same run: read every
  version, filter with a hand-written lambda, sort with a tuple key, slice the page (what an in-memory search
  without narrowing or a sorted cache does; MLflow's file store does the same after reading every file);
  and against a ``name =`` search (the registry's cheapest narrowed search) in the same run;
- the first and second searches after a write, indexed and unindexed (the indexes and the sorted lists move
  with each change; neither is rebuilt);
- a cold process: ``python -c`` that opens the registry, runs one search and exits, against ``python -c
  "from registry import Registry"`` and ``python -c pass`` in the same run (the difference is opening the
  registry plus the search); the selective tag search against the ``name =`` search;
- memory: bytes per version of a state opened cold and loaded, measured with tracemalloc in a fresh process.

When MLflow is installed in a separate venv (``$MLFLOW_PYTHON``, the test venv from tests/mlflow_venv.py, or
/tmp/mlflow-probe-venv), the same data is laid out as an MLflow file store (its meta.yaml and tag files,
written directly: creating versions through MLflow's file store API takes seconds per hundred) and loaded into
an MLflow sqlite store (bulk ORM inserts), and MLflow's own ``search_model_versions`` is timed on both at 1k and
10k in a subprocess in that venv. MLflow is never imported in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry import Registry

PER_MODEL = 100
REPO = Path(__file__).resolve().parents[1]


def build(root: str, versions: int) -> tuple[Registry, float]:
    start = time.perf_counter()
    reg = Registry(root, durable=False, user="bench")
    for m in range(versions // PER_MODEL):
        name = f"model-{m}"
        reg.create_registered_model(name, tags={"team": f"t{m % 10}"})
        for v in range(PER_MODEL):
            reg.create_model_version(
                name,
                f"s3://bucket/{name}/{v}",
                run_id=f"run-{m}-{v}",
                tags={"status": "failed" if v % 3 == 0 else "passed", "team": f"t{m % 10}", "build": f"b-{m}-{v}"},
            )
    return reg, time.perf_counter() - start


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def naive(state: Any, predicate: Callable[[Any], bool], max_results: int) -> list[Any]:
    """The baseline: every version, a lambda filter, a tuple-key sort (MLflow's default order), a slice."""
    matches = [mv for mv in state.all_model_versions() if predicate(mv)]
    matches.sort(key=lambda mv: (-mv.last_updated_timestamp, mv.name, -mv.version))
    return matches[:max_results]


def cold(root: str, filter_string: str | None, repeat: int) -> float:
    code = f"from registry import Registry; Registry({root!r}).search_model_versions({filter_string!r})"
    return _cold_run(code, repeat)


def _cold_run(code: str, repeat: int) -> float:
    samples = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:8.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} µs"


def row(label: str, ours: float, baseline: float | None = None, baseline_label: str = "") -> None:
    ratio = f"{baseline / ours:8.1f}x faster than {baseline_label}" if baseline else ""
    print(f"  {label:<52} {fmt(ours)}   {ratio}")


# -- MLflow, in its own venv -----------------------------------------------------------------------------------

MLFLOW_SCRIPT = r"""
import json, os, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
import logging; logging.disable(logging.WARNING)
from mlflow.store.model_registry.file_store import FileStore
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
from mlflow.store.model_registry.dbmodels.models import SqlModelVersion, SqlModelVersionTag, SqlRegisteredModel

job = json.load(sys.stdin)
root, n, per_model, repeat = job["root"], job["versions"], job["per_model"], job["repeat"]
models = n // per_model

def tags_of(m, v):
    return {"status": "failed" if v % 3 == 0 else "passed", "team": f"t{m % 10}", "build": f"b-{m}-{v}"}

# The file store's own layout, written directly.
fs_root = os.path.join(root, "fs")
for m in range(models):
    d = os.path.join(fs_root, "models", f"model-{m}")
    os.makedirs(os.path.join(d, "tags"))
    with open(os.path.join(d, "meta.yaml"), "w") as f:
        f.write(f"aliases: {{}}\ncreation_timestamp: {m}\ndescription: null\nlast_updated_timestamp: {m}\n"
                f"name: model-{m}\nworkspace: default\n")
    with open(os.path.join(d, "tags", "team"), "w") as f:
        f.write(f"t{m % 10}")
    for v in range(1, per_model + 1):
        vd = os.path.join(d, f"version-{v}")
        os.makedirs(os.path.join(vd, "tags"))
        with open(os.path.join(vd, "meta.yaml"), "w") as f:
            f.write(f"creation_timestamp: {m * per_model + v}\ncurrent_stage: None\ndescription: null\n"
                    f"last_updated_timestamp: {m * per_model + v}\nname: model-{m}\nrun_id: run-{m}-{v}\n"
                    f"run_link: null\nsource: s3://bucket/model-{m}/{v}\nstatus: READY\nstatus_message: null\n"
                    f"storage_location: null\nuser_id: null\nversion: {v}\nworkspace: default\n")
        for key, value in tags_of(m, v - 1).items():
            with open(os.path.join(vd, "tags", key), "w") as f:
                f.write(value)

db = SqlAlchemyStore("sqlite:///" + os.path.join(root, "mlflow.db"))
with db.ManagedSessionMaker() as session:
    rows = []
    for m in range(models):
        rows.append(SqlRegisteredModel(name=f"model-{m}", creation_time=m, last_updated_time=m))
        for v in range(1, per_model + 1):
            rows.append(SqlModelVersion(name=f"model-{m}", version=v, creation_time=m * per_model + v,
                                        last_updated_time=m * per_model + v, source=f"s3://bucket/model-{m}/{v}",
                                        run_id=f"run-{m}-{v}", current_stage="None", status="READY"))
            for key, value in tags_of(m, v - 1).items():
                rows.append(SqlModelVersionTag(name=f"model-{m}", version=v, key=key, value=value))
    session.add_all(rows)

fs = FileStore(fs_root)
out = {}
for label, store in (("file", fs), ("sqlite", db)):
    for case, text in job["cases"].items():
        count = len(store.search_model_versions(text, max_results=10000))
        samples = []
        for _ in range(repeat if label == "sqlite" else max(1, repeat // 5)):
            start = time.perf_counter()
            store.search_model_versions(text, max_results=10000)
            samples.append(time.perf_counter() - start)
        out[f"{label}:{case}"] = [statistics.median(samples), count]
print(json.dumps(out))
"""


def mlflow_python() -> str | None:
    candidates = [os.environ.get("MLFLOW_PYTHON")]
    try:
        sys.path.insert(0, str(REPO / "tests"))
        from mlflow_venv import existing_venv

        found = existing_venv()
        candidates.append(str(found) if found else None)
    except Exception:  # the helper is optional here; the probe venv is tried next
        pass
    candidates.append("/tmp/mlflow-probe-venv/bin/python")
    for python in candidates:
        if python and Path(python).exists():
            return python
    return None


def mlflow_times(python: str, versions: int, cases: dict[str, str], repeat: int) -> dict[str, Any]:
    root = tempfile.mkdtemp(prefix="bench-mlflow-")
    try:
        job = {"root": root, "versions": versions, "per_model": PER_MODEL, "repeat": repeat, "cases": cases}
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["MLFLOW_TRACKING_URI"] = ""
        proc = subprocess.run(
            [python, "-c", textwrap.dedent(MLFLOW_SCRIPT)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- the run -----------------------------------------------------------------------------------------------------


def memory_per_version(root: str) -> tuple[int, float]:
    """Bytes per version of a state opened cold and fully loaded (documents and indexes), by tracemalloc in a
    fresh process that imported everything first (so module code is not counted)."""
    code = textwrap.dedent(
        f"""
        import tracemalloc
        import registry.search, registry.store.folder, registry.store.uris, registry.events.log
        from registry import Registry
        tracemalloc.start()
        reg = Registry({root!r}, read_only=True)
        state = reg._store.state
        count = sum(1 for _ in state.all_model_versions())
        current, _peak = tracemalloc.get_traced_memory()
        print(count, current)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True).stdout
    count, current = (int(x) for x in out.split())
    return count, current / count


def bench_size(versions: int, repeat: int, python_for_mlflow: str | None) -> None:
    root = tempfile.mkdtemp(prefix="bench-search-")
    try:
        reg, build_s = build(str(Path(root) / "reg"), versions)
        models = versions // PER_MODEL
        some = f"model-{models // 2}"
        probe = f"b-{models // 2}-42"
        print(f"\n== {versions:,} versions in {models:,} models (built through the client in {build_s:.1f} s) ==")
        state = reg._store.state  # the benchmark's naive baseline reads the same in-memory state
        name_search = timed(lambda: reg.search_model_versions(f"name = '{some}'"), repeat)
        row(f"baseline: name = '{some}' (100 matches)", name_search)

        cases: list[tuple[str, str | None, int, Callable[[Any], bool]]] = [
            (
                f"tag equality   (tags.build = '{probe}'), 1 match",
                f"tags.build = '{probe}'",
                10_000,
                lambda mv: mv.tags.get("build") == probe,
            ),
            (
                f"run id         (run_id = 'run-{models // 2}-7')",
                f"run_id = 'run-{models // 2}-7'",
                10_000,
                lambda mv: mv.run_id == f"run-{models // 2}-7",
            ),
            (
                "tag equality   (tags.team = 't3'), every 10th",
                "tags.team = 't3'",
                200_000,
                lambda mv: mv.tags.get("team") == "t3",
            ),
            (
                "name prefix    (name LIKE 'model-1%')",
                "name LIKE 'model-1%'",
                200_000,
                lambda mv: mv.name.startswith("model-1"),
            ),
            ("full scan, no filter, first page of 10,000", None, 10_000, lambda mv: True),
            (
                "unindexed     (version_number = 42), scans in order",
                "version_number = 42",
                10_000,
                lambda mv: mv.version == 42,
            ),
        ]
        print("  warm (median of repeated calls), against a naive scan and against the name = search")
        for label, text, max_results, predicate in cases:
            expected = naive(state, predicate, max_results)
            got = reg.search_model_versions(text, max_results=max_results)
            assert [(v.name, v.version) for v in got] == [(v.name, v.version) for v in expected], label
            ours = timed(
                lambda text=text, max_results=max_results: reg.search_model_versions(text, max_results), repeat
            )
            base = timed(
                lambda predicate=predicate, max_results=max_results: naive(state, predicate, max_results),
                max(2, repeat // 8),
            )
            row(label, ours, base, "naive scan")
            print(f"  {'':<52} {ours / name_search:8.2f}x the name = search")

        # After a write: an indexed search is served from the indexes the fold just moved; an unindexed one
        # brings its sorted list forward by the one change instead of sorting everything again.
        rounds = max(3, repeat // 4)
        for label, text in (
            ("tag search after a write, 1st / 2nd", f"tags.build = '{probe}'"),
            ("unindexed search after a write, 1st / 2nd", "version_number = 42"),
        ):
            firsts, seconds = [], []
            for i in range(rounds):
                reg.set_model_version_tag(some, 1, "touched", str(i))
                for bucket in (firsts, seconds):
                    start = time.perf_counter()
                    reg.search_model_versions(text)
                    bucket.append(time.perf_counter() - start)
            first, second = statistics.median(firsts), statistics.median(seconds)
            print(
                f"  {label:<52} {fmt(first)} / {fmt(second).strip()}   {first / name_search:.1f}x / "
                f"{second / name_search:.1f}x the name = search"
            )
        reg.close()

        print("  cold process (python -c: open the registry, one search, exit; median of 3)")
        python_only = _cold_run("pass", 3)
        import_only = _cold_run("from registry import Registry", 3)
        row("baseline: python -c 'pass'", python_only)
        row("python -c 'from registry import Registry'", import_only)
        totals = {}
        for key, text in (
            ("name", f"name = '{some}'"),
            ("tag", f"tags.build = '{probe}'"),
            ("team", "tags.team = 't3'"),
        ):
            totals[key] = cold(str(Path(root) / "reg"), text, 3)
            row(f"open + search {text}", totals[key])
            print(f"  {'':<52} {fmt(totals[key] - import_only)}   beyond the import")
        beyond = {k: v - import_only for k, v in totals.items()}
        print(
            f"  cold open + selective tag search / open + name = search (beyond the import): "
            f"{beyond['tag'] / beyond['name']:.2f}x"
        )
        count, per_version = memory_per_version(str(Path(root) / "reg"))
        print(
            f"  memory: {per_version:,.0f} bytes per version ({count:,} versions opened cold and loaded, tracemalloc)"
        )

        if python_for_mlflow and versions <= 10_000:
            mlflow_cases = {"name": f"name = '{some}'", "tag": f"tags.build = '{probe}'"}
            theirs = mlflow_times(python_for_mlflow, versions, mlflow_cases, max(3, repeat // 2))
            reg2 = Registry(str(Path(root) / "reg"))
            print("  MLflow 3 in its venv (same data; warm, in-process store object)")
            for case, text in mlflow_cases.items():
                ours = timed(lambda text=text: reg2.search_model_versions(text), repeat)
                for store in ("file", "sqlite"):
                    seconds, count = theirs[f"{store}:{case}"]
                    label = f"MLflow {store} store, {text} ({count} found)"
                    print(f"  {label:<52} {fmt(seconds)}   ours {fmt(ours).strip()}: {seconds / ours:,.0f}x faster")
            reg2.close()
        elif versions <= 10_000:
            print("  MLflow comparison skipped: --no-mlflow, or no MLflow venv (set MLFLOW_PYTHON or build one with")
            print("  python tests/mlflow_venv.py)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated version counts")
    parser.add_argument("--million", action="store_true", help="also run at 1,000,000 versions (minutes)")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per warm measurement")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow comparison")
    args = parser.parse_args(argv)
    python_for_mlflow = None if args.no_mlflow else mlflow_python()
    print(f"python {sys.version.split()[0]}; MLflow venv: {python_for_mlflow or 'none'}")
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    for size in sizes:
        bench_size(size, args.repeat if size < 1_000_000 else max(3, args.repeat // 4), python_for_mlflow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
