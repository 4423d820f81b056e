"""Events: typed records of every committed change, and three ways to hear of them.

* ``reg.subscribe(callback, events=..., model=...)``: in-process callbacks after each commit
  (`registry.events.bus`).
* ``reg.events(since)`` and ``reg.follow(since)``: the committed events from any process, listed or followed as
  they come (`registry.events.log`, the journal follower).
* Webhooks and command triggers, delivered at least once (`registry.webhooks`).

The typed event classes live in `registry.domain.events` (pure); this package re-exports them so user code
writes ``from registry.events import ModelVersionStageTransitioned``.
"""

from registry.domain.events import (
    WEBHOOK_EVENT_TYPES,
    EventFilter,
    ModelVersionAliasCreated,
    ModelVersionAliasDeleted,
    ModelVersionCreated,
    ModelVersionDeleted,
    ModelVersionStageTransitioned,
    ModelVersionTagDeleted,
    ModelVersionTagSet,
    ModelVersionUpdated,
    RegisteredModelCreated,
    RegisteredModelDeleted,
    RegisteredModelRenamed,
    RegisteredModelTagDeleted,
    RegisteredModelTagSet,
    RegisteredModelUpdated,
    RegistryEvent,
    WebhookChanged,
    known_event_types,
    register_event_class,
    typed,
)
from registry.events.bus import EventBus, HandlerError, Subscription

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "EventBus",
    "EventFilter",
    "HandlerError",
    "ModelVersionAliasCreated",
    "ModelVersionAliasDeleted",
    "ModelVersionCreated",
    "ModelVersionDeleted",
    "ModelVersionStageTransitioned",
    "ModelVersionTagDeleted",
    "ModelVersionTagSet",
    "ModelVersionUpdated",
    "RegisteredModelCreated",
    "RegisteredModelDeleted",
    "RegisteredModelRenamed",
    "RegisteredModelTagDeleted",
    "RegisteredModelTagSet",
    "RegisteredModelUpdated",
    "RegistryEvent",
    "Subscription",
    "WebhookChanged",
    "known_event_types",
    "register_event_class",
    "typed",
]
