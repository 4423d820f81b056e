"""Events benchmark: what following the journal costs, and whether webhooks slow writes.

Prints a table; every figure is a ratio to a baseline measured in the same run:

* one follower poll (``registry.events.log.EventLog.read`` from the remembered offset) vs re-reading the whole journal
  (``store.read_events(since)``, what a naive follower would do), on journals of growing length;
* a durable write with no webhook vs with a webhook whose endpoint never answers (the background worker is
  stuck in a request the whole time) vs with 50 in-process subscribers.

Run: ``python benchmarks/bench_events.py [--events 20000]``.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

from registry import Registry
from registry.webhooks import RetryPolicy, configure_delivery


def timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_follow(sizes: list[int]) -> list[tuple[str, float, float, float]]:
    rows = []
    for size in sizes:
        folder = tempfile.mkdtemp()
        reg = Registry(folder, durable=False)
        reg.create_registered_model("m")
        for i in range(size - 1):
            reg.set_registered_model_tag("m", "k", str(i))
        head = reg.events(since=size - 1)[-1].seq
        reg.events(since=head - 1)  # sets the follower's offset hint at the end
        log, store = reg._log, reg._store
        poll = timed(lambda log=log, head=head: log.read(head), 200)
        reread = timed(lambda store=store, head=head: store.read_events(head), 5)
        rows.append((f"{size:,} events", reread * 1e3, poll * 1e3, reread / poll))
        reg.close()
    return rows


class Hanging(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_POST(self) -> None:
        self.release.wait(60)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def bench_writes(count: int) -> list[tuple[str, float, float]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    def run(setup: Callable[[Registry], None]) -> float:
        reg = Registry(tempfile.mkdtemp())
        configure_delivery(reg, policy=RetryPolicy(request_timeout=60))
        setup(reg)
        reg.create_registered_model("m")
        per_write = timed(lambda: reg.set_registered_model_tag("m", "k", "v"), count)
        Hanging.release.set()
        reg.close()
        Hanging.release.clear()
        return per_write

    baseline = run(lambda reg: None)
    hook = run(lambda reg: reg.create_webhook("h", url, ["registered_model_tag.set"]) and None)

    def subscribers(reg: Registry) -> None:
        for _ in range(50):
            reg.subscribe(lambda event: None)

    subs = run(subscribers)
    server.shutdown()
    return [
        ("no webhook (baseline)", baseline * 1e3, 1.0),
        ("webhook, endpoint never answers", hook * 1e3, hook / baseline),
        ("50 in-process subscribers", subs * 1e3, subs / baseline),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="longest journal to follow")
    parser.add_argument("--writes", type=int, default=200, help="durable writes per configuration")
    args = parser.parse_args()
    sizes = sorted({1_000, args.events // 4, args.events})
    print("Following the journal: one poll with nothing new")
    print(f"{'journal':>16} | {'re-read all (ms)':>16} | {'offset poll (ms)':>16} | {'ratio':>8}")
    for label, reread, poll, ratio in bench_follow(sizes):
        print(f"{label:>16} | {reread:16.3f} | {poll:16.4f} | {ratio:7.0f}x")
    print()
    print("A durable write (median)")
    print(f"{'configuration':>32} | {'ms':>8} | {'vs baseline':>11}")
    for label, ms, ratio in bench_writes(args.writes):
        print(f"{label:>32} | {ms:8.3f} | {ratio:10.2f}x")


if __name__ == "__main__":
    main()
