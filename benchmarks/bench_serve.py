"""Scoring-server throughput and latency: ``registry serve`` against ``mlflow models serve``.

Both servers run as separate processes on 127.0.0.1 and serve the same registered model directory (a small
PythonModel defined here, so it is pickled by value and MLflow can load it too). The same load generator (C
client threads, each on one keep-alive connection, one-row ``dataframe_split`` requests) measures requests per
second and p50/p99 latency. The baseline measured in the same run is a direct in-process ``model.predict`` call;
MLflow's rows appear when MLflow is installed in a separate environment (the test suite's cached MLflow venv,
or ``/tmp/mlflow-probe-venv``), and are skipped with a message otherwise.

    python benchmarks/bench_serve.py [--requests 3000] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mlflow_venv import MLFLOW_ENV, existing_venv

from registry import Registry, infer_signature
from registry.pyfunc import PythonModel

PAYLOAD = json.dumps({"dataframe_split": {"columns": ["amount", "country"], "data": [[250.0, "BR"]]}}).encode()


class Scorer(PythonModel):
    """A small model: a little preprocessing and arithmetic per row (works on row dicts and DataFrames)."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["weights"]) as f:
            self.weights = json.load(f)

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        rows = model_input.to_dict(orient="records") if hasattr(model_input, "to_dict") else model_input
        w = self.weights
        return [w["a"] * float(r["amount"]) + w.get(str(r["country"]), 0.0) for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready within {timeout} s")


def load(port: int, requests: int, clients: int) -> tuple[float, list[float]]:
    """Send ``requests`` requests from ``clients`` threads; returns (wall seconds, per-request latencies)."""
    per_client = requests // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start_gate = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for _ in range(20):  # warm the connection and the server
            conn.request("POST", "/invocations", PAYLOAD, headers)
            conn.getresponse().read()
        start_gate.wait()
        for _ in range(per_client):
            t0 = time.perf_counter()
            conn.request("POST", "/invocations", PAYLOAD, headers)
            resp = conn.getresponse()
            resp.read()
            latencies[i].append(time.perf_counter() - t0)
            if resp.status != 200:
                failures.append(str(resp.status))
        conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. status {failures[0]}")
    return wall, [x for per in latencies for x in per]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_server(cmd: list[str], port: int, requests: int, clients: int, env: dict[str, str] | None = None) -> dict:
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) as proc:
        try:
            wait_ready(port, proc)
            wall, lat = load(port, requests, clients)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"rps": len(lat) / wall, "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99)}


def mlflow_python() -> Path | None:
    found = existing_venv()
    if found is not None:
        return found
    probe = Path("/tmp/mlflow-probe-venv/bin/python")
    return probe if probe.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        folder = os.path.join(tmp, "registry")
        weights = os.path.join(tmp, "weights.json")
        with open(weights, "w") as f:
            json.dump({"a": 0.01, "BR": 0.5, "DE": -0.2}, f)
        reg = Registry(folder)
        example = [{"amount": 1.0, "country": "DE"}]
        mv = reg.log_model(
            Scorer(),
            registered_model_name="bench",
            artifacts={"weights": weights},
            signature=infer_signature(example),
            input_example=example,
        )
        reg.set_registered_model_alias("bench", "champion", mv.version)
        model = reg.load_model("models:/bench@champion")
        rows = [{"amount": 250.0, "country": "BR"}]
        n = 20000
        t0 = time.perf_counter()
        for _ in range(n):
            model.predict(rows)
        direct = (time.perf_counter() - t0) / n
        reg.close()

        results: dict[str, dict] = {}
        port = free_port()
        cmd = [sys.executable, "-m", "registry", "serve", "models:/bench@champion", "--port", str(port)]
        results["registry serve"] = run_server([*cmd, "--registry", folder], port, args.requests, args.clients)

        skipped = None
        python = mlflow_python()
        if python is None:
            skipped = "MLflow rows skipped: no MLflow venv (run python tests/mlflow_venv.py)"
        else:
            port = free_port()
            mcmd = [str(python), "-m", "mlflow", "models", "serve", "-m", str(mv.storage_location)]
            mcmd += ["--env-manager", "local", "--host", "127.0.0.1", "-p", str(port)]
            # mlflow starts its server as `uvicorn ...` through bash, so uvicorn must be on PATH. A venv renamed
            # after it was built has console scripts whose #! lines are stale, so put a wrapper first.
            shim = Path(tmp, "bin")
            shim.mkdir()
            (shim / "uvicorn").write_text(f'#!/bin/sh\nexec "{python}" -m uvicorn "$@"\n')
            (shim / "uvicorn").chmod(0o755)
            env = {**os.environ, **MLFLOW_ENV, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
            try:
                results["mlflow models serve"] = run_server(mcmd, port, args.requests, args.clients, env)
            except RuntimeError as exc:
                skipped = f"MLflow rows skipped: {exc}"

    print(f"{args.requests} one-row requests from {args.clients} keep-alive clients on 127.0.0.1\n")
    print(f"{'server':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<22}{r['rps']:>10.0f}{r['p50'] * 1e3:>10.2f}{r['p99'] * 1e3:>10.2f}")
    print(f"{'(in-process predict)':<22}{1 / direct:>10.0f}{direct * 1e3:>10.3f}{'':>10}")
    print()
    ours = results["registry serve"]
    print(f"registry serve p50 / in-process predict: {ours['p50'] / direct:.1f}x (the cost of HTTP and JSON)")
    theirs = results.get("mlflow models serve")
    if theirs is not None:
        print(f"requests/s, registry / mlflow: {ours['rps'] / theirs['rps']:.2f}x")
        print(f"p50 latency, registry / mlflow: {ours['p50'] / theirs['p50']:.2f}x (lower is better)")
        print(f"p99 latency, registry / mlflow: {ours['p99'] / theirs['p99']:.2f}x (lower is better)")
    if skipped:
        print(skipped)


if __name__ == "__main__":
    main()
