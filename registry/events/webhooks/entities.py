"""Webhook and trigger entities, and the checks on their fields (MLflow's rules where MLflow has them).

A *webhook* POSTs MLflow's payload to a URL; a *trigger* runs a local command with the event as JSON on its
stdin. Both are *hooks*: stored the same way (as journal records), filtered the same way, delivered by the same
outbox. No IO here.
"""

from __future__ import annotations

import enum
import re
import shlex
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from registry.domain.events import known_event_types
from registry.errors import InvalidParameterValue

__all__ = [
    "Trigger",
    "Webhook",
    "WebhookDelivery",
    "WebhookStatus",
    "WebhookTestResult",
    "validate_command",
    "validate_hook_events",
    "validate_hook_name",
    "validate_status",
    "validate_url",
]

# The limits of MLflow's webhooks table (name 256, url 500, description 1000, secret 1000 characters).
MAX_NAME = 63  # MLflow's limit
MAX_URL = 500
MAX_DESCRIPTION = 1000
MAX_SECRET = 1000

# MLflow's rule: letters, digits, ".", "_" and "-", starting and ending with a letter or digit.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._\-]*[A-Za-z0-9])?")


class WebhookStatus(enum.StrEnum):
    """MLflow's webhook states: only ``ACTIVE`` hooks are delivered to."""

    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


def _events_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Webhook:
    """A registered webhook, with MLflow's fields (``secret`` is kept out of ``repr``)."""

    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...] = attrs.field(converter=_events_tuple)
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    status: WebhookStatus = WebhookStatus.ACTIVE
    secret: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class Trigger:
    """A local command run for each matching event, with the event as JSON on its stdin.

    ``command`` is an argument list (no shell); ``model`` limits it to models of these names (None: all).
    """

    trigger_id: str
    name: str
    command: tuple[str, ...] = attrs.field(converter=_events_tuple)
    events: tuple[str, ...] = attrs.field(converter=_events_tuple)
    creation_timestamp: int
    last_updated_timestamp: int
    model: tuple[str, ...] | None = None
    timeout: float = 60.0
    description: str | None = None
    status: WebhookStatus = WebhookStatus.ACTIVE


@attrs.frozen
class WebhookTestResult:
    """The outcome of `Registry.test_webhook()` (MLflow's fields)."""

    success: bool
    response_status: int | None = None
    response_body: str | None = None
    error_message: str | None = None


@attrs.frozen
class WebhookDelivery:
    """One entry of a hook's delivery log: the latest state of delivering one event to it.

    ``status`` is ``delivered``, ``retrying`` (``next_attempt`` says when, in ms since the epoch) or
    ``failed`` (gave up: a permanent error or too many attempts).
    """

    delivery_id: str
    hook_id: str
    seq: int
    event_type: str
    status: str
    attempts: int
    timestamp: int
    response_status: int | None = None
    error: str | None = None
    next_attempt: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> WebhookDelivery:
        return cls(**{f.name: record.get(f.name) for f in attrs.fields(cls)})  # type: ignore[arg-type]


# -- validation ---------------------------------------------------------------------------------------------------


def validate_hook_name(name: Any, what: str = "Webhook") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue(f"{what} name must be a non-empty string, got {name!r}.", name=name)
    if len(name) > MAX_NAME:
        raise InvalidParameterValue(f"{what} name is longer than {MAX_NAME} characters.", name=name)
    if not _NAME.fullmatch(name):
        raise InvalidParameterValue(
            f"{what} name {name!r} must start and end with a letter or digit and contain only letters, digits, "
            "'.', '_' and '-'.",
            name=name,
        )
    return name


def validate_url(url: Any) -> str:
    """An ``http`` or ``https`` URL with a host (loopback and private hosts are allowed: a registry on one
    machine usually notifies services on that machine or network)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameterValue(f"Webhook URL must be a non-empty string, got {url!r}.", url=url)
    if len(url) > MAX_URL:
        raise InvalidParameterValue(f"Webhook URL is longer than {MAX_URL} characters.", url=url)
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise InvalidParameterValue(f"Invalid webhook URL {url!r}: {exc}.", url=url) from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidParameterValue(
            f"Invalid webhook URL scheme {parsed.scheme!r} in {url!r}: only http and https are supported.", url=url
        )
    if not parsed.hostname:
        raise InvalidParameterValue(f"Invalid webhook URL {url!r}: it has no host.", url=url)
    if any(c.isspace() for c in url):
        raise InvalidParameterValue(f"Invalid webhook URL {url!r}: it contains whitespace.", url=url)
    return url


def validate_hook_events(events: Any) -> tuple[str, ...]:
    """A non-empty list of known event types (MLflow's six and every other change this registry records)."""
    if isinstance(events, str):
        events = [events]
    if events is None or not isinstance(events, Iterable):
        raise InvalidParameterValue(f"Webhook events must be a non-empty list of event names, got {events!r}.")
    chosen = list(dict.fromkeys(events))
    if not chosen:
        raise InvalidParameterValue("Webhook events cannot be empty.")
    known = [t for t in known_event_types() if not t.startswith("webhook.")]
    for name in chosen:
        if name not in known:
            raise InvalidParameterValue(
                f"Invalid webhook event {name!r}. Valid events: {', '.join(known)}.",
                event=name,
            )
    return tuple(chosen)


def validate_status(status: Any) -> WebhookStatus:
    try:
        return WebhookStatus(status)
    except ValueError:
        raise InvalidParameterValue(
            f"Invalid webhook status {status!r}: use 'ACTIVE' or 'DISABLED'.", status=status
        ) from None


def validate_description(description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise InvalidParameterValue(f"Webhook description must be a string of at most {MAX_DESCRIPTION} characters.")
    return description


def validate_secret(secret: Any) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        raise InvalidParameterValue(
            f"Webhook secret must be a non-empty string of at most {MAX_SECRET} characters (or None)."
        )
    return secret


def validate_command(command: Any) -> tuple[str, ...]:
    """An argument list, or a string split as a POSIX shell would (no shell runs it)."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise InvalidParameterValue(f"Cannot split the command {command!r}: {exc}.") from None
    elif isinstance(command, Iterable):
        argv = list(command)
    else:
        raise InvalidParameterValue(f"A trigger command must be a string or a list of strings, got {command!r}.")
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise InvalidParameterValue(f"A trigger command must be a non-empty list of strings, got {command!r}.")
    return tuple(argv)


def validate_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 86_400:
        raise InvalidParameterValue(f"timeout must be a number of seconds in (0, 86400], got {timeout!r}.")
    return float(timeout)


def validate_models(model: Any) -> tuple[str, ...] | None:
    if model is None:
        return None
    names = [model] if isinstance(model, str) else list(model) if isinstance(model, Iterable) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise InvalidParameterValue(f"model must be a model name or a list of names, got {model!r}.")
    return tuple(names)
