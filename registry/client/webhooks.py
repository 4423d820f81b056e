"""The webhook and trigger methods of `registry.Registry` (a mixin, to keep the client module small).

Names, arguments and errors of the webhook methods are MLflow's ``MlflowClient`` ones.
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.events.webhooks.entities import Trigger, Webhook, WebhookDelivery, WebhookTestResult
    from registry.events.webhooks.service import WebhookService
    from registry.search import PagedList

__all__ = ["WebhooksMixin"]

_UNSET: Any = object()


class WebhooksMixin:
    if TYPE_CHECKING:

        @property
        def webhook_service(self) -> WebhookService: ...  # the client's (made on first use)

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Iterable[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook:
        """Register a webhook: every later event of one of ``events`` is POSTed to ``url``, at least once.

        Args:
            name: a label (letters, digits, spaces, ``.``, ``_``, ``-``; at most 256 characters).
            url: an ``http`` or ``https`` URL.
            events: event types, MLflow's (``model_version.created``, ``model_version_alias.created``, ...) or
                this registry's others (``model_version.stage_transitioned``, ``registered_model.deleted``, ...).
            description: free text.
            secret: when set, requests carry ``X-MLflow-Signature`` (HMAC-SHA256, see the README). It is stored
                in the registry folder in plain text: protect the folder as you would the secret.
            status: ``"ACTIVE"`` or ``"DISABLED"`` (a disabled webhook is owed nothing for events meanwhile).

        Raises:
            InvalidParameterValue: a bad name, URL, event, status, description or secret.
        """
        return self.webhook_service.create_webhook(name, url, events, description, secret, status)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """Raises ResourceDoesNotExist for an unknown or deleted id."""
        return self.webhook_service.get_webhook(webhook_id)

    def list_webhooks(self, max_results: int | None = None, page_token: str | None = None) -> PagedList[Webhook]:
        """The webhooks, oldest first, a page at a time (``.token`` fetches the next page)."""
        return self.webhook_service.list_webhooks(max_results, page_token)

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
        """Change the given fields (``secret=""`` removes the secret). Events already owed go to the new URL."""
        return self.webhook_service.update_webhook(webhook_id, name, description, url, events, secret, status)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook; deliveries still owed to it are dropped."""
        self.webhook_service.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id: str, event: str | None = None) -> WebhookTestResult:
        """POST an example payload of ``event`` (default: the webhook's first event) now, once, and report."""
        return self.webhook_service.test_webhook(webhook_id, event)

    def list_webhook_deliveries(self, webhook_id: str) -> list[WebhookDelivery]:
        """The delivery log of a webhook or trigger: the latest state of its recent deliveries, oldest first."""
        return self.webhook_service.deliveries(webhook_id)

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
        """Run ``command`` for every later event of one of ``events`` (on ``model`` only, if given).

        The command (an argument list, or a string split like a shell would; no shell runs it) gets the event
        as JSON on stdin and ``REGISTRY_EVENT_TYPE``, ``REGISTRY_EVENT_SEQ``, ``REGISTRY_MODEL_NAME``,
        ``REGISTRY_DELIVERY_ID`` and ``REGISTRY_URI`` in its environment. Exit status 0 is success; a timeout
        or exit status 75 is retried like an HTTP 503; any other status is a final failure (see the log).
        """
        return self.webhook_service.create_trigger(name, command, events, model, timeout, description, status)

    def get_trigger(self, trigger_id: str) -> Trigger:
        """Raises ResourceDoesNotExist for an unknown or deleted id."""
        return self.webhook_service.get_trigger(trigger_id)

    def list_triggers(self) -> list[Trigger]:
        """The command triggers, oldest first."""
        return self.webhook_service.list_triggers()

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
        """Change the given fields (``model=None`` makes it fire for every model)."""
        options: dict[str, Any] = {"model": model} if model is not _UNSET else {}
        return self.webhook_service.update_trigger(
            trigger_id,
            name=name,
            command=command,
            events=events,
            timeout=timeout,
            description=description,
            status=status,
            **options,
        )

    def delete_trigger(self, trigger_id: str) -> None:
        """Delete a trigger; runs still owed to it are dropped."""
        self.webhook_service.delete_trigger(trigger_id)
