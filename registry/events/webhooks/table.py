"""Webhook and trigger definitions, folded from their journal records (``webhook.created/updated/deleted``).

Definitions live in the journal like every other change, so every process that reads the journal sees the same
hooks, and a hook's history is known: an event is delivered to a hook when the hook, *as it was defined when the
event committed*, was active and wanted it. (The URL, command and secret used are the current ones: an endpoint
that moved should get the events still owed to it at its new address.)

The commands here are pure decide functions for `registry.store.base.Store.write()`.
"""

from __future__ import annotations

from typing import Any

import attrs

from registry.domain.commands import Change
from registry.domain.events import WEBHOOK_CREATED, WEBHOOK_DELETED, WEBHOOK_UPDATED
from registry.domain.state import Event
from registry.errors import ResourceDoesNotExist
from registry.events.webhooks.entities import Trigger, Webhook, WebhookStatus

__all__ = ["HookRecord", "HookTable", "create_hook", "delete_hook", "update_hook"]

HTTP = "http"
COMMAND = "command"


@attrs.define
class HookRecord:
    """One hook: its definitions over time (``(seq, definition)``, oldest first) and when it was deleted."""

    id: str
    kind: str
    created_seq: int
    creation_timestamp: int
    last_updated_timestamp: int
    history: list[tuple[int, dict[str, Any]]]
    deleted_seq: int | None = None

    @property
    def current(self) -> dict[str, Any]:
        return self.history[-1][1]

    @property
    def deleted(self) -> bool:
        return self.deleted_seq is not None

    def definition_at(self, seq: int) -> dict[str, Any] | None:
        """The definition in force when event ``seq`` committed (None: the hook did not exist then)."""
        if seq <= self.created_seq or (self.deleted_seq is not None and seq > self.deleted_seq):
            return None
        chosen = None
        for at, definition in self.history:
            if at < seq:
                chosen = definition
            else:
                break
        return chosen

    def wants(self, event: Event) -> bool:
        definition = self.definition_at(event.seq)
        if definition is None or definition["status"] != WebhookStatus.ACTIVE.value:
            return False
        if event.type not in definition["events"]:
            return False
        models = definition.get("model")
        return models is None or event.name in models

    def entity(self) -> Webhook | Trigger:
        d = self.current
        if self.kind == HTTP:
            return Webhook(
                webhook_id=self.id,
                name=d["name"],
                url=d["url"],
                events=d["events"],
                creation_timestamp=self.creation_timestamp,
                last_updated_timestamp=self.last_updated_timestamp,
                description=d.get("description"),
                status=WebhookStatus(d["status"]),
                secret=d.get("secret"),
            )
        return Trigger(
            trigger_id=self.id,
            name=d["name"],
            command=d["command"],
            events=d["events"],
            creation_timestamp=self.creation_timestamp,
            last_updated_timestamp=self.last_updated_timestamp,
            model=tuple(d["model"]) if d.get("model") is not None else None,
            timeout=float(d.get("timeout", 60.0)),
            description=d.get("description"),
            status=WebhookStatus(d["status"]),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "created_seq": self.created_seq,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "history": [[seq, d] for seq, d in self.history],
            "deleted_seq": self.deleted_seq,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HookRecord:
        return cls(
            id=doc["id"],
            kind=doc["kind"],
            created_seq=int(doc["created_seq"]),
            creation_timestamp=int(doc["creation_timestamp"]),
            last_updated_timestamp=int(doc["last_updated_timestamp"]),
            history=[(int(seq), dict(d)) for seq, d in doc["history"]],
            deleted_seq=doc.get("deleted_seq"),
        )


class HookTable:
    """Every hook ever defined (deleted ones included, so late deliveries can tell), as of journal ``seq``.

    ``offset`` is the journal position just after ``seq`` (0 for memory stores), to resume reading from.
    """

    def __init__(self) -> None:
        self.seq = 0
        self.offset = 0
        self.hooks: dict[str, HookRecord] = {}

    def apply(self, event: Event) -> None:
        if event.type == WEBHOOK_CREATED:
            d = dict(event.data)
            hook_id, kind = d.pop("id"), d.pop("kind")
            self.hooks[hook_id] = HookRecord(
                hook_id, kind, event.seq, event.timestamp, event.timestamp, [(event.seq, d)]
            )
        elif event.type == WEBHOOK_UPDATED:
            d = dict(event.data)
            hook = self.hooks.get(d.pop("id"))
            d.pop("kind", None)
            if hook is not None:
                hook.history.append((event.seq, d))
                hook.last_updated_timestamp = event.timestamp
        elif event.type == WEBHOOK_DELETED:
            hook = self.hooks.get(event.data["id"])
            if hook is not None:
                hook.deleted_seq = event.seq
        self.seq = max(self.seq, event.seq)

    def live(self, kind: str | None = None) -> list[HookRecord]:
        """Hooks not deleted (of one kind), oldest first."""
        chosen = [h for h in self.hooks.values() if not h.deleted and (kind is None or h.kind == kind)]
        return sorted(chosen, key=lambda h: (h.created_seq, h.id))

    def get(self, hook_id: Any, kind: str) -> HookRecord:
        hook = self.hooks.get(hook_id) if isinstance(hook_id, str) else None
        if hook is None or hook.deleted or hook.kind != kind:
            what = "Webhook" if kind == HTTP else "Trigger"
            raise ResourceDoesNotExist(f"{what} with ID {hook_id} not found.", webhook_id=hook_id)
        return hook

    def to_doc(self) -> dict[str, Any]:
        return {"seq": self.seq, "offset": self.offset, "hooks": [h.to_doc() for h in self.hooks.values()]}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HookTable:
        table = cls()
        table.seq, table.offset = int(doc["seq"]), int(doc["offset"])
        table.hooks = {h["id"]: HookRecord.from_doc(h) for h in doc["hooks"]}
        return table


# -- commands (pure: they decide the records a request commits) ------------------------------------------------------


def create_hook(hook_id: str, kind: str, definition: dict[str, Any]) -> list[Change]:
    return [Change(WEBHOOK_CREATED, None, None, {"id": hook_id, "kind": kind, **definition})]  # type: ignore[arg-type]


def update_hook(table: HookTable, hook_id: str, kind: str, changes: dict[str, Any]) -> list[Change]:
    hook = table.get(hook_id, kind)
    definition = {**hook.current, **changes}
    return [Change(WEBHOOK_UPDATED, None, None, {"id": hook_id, "kind": kind, **definition})]  # type: ignore[arg-type]


def delete_hook(table: HookTable, hook_id: str, kind: str) -> list[Change]:
    hook = table.get(hook_id, kind)
    data = {"id": hook_id, "kind": kind, "name": hook.current["name"]}
    return [Change(WEBHOOK_DELETED, None, None, data)]  # type: ignore[arg-type]
