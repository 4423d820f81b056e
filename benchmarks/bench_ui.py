"""Web UI page latency: how long each page takes to render and send, against the static stylesheet on the same
server (the HTTP round trip with no registry work, measured in the same run).

A registry with ``--models`` models is made, one of which has ``--versions`` versions (each registered from a
small model folder with an MLmodel, a signature and an input example), and a long history. One client on one
keep-alive connection requests each page ``--requests`` times; the table shows the median and p95 latency and
the ratio of the median to the stylesheet's.

    python benchmarks/bench_ui.py [--models 200] [--versions 50] [--requests 200]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ui_sample import model_folder

from registry import Registry
from registry.ui import UIServer


def build(root: Path, models: int, versions: int) -> Registry:
    reg = Registry(str(root / "registry"), durable=False)
    rows = [{"amount": 12.5, "country": "DE", "merchant": "grocery"}]
    for i in range(models):
        reg.create_registered_model(f"model-{i:04d}", tags={"team": f"team-{i % 7}"}, description=f"Model **{i}**.")
    big = "model-0000"
    for v in range(1, versions + 1):
        folder = model_folder(root, f"v{v}", rows, f"weights {v}".encode())
        reg.create_model_version(big, folder, tags={"auc": f"0.{v:02d}"})
        reg.set_model_version_tag(big, v, "validated", "yes")
    reg.transition_model_version_stage(big, versions, "Staging")
    reg.set_registered_model_alias(big, "champion", versions)
    return reg


def timings(port: int, path: str, requests: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - start)
        assert response.status == 200, (path, response.status)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reg = build(Path(tmp), args.models, args.versions)
        pages = {
            "stylesheet (baseline)": "/static/ui.css",
            f"models list ({min(args.models, 50)} of {args.models} shown)": "/models",
            "search (tags.team = 'team-3')": "/models?filter=tags.team+%3D+%27team-3%27",
            f"model page ({args.versions} versions)": "/models/model-0000",
            "version page": f"/models/model-0000/versions/{args.versions}",
            "compare two versions": f"/models/model-0000/compare?a=1&b={args.versions}",
        }
        with UIServer(reg, port=0) as server:
            results = {label: timings(server.port, path, args.requests) for label, path in pages.items()}
        reg.close()
    base = statistics.median(results["stylesheet (baseline)"])
    print(f"{'page':<40} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for label, values in results.items():
        values.sort()
        median, p95 = statistics.median(values), values[int(len(values) * 0.95) - 1]
        print(f"{label:<40} {median * 1000:>10.2f} {p95 * 1000:>8.2f} {median / base:>11.1f}")


if __name__ == "__main__":
    main()
