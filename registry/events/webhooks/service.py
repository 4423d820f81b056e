"""One registry client's webhooks and triggers: definitions (create, read, update, delete), the test call, the
delivery log, and its background worker. The client's methods are thin calls into this."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from registry.domain.state import Event
from registry.errors import InvalidParameterValue
from registry.events.log import EventLog
from registry.events.webhooks import payloads, transport
from registry.events.webhooks.delivery import BackgroundWorker, DeliveryReport, new_test_delivery_id, run_pass
from registry.events.webhooks.entities import (
    Trigger,
    Webhook,
    WebhookDelivery,
    WebhookTestResult,
    validate_command,
    validate_description,
    validate_hook_events,
    validate_hook_name,
    validate_models,
    validate_secret,
    validate_status,
    validate_timeout,
    validate_url,
)
from registry.events.webhooks.outbox import outbox_for
from registry.events.webhooks.table import COMMAND, HTTP, HookTable, create_hook, delete_hook, update_hook
from registry.search import PagedList
from registry.store.base import Store

__all__ = ["WebhookService"]

_UNSET: Any = object()


class WebhookService:
    """Webhooks and triggers of one registry client.

    Attributes:
        policy: the `RetryPolicy` deliveries follow.
        background: whether commits made through this client start the background worker.
    """

    def __init__(
        self,
        store: Store,
        log: EventLog,
        *,
        uri: str,
        new_id: Callable[[], str],
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.log = log
        self.uri = uri
        self.new_id = new_id
        self.now = now
        self.policy = transport.RetryPolicy()
        self.background = True
        self.outbox = outbox_for(store)
        self.worker = BackgroundWorker(self)
        self._lock = threading.Lock()
        self._table: HookTable | None = None

    # -- the definitions, folded from the journal ----------------------------------------------------------------------

    def refresh(self) -> HookTable:
        """The hook table, caught up with the journal (any process's changes)."""
        with self._lock:
            if self._table is None:
                cached = self.outbox.load().get("table")
                self._table = HookTable.from_doc(cached) if cached else HookTable()
            since, offset = self._table.seq, self._table.offset
        # Read outside the lock: a writer's decide() calls this while holding the store, and a memory store's
        # reads take the store's lock (see test_webhooks::test_concurrent_definitions_and_writes).
        events, end = self.log.read(since, offset)
        with self._lock:
            table = self._table
            fresh = [e for e in events if e.seq > table.seq]
            for event in fresh:
                table.apply(event)
            if fresh and table.seq == events[-1].seq:
                table.offset = end
            return table

    def notify(self, events: list[Event]) -> None:
        """The client's commit listener: wake the worker if this registry has hooks (a stat, no reads)."""
        if self.background and self.outbox.exists():
            self.worker.kick()

    def close(self) -> None:
        self.worker.stop()

    # -- webhooks (MLflow's API) ---------------------------------------------------------------------------------------

    def _commit(self, decide: Callable[[], list[Any]]) -> str:
        events = self.store.write(lambda _state: decide())
        hook_id = str(events[0].data["id"])
        self.refresh()
        return hook_id

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Iterable[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook:
        definition = {
            "name": validate_hook_name(name),
            "url": validate_url(url),
            "events": list(validate_hook_events(events)),
            "description": validate_description(description),
            "secret": validate_secret(secret),
            "status": validate_status(status).value,
        }
        hook_id = self.new_id()
        self.outbox.prepare()  # before the commit, so every later commit's writer sees that hooks exist
        return self.get_webhook(self._commit(lambda: create_hook(hook_id, HTTP, definition)))

    def get_webhook(self, webhook_id: str) -> Webhook:
        entity = self.refresh().get(webhook_id, HTTP).entity()
        assert isinstance(entity, Webhook)
        return entity

    def list_webhooks(self, max_results: int | None = None, page_token: str | None = None) -> PagedList[Webhook]:
        hooks = [h.entity() for h in self.refresh().live(HTTP)]
        return _page(hooks, max_results, page_token)  # type: ignore[arg-type]

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        description: str | None = None,
        url: str | None = None,
        events: Iterable[str] | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = validate_hook_name(name)
        if description is not None:
            changes["description"] = validate_description(description)
        if url is not None:
            changes["url"] = validate_url(url)
        if events is not None:
            changes["events"] = list(validate_hook_events(events))
        if secret is not None:
            changes["secret"] = None if secret == "" else validate_secret(secret)  # "" removes the secret
        if status is not None:
            changes["status"] = validate_status(status).value
        self.get_webhook(webhook_id)
        if changes:
            self._commit(lambda: update_hook(self.refresh(), webhook_id, HTTP, changes))
        return self.get_webhook(webhook_id)

    def delete_webhook(self, webhook_id: str) -> None:
        self.get_webhook(webhook_id)
        self._commit(lambda: delete_hook(self.refresh(), webhook_id, HTTP))

    def test_webhook(self, webhook_id: str, event: str | None = None) -> WebhookTestResult:
        hook = self.get_webhook(webhook_id)
        event_type = validate_hook_events([event])[0] if event is not None else hook.events[0]
        example = payloads.example_event(event_type, int(self.now() * 1000))
        body = payloads.webhook_body(example)
        headers = payloads.webhook_headers(new_test_delivery_id(), str(int(self.now())), body, hook.secret)
        result = transport.post(hook.url, body.encode(), headers, self.policy.request_timeout)
        if result.status is None:
            return WebhookTestResult(success=False, error_message=f"Failed to test webhook: {result.error}")
        return WebhookTestResult(
            success=result.status < 400,
            response_status=result.status,
            response_body=result.body,
            error_message=None if result.ok else result.error,
        )

    # -- triggers ------------------------------------------------------------------------------------------------------

    def create_trigger(
        self,
        name: str,
        command: str | Iterable[str],
        events: Iterable[str],
        model: str | Iterable[str] | None = None,
        timeout: float = 60.0,
        description: str | None = None,
        status: str = "ACTIVE",
    ) -> Trigger:
        definition = {
            "name": validate_hook_name(name, "Trigger"),
            "command": list(validate_command(command)),
            "events": list(validate_hook_events(events)),
            "model": _list_or_none(validate_models(model)),
            "timeout": validate_timeout(timeout),
            "description": validate_description(description),
            "status": validate_status(status).value,
        }
        hook_id = self.new_id()
        self.outbox.prepare()
        return self.get_trigger(self._commit(lambda: create_hook(hook_id, COMMAND, definition)))

    def get_trigger(self, trigger_id: str) -> Trigger:
        entity = self.refresh().get(trigger_id, COMMAND).entity()
        assert isinstance(entity, Trigger)
        return entity

    def list_triggers(self) -> list[Trigger]:
        return [h.entity() for h in self.refresh().live(COMMAND)]  # type: ignore[misc]

    def update_trigger(
        self,
        trigger_id: str,
        *,
        name: str | None = None,
        command: str | Iterable[str] | None = None,
        events: Iterable[str] | None = None,
        model: Any = _UNSET,
        timeout: float | None = None,
        description: str | None = None,
        status: str | None = None,
    ) -> Trigger:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = validate_hook_name(name, "Trigger")
        if command is not None:
            changes["command"] = list(validate_command(command))
        if events is not None:
            changes["events"] = list(validate_hook_events(events))
        if model is not _UNSET:
            changes["model"] = _list_or_none(validate_models(model))
        if timeout is not None:
            changes["timeout"] = validate_timeout(timeout)
        if description is not None:
            changes["description"] = validate_description(description)
        if status is not None:
            changes["status"] = validate_status(status).value
        self.get_trigger(trigger_id)
        if changes:
            self._commit(lambda: update_hook(self.refresh(), trigger_id, COMMAND, changes))
        return self.get_trigger(trigger_id)

    def delete_trigger(self, trigger_id: str) -> None:
        self.get_trigger(trigger_id)
        self._commit(lambda: delete_hook(self.refresh(), trigger_id, COMMAND))

    # -- deliveries ----------------------------------------------------------------------------------------------------

    def deliveries(self, hook_id: str) -> list[WebhookDelivery]:
        hook = self.refresh().hooks.get(hook_id) if isinstance(hook_id, str) else None
        if hook is None or hook.deleted:
            self.get_webhook(hook_id)  # raises the not-found error
        return [WebhookDelivery.from_dict(e) for e in self.outbox.load()["log"].get(hook_id, [])]

    def deliver(self, *, wait: bool, timeout: float | None, lock_timeout: float) -> DeliveryReport:
        deadline = None if timeout is None else time.monotonic() + timeout
        total = DeliveryReport()
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            report = run_pass(self, lock_timeout=lock_timeout if remaining is None else min(lock_timeout, remaining))
            total = total + report
            if not wait or (report.pending == 0 and not report.busy):
                return total
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return total
            pause = 0.05 if report.busy or report.next_due is None else max(report.next_due - self.now(), 0.01)
            time.sleep(pause if remaining is None else min(pause, remaining))


def _list_or_none(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


MAX_PAGE = 1000  # MLflow's largest page of webhooks


def _page(items: list[Any], max_results: int | None, page_token: str | None) -> PagedList[Any]:
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidParameterValue(f"max_results must be a positive integer, got {max_results!r}.")
    if max_results is not None and max_results > MAX_PAGE:
        raise InvalidParameterValue(f"max_results must be between 1 and {MAX_PAGE}, got {max_results}.")
    start = 0
    if page_token is not None:
        if not isinstance(page_token, str) or not page_token.isdigit():
            raise InvalidParameterValue(f"Invalid page token {page_token!r}.")
        start = int(page_token)
    end = len(items) if max_results is None else start + max_results
    return PagedList(items[start:end], str(end) if end < len(items) else None)
