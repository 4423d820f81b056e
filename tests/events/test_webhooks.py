"""Webhooks and command triggers against a real HTTP server on 127.0.0.1 and real processes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import Registry
from registry.errors import InvalidParameterValue, ResourceDoesNotExist
from registry.events.webhooks.transport import parse_retry_after
from registry.webhooks import RetryPolicy, configure_delivery, deliver_pending, run_worker, verify_signature

FAST = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, request_timeout=5.0)


class Receiver:
    """An HTTP server in a thread that records every POST and answers from a script of responses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []  # responses to give first, then 200
        self.hold = threading.Event()
        self.hold.set()  # cleared: requests are recorded, then held (never answered) until set again
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "time": time.monotonic()}
                    )
                    status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                    receiver.arrived.notify_all()
                receiver.hold.wait(30)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(b"received")
                except OSError:
                    pass  # the client died while the request was held (the crash test does that on purpose)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"only {len(self.requests)} of {count} requests arrived"
                self.arrived.wait(remaining)
            return list(self.requests)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def fast(reg: Registry) -> Registry:
    configure_delivery(reg, policy=FAST)
    return reg


def settled(reg: Registry, hook_id: str, count: int, timeout: float = 15.0) -> list[Any]:
    """The hook's delivery log once it has ``count`` entries, none still retrying."""
    deadline = time.monotonic() + timeout
    while True:
        log = reg.list_webhook_deliveries(hook_id)
        if len(log) == count and all(d.status != "retrying" for d in log):
            return log
        assert time.monotonic() < deadline, log
        time.sleep(0.02)


def independent_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The signature scheme re-implemented from MLflow's documentation, not from the library."""
    message = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


# -- definitions ------------------------------------------------------------------------------------------------------


def test_create_get_list_update_delete(reg: Registry) -> None:
    hook = reg.create_webhook(
        "ci", "https://ci.example.com/hook", ["model_version.created"], description="builds", secret="s"
    )
    assert (hook.name, hook.url, hook.events, hook.description, hook.status) == (
        "ci",
        "https://ci.example.com/hook",
        ("model_version.created",),
        "builds",
        "ACTIVE",
    )
    assert hook.secret == "s" and "'s'" not in repr(hook)
    assert reg.get_webhook(hook.webhook_id) == hook
    other = reg.create_webhook("chat", "http://chat.local/x", ["model_version_alias.created"], status="DISABLED")
    assert [h.name for h in reg.list_webhooks()] == ["ci", "chat"]
    page = reg.list_webhooks(max_results=1)
    assert [h.name for h in page] == ["ci"]
    assert [h.name for h in reg.list_webhooks(max_results=1, page_token=page.token)] == ["chat"]
    updated = reg.update_webhook(hook.webhook_id, url="https://ci.example.com/v2", status="DISABLED", secret="")
    assert (updated.url, updated.status, updated.secret, updated.name) == (
        "https://ci.example.com/v2",
        "DISABLED",
        None,
        "ci",
    )
    assert updated.last_updated_timestamp > hook.last_updated_timestamp
    reg.delete_webhook(other.webhook_id)
    assert [h.name for h in reg.list_webhooks()] == ["ci"]
    with pytest.raises(ResourceDoesNotExist, match="not found"):
        reg.get_webhook(other.webhook_id)
    with pytest.raises(ResourceDoesNotExist):
        reg.delete_webhook(other.webhook_id)
    with pytest.raises(ResourceDoesNotExist):
        reg.get_trigger(hook.webhook_id)  # a webhook is not a trigger


def test_definitions_are_shared_by_processes_and_survive_reopening(tmp_path: Path) -> None:
    root = str(tmp_path / "reg")
    a, b = Registry(root), Registry(root)
    hook = a.create_webhook("ci", "http://127.0.0.1:9/x", ["registered_model.created"])
    assert b.get_webhook(hook.webhook_id) == hook
    b.update_webhook(hook.webhook_id, description="changed by b")
    assert a.get_webhook(hook.webhook_id).description == "changed by b"
    a.close()
    b.close()
    assert Registry(root).get_webhook(hook.webhook_id).description == "changed by b"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"name": "-bad"}, "must start and end with a letter or digit"),
        ({"name": "x" * 64}, "longer than 63"),
        ({"url": ""}, "URL must be a non-empty string"),
        ({"url": "ftp://host/x"}, "scheme 'ftp'"),
        ({"url": "http:///nohost"}, "has no host"),
        ({"url": "http://host:99999/x"}, "Invalid webhook URL"),
        ({"url": "https://x/" + "a" * 500}, "longer than 500"),
        ({"events": []}, "events cannot be empty"),
        ({"events": ["model_version.exploded"]}, "Invalid webhook event 'model_version.exploded'"),
        ({"events": ["prompt.created"]}, "Invalid webhook event 'prompt.created'"),
        ({"events": None}, "non-empty list"),
        ({"status": "active"}, "Invalid webhook status"),
        ({"secret": ""}, "secret must be a non-empty string"),
        ({"description": "d" * 1001}, "at most 1000"),
    ],
)
def test_webhook_fields_are_validated(reg: Registry, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"name": "ok", "url": "https://example.com/h", "events": ["model_version.created"]}
    with pytest.raises(InvalidParameterValue, match=message):
        reg.create_webhook(**{**args, **kwargs})
    assert reg.list_webhooks() == []


def test_our_extra_events_are_subscribable(reg: Registry) -> None:
    hook = reg.create_webhook("x", "http://h/x", ["model_version.stage_transitioned", "registered_model.deleted"])
    assert hook.events == ("model_version.stage_transitioned", "registered_model.deleted")


# -- delivery ---------------------------------------------------------------------------------------------------------


def test_payload_headers_and_signature(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    hook = reg.create_webhook(
        "all",
        receiver.url,
        ["registered_model.created", "model_version.created", "model_version_alias.created"],
        secret="shh",
    )
    reg.create_registered_model("fraud", tags={"team": "risk"}, description="desc")
    reg.create_model_version("fraud", "s3://b/m", run_id="run1", tags={"k": "v"}, description="v1")
    reg.set_registered_model_alias("fraud", "champion", 1)
    requests = receiver.wait_for(3)
    assert [json.loads(r["body"]) for r in requests] == [
        {
            "entity": "registered_model",
            "action": "created",
            "timestamp": requests and json.loads(requests[0]["body"])["timestamp"],
            "data": {"name": "fraud", "tags": {"team": "risk"}, "description": "desc"},
        },
        {
            "entity": "model_version",
            "action": "created",
            "timestamp": json.loads(requests[1]["body"])["timestamp"],
            "data": {
                "name": "fraud",
                "version": "1",
                "source": "s3://b/m",
                "run_id": "run1",
                "tags": {"k": "v"},
                "description": "v1",
            },
        },
        {
            "entity": "model_version_alias",
            "action": "created",
            "timestamp": json.loads(requests[2]["body"])["timestamp"],
            "data": {"name": "fraud", "alias": "champion", "version": "1"},
        },
    ]
    events = reg.events(types=["registered_model.created", "model_version.created", "model_version_alias.created"])
    settled(reg, hook.webhook_id, 3)
    for request, event in zip(requests, events, strict=True):
        headers = request["headers"]
        assert headers["Content-Type"] == "application/json"
        stamp = json.loads(request["body"])["timestamp"]
        assert stamp.endswith("+00:00")  # ISO 8601 in UTC, the time of the change
        assert abs(int(headers["X-MLflow-Timestamp"]) - time.time()) < 60
        expected = independent_signature(
            "shh", headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"], request["body"]
        )
        assert headers["X-MLflow-Signature"] == expected
        assert verify_signature("shh", request["body"], headers)
        assert not verify_signature("wrong", request["body"], headers)
        assert not verify_signature("shh", request["body"] + b" ", headers)
        log = {d.seq: d for d in reg.list_webhook_deliveries(hook.webhook_id)}
        assert log[event.seq].delivery_id == headers["X-MLflow-Delivery-Id"]
    assert all(d.status == "delivered" and d.attempts == 1 for d in reg.list_webhook_deliveries(hook.webhook_id))


def test_no_signature_without_a_secret_and_stage_transitions_are_delivered(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    reg.create_webhook("t", receiver.url, ["model_version.stage_transitioned"])
    reg.create_registered_model("m")
    reg.create_model_version("m", "s3://1")
    reg.create_model_version("m", "s3://2")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 2, "Staging", archive_existing_versions=True)
    requests = receiver.wait_for(2)
    assert "X-MLflow-Signature" not in requests[0]["headers"]
    assert [b["data"] for b in receiver.bodies()] == [
        {"name": "m", "version": "1", "from_stage": "None", "to_stage": "Staging", "archived_versions": []},
        {"name": "m", "version": "2", "from_stage": "None", "to_stage": "Staging", "archived_versions": ["1"]},
    ]


def test_retries_on_5xx_and_429_honouring_retry_after(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    receiver.script = [(503, {}), (429, {"Retry-After": "1"}), (500, {})]
    hook = reg.create_webhook("r", receiver.url, ["registered_model.created"])
    reg.create_registered_model("m")
    requests = receiver.wait_for(4)
    ids = {r["headers"]["X-MLflow-Delivery-Id"] for r in requests}
    assert len(ids) == 1  # the same delivery, attempted four times
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(requests)]
    assert gaps[1] >= 0.9  # Retry-After: 1 was honoured (the policy's own backoff is 0.1 s there)
    (entry,) = settled(reg, hook.webhook_id, 1)
    assert (entry.status, entry.attempts, entry.response_status) == ("delivered", 4, 200)
    time.sleep(0.3)
    assert len(receiver.requests) == 4  # nothing more once delivered


def test_client_errors_are_not_retried_and_attempts_are_bounded(tmp_path: Path, receiver: Receiver) -> None:
    reg = Registry(str(tmp_path / "reg"))
    configure_delivery(reg, policy=FAST, background=False)
    receiver.script = [(400, {}), *[(503, {})] * 10]
    hook = reg.create_webhook("r", receiver.url, ["registered_model.created"])
    reg.create_registered_model("bad-request")
    reg.create_registered_model("always-503")
    report = deliver_pending(reg, wait=True, timeout=15)
    assert (report.delivered, report.failed, report.pending) == (0, 2, 0)
    by_seq = {d.seq: d for d in reg.list_webhook_deliveries(hook.webhook_id)}
    first, second = (by_seq[e.seq] for e in reg.events(types="registered_model.created"))
    assert (first.status, first.attempts, first.response_status) == ("failed", 1, 400)
    assert (second.status, second.attempts, second.response_status) == ("failed", FAST.max_attempts, 503)
    assert len(receiver.requests) == 1 + FAST.max_attempts


def test_a_dead_endpoint_never_fails_a_write_and_is_retried_later(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "reg"))
    configure_delivery(reg, policy=FAST)
    hook = reg.create_webhook("dead", "http://127.0.0.1:9/nothing-listens", ["registered_model.created"])
    for i in range(5):
        reg.create_registered_model(f"m{i}")  # none of these raise or wait for the endpoint
    log = settled(reg, hook.webhook_id, 5)
    assert all(d.status == "failed" for d in log)
    assert all("Connection" in (d.error or "") or "refused" in (d.error or "") for d in log)


def test_a_slow_endpoint_does_not_hold_up_writes(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    receiver.hold.clear()  # the endpoint accepts requests and never answers until released
    reg.create_webhook("slow", receiver.url, ["registered_model.created"])
    reg.create_registered_model("first")
    receiver.wait_for(1)  # the worker is now stuck in a request ...
    for i in range(5):
        reg.create_registered_model(f"more{i}")  # ... and writes still complete
    assert len(reg.list_registered_models()) == 6
    receiver.hold.set()
    receiver.wait_for(6)
    assert len({r["headers"]["X-MLflow-Delivery-Id"] for r in receiver.requests}) == 6


def test_disabled_webhooks_are_owed_nothing(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    hook = reg.create_webhook("d", receiver.url, ["registered_model.created"], status="DISABLED")
    reg.create_registered_model("while-disabled")
    reg.update_webhook(hook.webhook_id, status="ACTIVE")
    reg.create_registered_model("after")
    receiver.wait_for(1)
    deliver_pending(reg, wait=True, timeout=5)
    assert [b["data"]["name"] for b in receiver.bodies()] == ["after"]


def test_events_before_creation_and_after_deletion_are_not_sent(fast: Registry, receiver: Receiver) -> None:
    reg = fast
    reg.create_registered_model("before")
    hook = reg.create_webhook("d", receiver.url, ["registered_model.created"])
    reg.create_registered_model("during")
    receiver.wait_for(1)
    reg.delete_webhook(hook.webhook_id)
    reg.create_registered_model("after")
    deliver_pending(reg, wait=True, timeout=5)
    assert [b["data"]["name"] for b in receiver.bodies()] == ["during"]


def test_concurrent_workers_never_send_an_event_twice(tmp_path: Path, receiver: Receiver) -> None:
    root = str(tmp_path / "reg")
    writer = Registry(root, durable=False)
    configure_delivery(writer, background=False)
    writer.create_webhook("c", receiver.url, ["registered_model_tag.set"])
    writer.create_registered_model("m")
    for i in range(40):
        writer.set_registered_model_tag("m", f"k{i}", "v")
    workers = [Registry(root) for _ in range(3)]
    threads = [
        threading.Thread(target=deliver_pending, args=(w,), kwargs={"wait": True, "timeout": 20}) for w in workers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ids = [r["headers"]["X-MLflow-Delivery-Id"] for r in receiver.requests]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert [b["data"]["key"] for b in receiver.bodies()] == [f"k{i}" for i in range(40)]  # commit order


def test_test_webhook(reg: Registry, receiver: Receiver) -> None:
    hook = reg.create_webhook("t", receiver.url, ["model_version_tag.set", "model_version.created"], secret="k")
    result = reg.test_webhook(hook.webhook_id)
    assert (result.success, result.response_status, result.response_body) == (True, 200, "received")
    body = receiver.bodies()[0]
    assert (body["entity"], body["action"]) == ("model_version_tag", "set")
    assert body["data"] == {"name": "example_model", "version": "1", "key": "example_key", "value": "example_value"}
    headers = receiver.requests[0]["headers"]
    assert headers["X-MLflow-Signature"] == independent_signature(
        "k", headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"], receiver.requests[0]["body"]
    )
    receiver.script = [(500, {})]
    failed = reg.test_webhook(hook.webhook_id, event="model_version.created")
    assert (failed.success, failed.response_status) == (False, 500)
    dead = reg.create_webhook("dead", "http://127.0.0.1:9/x", ["model_version.created"])
    unreachable = reg.test_webhook(dead.webhook_id)
    assert unreachable.success is False and unreachable.response_status is None
    assert "Failed to test webhook" in (unreachable.error_message or "")
    assert reg.list_webhook_deliveries(hook.webhook_id) == []  # tests are not deliveries


# -- crash safety ------------------------------------------------------------------------------------------------------

KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from registry import Registry
    reg = Registry(sys.argv[1])
    reg.create_registered_model("m")
    for i in range(int(sys.argv[2])):
        reg.set_registered_model_tag("m", f"k{i}", "v")
    print("committed", flush=True)
    sys.stdin.read()  # wait here to be killed
    """
)


def test_no_loss_when_the_writer_is_killed_before_delivering(tmp_path: Path, receiver: Receiver) -> None:
    root = str(tmp_path / "reg")
    setup = Registry(root)
    hook = setup.create_webhook("k", receiver.url, ["registered_model.created", "registered_model_tag.set"])
    setup.close()
    receiver.hold.clear()  # the writer's worker gets stuck on its first request, as if the network were slow
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, root, "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    receiver.wait_for(1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    proc.stdin.close()  # type: ignore[union-attr]
    proc.stdout.close()
    receiver.hold.set()

    reg = Registry(root)
    configure_delivery(reg, policy=FAST, background=False)
    report = deliver_pending(reg, wait=True, timeout=20)
    expected = {e.seq for e in reg.events(types=["registered_model.created", "registered_model_tag.set"])}
    assert len(expected) == 11
    log = reg.list_webhook_deliveries(hook.webhook_id)
    assert {d.seq for d in log if d.status == "delivered"} == expected
    ids = [r["headers"]["X-MLflow-Delivery-Id"] for r in receiver.requests]
    assert len(set(ids)) == 11
    # At least once: only the request in flight when the writer died may have been sent twice.
    assert len(ids) <= 12
    assert report.pending == 0


def test_run_worker_delivers_what_other_processes_commit(tmp_path: Path, receiver: Receiver) -> None:
    root = str(tmp_path / "reg")
    writer = Registry(root)
    configure_delivery(writer, background=False)  # a separate worker does the delivering
    writer.create_webhook("w", receiver.url, ["registered_model.created"])
    worker = Registry(root)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(worker,), kwargs={"poll_interval": 0.02, "stop": stop})
    thread.start()
    try:
        writer.create_registered_model("a")
        writer.create_registered_model("b")
        receiver.wait_for(2)
    finally:
        stop.set()
        thread.join(10)
    assert [b["data"]["name"] for b in receiver.bodies()] == ["a", "b"]


def test_close_lets_due_deliveries_out(tmp_path: Path, receiver: Receiver) -> None:
    reg = Registry(str(tmp_path / "reg"))
    reg.create_webhook("c", receiver.url, ["registered_model.created"])
    reg.create_registered_model("m")
    reg.close()
    assert len(receiver.requests) == 1
    assert not reg.webhook_service.worker.alive


# -- command triggers ----------------------------------------------------------------------------------------------


TRIGGER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    event = json.load(sys.stdin)
    out = sys.argv[1]
    with open(out, "a") as f:
        f.write(json.dumps({"event": event, "env": {k: v for k, v in os.environ.items() if k.startswith("REGISTRY_")}}))
        f.write("\\n")
    sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    """
)


@pytest.fixture
def script(tmp_path: Path) -> Callable[..., list[str]]:
    path = tmp_path / "trigger.py"
    path.write_text(TRIGGER_SCRIPT)

    def command(out: Path, *extra: str) -> list[str]:
        return [sys.executable, str(path), str(out), *extra]

    return command


def read_runs(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_trigger_runs_the_command_with_the_event_on_stdin(tmp_path: Path, script: Callable[..., list[str]]) -> None:
    reg = Registry(str(tmp_path / "reg"), user="alice")
    configure_delivery(reg, policy=FAST, background=False)
    out = tmp_path / "runs.jsonl"
    trigger = reg.create_trigger("deploy", script(out), ["model_version.stage_transitioned"], model="fraud", timeout=30)
    assert (trigger.name, trigger.model, trigger.timeout, trigger.status) == ("deploy", ("fraud",), 30.0, "ACTIVE")
    for name in ("fraud", "other"):
        reg.create_registered_model(name)
        reg.create_model_version(name, "s3://x")
        reg.transition_model_version_stage(name, 1, "Staging")
    report = deliver_pending(reg, wait=True, timeout=30)
    assert report.delivered == 1
    (run,) = read_runs(out)
    event = run["event"]
    assert (event["type"], event["name"], event["actor"], event["entity"], event["action"]) == (
        "model_version.stage_transitioned",
        "fraud",
        "alice",
        "model_version",
        "stage_transitioned",
    )
    assert event["data"]["to_stage"] == "Staging"
    assert run["env"]["REGISTRY_EVENT_TYPE"] == "model_version.stage_transitioned"
    assert run["env"]["REGISTRY_MODEL_NAME"] == "fraud"
    assert run["env"]["REGISTRY_EVENT_SEQ"] == str(event["seq"])
    # it survives a restart
    assert Registry(str(tmp_path / "reg")).list_triggers() == [trigger]


def test_trigger_exit_status_decides_retry(tmp_path: Path, script: Callable[..., list[str]]) -> None:
    reg = Registry(str(tmp_path / "reg"))
    configure_delivery(reg, policy=FAST, background=False)
    final, temporary = tmp_path / "final.jsonl", tmp_path / "temp.jsonl"
    a = reg.create_trigger("final", script(final, "1"), ["registered_model.created"])
    b = reg.create_trigger("temp", script(temporary, "75"), ["registered_model.created"])
    reg.create_registered_model("m")
    deliver_pending(reg, wait=True, timeout=30)
    assert len(read_runs(final)) == 1  # exit 1: a failure of its own, not repeated
    assert len(read_runs(temporary)) == FAST.max_attempts  # exit 75 (EX_TEMPFAIL): retried
    (fa,) = reg.list_webhook_deliveries(a.trigger_id)
    (fb,) = reg.list_webhook_deliveries(b.trigger_id)
    assert (fa.status, fa.attempts, fa.response_status) == ("failed", 1, 1)
    assert (fb.status, fb.attempts, fb.response_status) == ("failed", FAST.max_attempts, 75)


def test_trigger_timeout_is_enforced(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "reg"))
    configure_delivery(reg, policy=RetryPolicy(max_attempts=1), background=False)
    trigger = reg.create_trigger(
        "slow", [sys.executable, "-c", "import time; time.sleep(30)"], ["registered_model.created"], timeout=0.5
    )
    reg.create_registered_model("m")
    started = time.monotonic()
    deliver_pending(reg, wait=True, timeout=20)
    assert time.monotonic() - started < 10
    (entry,) = reg.list_webhook_deliveries(trigger.trigger_id)
    assert entry.status == "failed" and "timed out" in (entry.error or "")


def test_trigger_crud_and_validation(reg: Registry) -> None:
    t = reg.create_trigger("job", "echo 'a b'", ["model_version.created"])
    assert t.command == ("echo", "a b")
    assert t.model is None
    t2 = reg.update_trigger(t.trigger_id, model=["a", "b"], status="DISABLED", timeout=5)
    assert (t2.model, t2.status, t2.timeout) == (("a", "b"), "DISABLED", 5.0)
    assert reg.update_trigger(t.trigger_id, model=None).model is None
    with pytest.raises(InvalidParameterValue, match="command"):
        reg.create_trigger("x", [], ["model_version.created"])
    with pytest.raises(InvalidParameterValue, match="timeout"):
        reg.create_trigger("x", "true", ["model_version.created"], timeout=0)
    with pytest.raises(InvalidParameterValue, match="Invalid webhook event"):
        reg.create_trigger("x", "true", ["nope.nope"])
    with pytest.raises(ResourceDoesNotExist):
        reg.get_webhook(t.trigger_id)
    reg.delete_trigger(t.trigger_id)
    assert reg.list_triggers() == []


# -- small parts ------------------------------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)


def test_retry_policy_backs_off_exponentially_with_a_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, max_retry_after=100.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(1, retry_after=30.0) == 30.0
    assert policy.delay(1, retry_after=1000.0) == 100.0


def test_verify_signature_rejects_stale_requests() -> None:
    body = '{"a": 1}'
    headers = {"X-MLflow-Delivery-Id": "d", "X-MLflow-Timestamp": "1000"}
    headers["X-MLflow-Signature"] = independent_signature("s", "d", "1000", body.encode())
    assert verify_signature("s", body, headers, now=1100)
    assert not verify_signature("s", body, headers, now=2000)
    assert verify_signature("s", body, headers, max_age=None, now=10**9)
    assert not verify_signature("s", body, {"X-MLflow-Timestamp": "1000"}, now=1000)
