"""The delivery worker: reads the journal after each hook's cursor and delivers what the hook is owed.

A *pass* (`run_pass()`) takes the outbox lock, then for each live hook: retries the deliveries that are
due, and delivers each newer event the hook wanted when it committed, saving progress after every attempt.
Three things run passes:

* a background daemon thread in each process that commits changes (started after a commit when the registry has
  hooks; it sleeps until the next retry is due, exits when idle, and is stopped by ``Registry.close``);
* `deliver_pending()` (``registry webhooks deliver``), for a process that made no change itself, e.g. after
  the writer crashed;
* `run_worker()`, a long-running worker following the journal (for a registry written by processes that
  should not deliver, see ``configure_delivery(reg, background=False)``).

Only one pass runs at a time per registry (the outbox lock), so no two workers send the same event; a pass that
finds the lock taken reports ``busy`` and the background worker simply tries again shortly.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from registry.domain.events import typed
from registry.domain.state import Event
from registry.events.webhooks import payloads, transport
from registry.events.webhooks.entities import WebhookDelivery, WebhookStatus
from registry.events.webhooks.outbox import Outbox, OutboxBusy
from registry.events.webhooks.table import HTTP, HookRecord, HookTable

if TYPE_CHECKING:
    from registry.events.log import EventLog


class WebhookService(Protocol):
    """What delivery needs of the client's webhook service (`
    WebhookService` is one): the definitions, the outbox, the journal, the clock and the retry policy."""

    uri: str
    policy: transport.RetryPolicy
    outbox: Outbox
    log: EventLog

    def now(self) -> float: ...

    def refresh(self) -> HookTable: ...


__all__ = ["BackgroundWorker", "DeliveryReport", "run_pass"]

log = logging.getLogger(__name__)

LOG_LIMIT = 100
"""Delivery log entries kept per hook (the most recent)."""


@attrs.frozen
class DeliveryReport:
    """What one or more passes did.

    Attributes:
        delivered: deliveries that succeeded.
        failed: deliveries given up (a permanent error, or ``max_attempts`` reached).
        retried_later: attempts that failed and were scheduled again.
        pending: deliveries still owed (scheduled retries) when the pass ended.
        next_due: when the earliest of them is due (Unix seconds), or None.
        busy: another worker held the outbox, so nothing was done.
    """

    delivered: int = 0
    failed: int = 0
    retried_later: int = 0
    pending: int = 0
    next_due: float | None = None
    busy: bool = False

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.retried_later + other.retried_later,
            other.pending,
            other.next_due,
            other.busy,
        )


def trigger_input(event: Event, uri: str) -> dict[str, Any]:
    """The JSON a trigger's command reads on stdin: the typed event plus its entity, action and registry."""
    view = typed(event)
    return {**view.to_dict(), "entity": view.entity, "action": view.action, "registry": uri}


def attempt(service: WebhookService, hook: HookRecord, event: Event) -> transport.Attempt:
    """One delivery attempt of ``event`` to ``hook``, with the hook's current URL, secret or command."""
    definition = hook.current
    delivery = payloads.delivery_id(hook.id, event.seq)
    if hook.kind == HTTP:
        body = payloads.webhook_body(event)
        headers = payloads.webhook_headers(delivery, str(int(service.now())), body, definition.get("secret"))
        return transport.post(definition["url"], body.encode(), headers, service.policy.request_timeout)
    env = {
        "REGISTRY_URI": service.uri,
        "REGISTRY_EVENT_TYPE": event.type,
        "REGISTRY_EVENT_SEQ": str(event.seq),
        "REGISTRY_DELIVERY_ID": delivery,
        "REGISTRY_MODEL_NAME": event.name or "",
    }
    stdin = json.dumps(trigger_input(event, service.uri)).encode()
    return transport.run_command(tuple(definition["command"]), stdin, float(definition.get("timeout", 60.0)), env)


def _record(doc: dict[str, Any], entry: WebhookDelivery) -> None:
    entries = [e for e in doc["log"].get(entry.hook_id, []) if e["delivery_id"] != entry.delivery_id]
    entries.append(entry.to_dict())
    doc["log"][entry.hook_id] = entries[-LOG_LIMIT:]


def run_pass(service: WebhookService, *, lock_timeout: float = 0.0) -> DeliveryReport:
    """Deliver everything due now, once. See the module docstring."""
    try:
        with service.outbox.locked(lock_timeout):
            return _pass(service)
    except OutboxBusy:
        return DeliveryReport(busy=True)


def _pass(service: WebhookService) -> DeliveryReport:
    doc = service.outbox.load()
    table = service.refresh()
    policy = service.policy
    cursors: dict[str, int] = doc["cursors"]
    retries: dict[str, dict[str, dict[str, Any]]] = doc["retries"]
    hooks = list(table.hooks.values())
    for hook in hooks:
        if hook.deleted:  # nothing more is owed to a deleted hook
            cursors.pop(hook.id, None)
            retries.pop(hook.id, None)
    live = [h for h in hooks if not h.deleted]
    positions = {h.id: max(int(cursors.get(h.id, 0)), h.created_seq) for h in live}
    low = min(positions.values(), default=table.seq)
    events = [e for e in service.log.read(low)[0] if e.seq <= table.seq] if live else []
    counts = {"delivered": 0, "failed": 0, "retried_later": 0}

    def handle(hook: HookRecord, event: Event, attempts_before: int) -> bool:
        """Attempt one delivery and record it; returns False when the endpoint looks down (stop this hook)."""
        result = attempt(service, hook, event)
        attempts = attempts_before + 1
        now = service.now()
        owed = retries.setdefault(hook.id, {})
        entry = WebhookDelivery(
            delivery_id=payloads.delivery_id(hook.id, event.seq),
            hook_id=hook.id,
            seq=event.seq,
            event_type=event.type,
            status="delivered",
            attempts=attempts,
            timestamp=int(now * 1000),
            response_status=result.status,
            error=result.error,
        )
        if result.ok:
            owed.pop(str(event.seq), None)
            counts["delivered"] += 1
        elif result.retryable and attempts < policy.max_attempts:
            due = now + policy.delay(attempts, result.retry_after)
            owed[str(event.seq)] = {"event": event.to_dict(), "attempts": attempts, "next_attempt": due}
            entry = attrs.evolve(entry, status="retrying", next_attempt=int(due * 1000))
            counts["retried_later"] += 1
            log.info(
                "registry: delivery of event %d to hook %s failed (%s); retry in %.1f s",
                event.seq,
                hook.id,
                result.error,
                due - now,
            )
        else:
            owed.pop(str(event.seq), None)
            entry = attrs.evolve(entry, status="failed")
            counts["failed"] += 1
            log.warning(
                "registry: gave up delivering event %d to hook %s after %d attempts: %s",
                event.seq,
                hook.id,
                attempts,
                result.error,
            )
        if not owed:
            retries.pop(hook.id, None)
        _record(doc, entry)
        service.outbox.save(doc)  # progress is durable before the next attempt starts
        return result.ok or not result.retryable

    for hook in live:
        if hook.current["status"] != WebhookStatus.ACTIVE.value:
            # Disabled now: events it wanted while active stay owed; it gets them if re-enabled.
            for event in events:
                if event.seq > positions[hook.id] and hook.wants(event):
                    owed = retries.setdefault(hook.id, {})
                    owed[str(event.seq)] = {"event": event.to_dict(), "attempts": 0, "next_attempt": 0.0}
            positions[hook.id] = max([positions[hook.id], *(e.seq for e in events)])
            cursors[hook.id] = positions[hook.id]
            continue
        reachable = True
        for _seq, owed_entry in sorted(retries.get(hook.id, {}).items(), key=lambda kv: int(kv[0])):
            if owed_entry["next_attempt"] <= service.now() and reachable:
                reachable = handle(hook, Event.from_dict(owed_entry["event"]), int(owed_entry["attempts"]))
        for event in events:
            if event.seq <= positions[hook.id]:
                continue
            if hook.wants(event):
                if reachable:
                    reachable = handle(hook, event, 0)
                else:
                    # The endpoint just failed: queue the rest behind the failed one instead of waiting on each.
                    retries.setdefault(hook.id, {})[str(event.seq)] = {
                        "event": event.to_dict(),
                        "attempts": 0,
                        "next_attempt": service.now() + policy.base_delay,
                    }
            positions[hook.id] = event.seq
            cursors[hook.id] = event.seq
    doc["table"] = table.to_doc()
    service.outbox.save(doc)
    live_ids = {h.id for h in live if h.current["status"] == WebhookStatus.ACTIVE.value}
    due = [e["next_attempt"] for hid, owed in retries.items() if hid in live_ids for e in owed.values()]
    return DeliveryReport(
        delivered=counts["delivered"],
        failed=counts["failed"],
        retried_later=counts["retried_later"],
        pending=len(due),
        next_due=min(due) if due else None,
    )


# -- the background worker ---------------------------------------------------------------------------------------------

_workers: weakref.WeakSet[BackgroundWorker] = weakref.WeakSet()


class BackgroundWorker:
    """A daemon thread delivering for one registry client; started by `kick()`, gone when idle.

    Args:
        service: the client's webhook service.
        idle_exit: seconds without work after which the thread ends (the next commit starts a new one).
        busy_retry: seconds between tries while another worker holds the outbox.
    """

    def __init__(self, service: WebhookService, *, idle_exit: float = 2.0, busy_retry: float = 0.1) -> None:
        self._service = service
        self._cond = threading.Condition()
        self._dirty = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_due: float | None = None
        self.idle_exit = idle_exit
        self.busy_retry = busy_retry
        _workers.add(self)

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def kick(self) -> None:
        """There may be new work: wake the thread, starting it if needed (cheap; never blocks on IO)."""
        with self._cond:
            if self._stopping:
                return
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="registry-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self, grace: float = 5.0) -> None:
        """Finish the work already due (at most ``grace`` seconds), then end the thread."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(grace)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._dirty:
                    if self._stopping:
                        self._thread = None
                        return
                    now = self._service.now()
                    if self._next_due is not None and self._next_due <= now:
                        break
                    wait = self.idle_exit if self._next_due is None else min(self._next_due - now, 60.0)
                    if not self._cond.wait(wait) and self._next_due is None and not self._dirty:
                        self._thread = None  # idle: end; the next kick starts a fresh thread
                        return
                self._dirty = False
                stopping = self._stopping
            try:
                report = run_pass(self._service, lock_timeout=self.busy_retry)
            except Exception:
                log.exception("registry: webhook delivery pass failed; retrying in 1 s")
                report = DeliveryReport(busy=True)
                time.sleep(0 if stopping else 1.0)
            with self._cond:
                if report.busy and not stopping:
                    self._dirty = True  # another worker may have read the journal before our commit
                    self._cond.wait(self.busy_retry)
                self._next_due = None if stopping else report.next_due
                if stopping:
                    self._thread = None
                    return


@atexit.register
def _flush_at_exit() -> None:
    # Daemon threads die with the interpreter; give work already due a short chance to go out first.
    for worker in list(_workers):
        worker.stop(grace=2.0)


def new_test_delivery_id() -> str:
    return str(uuid.uuid4())
