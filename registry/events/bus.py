"""The in-process event bus: ``reg.subscribe`` callbacks, run after a change has committed.

Dispatch follows pluggy's discipline: subscribers are validated when they subscribe (not when an event comes),
the subscriber list is copied before dispatch (so a handler may subscribe or unsubscribe), every handler runs,
and failures are reported afterwards. A failing handler never undoes the change and never stops the others: its
exception is logged on the ``registry`` logger and kept in `EventBus.errors` and on its
`Subscription`.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from registry.domain.events import EventFilter, RegistryEvent, typed
from registry.domain.state import Event
from registry.errors import InvalidParameterValue

__all__ = ["EventBus", "HandlerError", "Subscription"]

log = logging.getLogger(__name__)


@attrs.frozen
class HandlerError:
    """A subscriber's handler raised: which subscription, on which event, and the exception."""

    subscription: Subscription
    event: RegistryEvent
    exception: BaseException


class Subscription:
    """A handle on one subscriber: ``unsubscribe()`` it, or use it as a context manager.

    Attributes:
        callback: the handler, called with one `RegistryEvent` at a time.
        errors: the exceptions this handler raised (most recent last, at most 100).
    """

    def __init__(self, bus: EventBus, callback: Callable[[RegistryEvent], Any], event_filter: EventFilter) -> None:
        self.callback = callback
        self.filter = event_filter
        self.errors: collections.deque[HandlerError] = collections.deque(maxlen=100)
        self._bus = bus

    @property
    def active(self) -> bool:
        return self in self._bus._subscriptions

    def unsubscribe(self) -> None:
        """Stop receiving events (calling it again does nothing)."""
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return f"Subscription({self.callback!r}, active={self.active})"


class EventBus:
    """In-process subscribers of one registry client.

    Attributes:
        errors: the most recent handler failures (at most 1,000), oldest first.
    """

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()
        self.errors: collections.deque[HandlerError] = collections.deque(maxlen=1000)

    def subscribe(
        self,
        callback: Callable[[RegistryEvent], Any],
        events: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
    ) -> Subscription:
        """Call ``callback(event)`` for each committed event that matches ``events`` and ``model``.

        Args:
            callback: any callable taking one event.
            events: an event type, a pattern (``'model_version.*'``) or a list of them; None for every event.
            model: a model name or a list of names; None for every model. A rename matches both names.

        Raises:
            InvalidParameterValue: ``callback`` is not callable, or an unknown event type.
        """
        if not callable(callback):
            raise InvalidParameterValue(f"The subscriber must be callable, got {callback!r}.")
        subscription = Subscription(self, callback, EventFilter.build(events, model))
        with self._lock:
            self._subscriptions = [*self._subscriptions, subscription]
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = [s for s in self._subscriptions if s is not subscription]

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions)

    def dispatch(self, events: list[Event]) -> None:
        """Hand each event to each matching subscriber; record and log the handlers' failures afterwards."""
        subscriptions = self._subscriptions  # replaced, never mutated: this is the copy
        if not subscriptions:
            return
        failures: list[HandlerError] = []
        for raw in events:
            event = typed(raw)
            for subscription in subscriptions:
                # One that unsubscribed during this dispatch (perhaps from a handler) hears nothing more.
                if not subscription.filter.matches(event) or subscription not in self._subscriptions:
                    continue
                try:
                    subscription.callback(event)
                except Exception as exc:
                    failure = HandlerError(subscription, event, exc)
                    subscription.errors.append(failure)
                    failures.append(failure)
        for failure in failures:
            self.errors.append(failure)
            log.error(
                "registry: subscriber %r failed on event %d (%s); the change stays committed",
                failure.subscription.callback,
                failure.event.seq,
                failure.event.type,
                exc_info=failure.exception,
            )
