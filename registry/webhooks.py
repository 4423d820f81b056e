"""Webhooks (MLflow's OSS shape) and local command triggers, delivered at least once from the journal.

* Definitions are journal records, so every process sees the same hooks and they survive restarts.
* Every event is owed to each hook that wanted it when it committed; a worker delivers it (HTTP POST with
  MLflow's body and headers, HMAC-SHA256 signature when the webhook has a secret; or the command with the event
  on stdin), retrying 408/429/5xx and connection errors with exponential backoff (honouring ``Retry-After``).
* Progress (a cursor per hook, owed retries, a delivery log) is saved after every attempt, so a crash at any
  point loses nothing; at worst one delivery is repeated, with the same ``X-MLflow-Delivery-Id``.

The client exposes ``create_webhook`` & co.; this package adds the functions a worker process calls::

    from registry import Registry
    from registry.webhooks import deliver_pending
    report = deliver_pending(Registry("/srv/models"), wait=True, timeout=60)
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry.events.webhooks.delivery import DeliveryReport
    from registry.events.webhooks.entities import Trigger, Webhook, WebhookDelivery, WebhookStatus, WebhookTestResult
    from registry.events.webhooks.payloads import (
        DELIVERY_ID_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        sign,
        verify_signature,
        webhook_body,
        webhook_data,
    )
    from registry.events.webhooks.transport import RetryPolicy

# Loaded on first use: every client imports this package (for its webhook methods), few processes deliver.
_LAZY = {
    "DeliveryReport": "registry.events.webhooks.delivery",
    "Trigger": "registry.events.webhooks.entities",
    "Webhook": "registry.events.webhooks.entities",
    "WebhookDelivery": "registry.events.webhooks.entities",
    "WebhookStatus": "registry.events.webhooks.entities",
    "WebhookTestResult": "registry.events.webhooks.entities",
    "DELIVERY_ID_HEADER": "registry.events.webhooks.payloads",
    "SIGNATURE_HEADER": "registry.events.webhooks.payloads",
    "TIMESTAMP_HEADER": "registry.events.webhooks.payloads",
    "sign": "registry.events.webhooks.payloads",
    "verify_signature": "registry.events.webhooks.payloads",
    "webhook_body": "registry.events.webhooks.payloads",
    "webhook_data": "registry.events.webhooks.payloads",
    "RetryPolicy": "registry.events.webhooks.transport",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'registry.webhooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from registry.client import Registry

__all__ = [
    "DELIVERY_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryReport",
    "RetryPolicy",
    "Trigger",
    "Webhook",
    "WebhookDelivery",
    "WebhookStatus",
    "WebhookTestResult",
    "configure_delivery",
    "deliver_pending",
    "run_worker",
    "sign",
    "verify_signature",
    "webhook_body",
    "webhook_data",
]


def configure_delivery(reg: Registry, *, policy: RetryPolicy | None = None, background: bool | None = None) -> None:
    """Set how ``reg`` delivers: the retry ``policy``, and whether its commits start a ``background`` worker
    (turn it off when a separate ``registry webhooks deliver --follow`` process does the delivering)."""
    from registry.events.webhooks.transport import RetryPolicy

    service = reg.webhook_service
    if policy is not None:
        if not isinstance(policy, RetryPolicy):
            from registry.errors import InvalidParameterValue

            raise InvalidParameterValue(f"policy must be a RetryPolicy, got {policy!r}.")
        service.policy = policy
    if background is not None:
        service.background = bool(background)
        if not background:
            service.worker.stop(grace=0)
            service.worker = type(service.worker)(service)


def deliver_pending(
    reg: Registry, *, wait: bool = False, timeout: float | None = None, lock_timeout: float = 10.0
) -> DeliveryReport:
    """Deliver every event the registry's webhooks and triggers are owed, from this process.

    Args:
        reg: the registry (any process may run this; one delivers at a time).
        wait: keep going until nothing is owed (sleeping until scheduled retries are due) or ``timeout``.
        timeout: seconds ``wait`` may take (None: no limit).
        lock_timeout: seconds to wait for another worker's pass to end.

    Returns:
        A `DeliveryReport` (counts of delivered, failed and still pending deliveries).
    """
    return reg.webhook_service.deliver(wait=wait, timeout=timeout, lock_timeout=lock_timeout)


def run_worker(
    reg: Registry,
    *,
    poll_interval: float = 1.0,
    stop: threading.Event | None = None,
    timeout: float | None = None,
) -> DeliveryReport:
    """Deliver continuously: a pass every ``poll_interval`` seconds (sooner when a retry falls due), until
    ``stop`` is set or ``timeout`` seconds have passed. Returns the totals."""
    from registry.events.webhooks.delivery import DeliveryReport

    service = reg.webhook_service
    stop = stop or threading.Event()
    deadline = None if timeout is None else time.monotonic() + timeout
    total = DeliveryReport()
    while not stop.is_set():
        report = service.deliver(wait=False, timeout=None, lock_timeout=poll_interval)
        total = total + report
        pause = poll_interval
        if report.next_due is not None:
            pause = min(pause, max(report.next_due - service.now(), 0.01))
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pause = min(pause, remaining)
        stop.wait(pause)
    return total
