"""The client's methods over the journal: subscribing to commits, listing and following events, history,
the registry at a past time, and alias rollback (a mixin of `registry.Registry`).

The journal is the registry's source of truth, so each of these is a read of it: ``events``/``follow`` through
`EventLog`, history and time travel as pure folds in `registry.domain.history`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from registry.errors import InvalidParameterValue

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.domain.commands import Change
    from registry.domain.entities import ModelVersion
    from registry.domain.events import RegistryEvent
    from registry.domain.stages import Stage
    from registry.domain.state import Event, RegistryState
    from registry.events.bus import EventBus, HandlerError, Subscription
    from registry.events.log import EventLog
    from registry.store.base import Store

__all__ = ["JournalMixin"]


class JournalMixin:
    if TYPE_CHECKING:  # what the client provides

        @property
        def _bus(self) -> EventBus: ...
        @property
        def _log(self) -> EventLog: ...

        _store: Store

        def _write(self, decide: Callable[[RegistryState], list[Change]]) -> list[Event]: ...

        def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

        def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

        def list_model_versions(self, name: str) -> list[ModelVersion]: ...

        def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None: ...

    # -- events ----------------------------------------------------------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[RegistryEvent], Any],
        events: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
    ) -> Subscription:
        """Call ``callback(event)`` after each change made through this client commits (see registry.events).

        ``events`` is a type, a pattern (``"model_version.*"``) or a list; ``model`` a name or a list. Handlers run
        in subscription order; one that raises is logged and recorded (`handler_errors`), never undoing
        the change or stopping the others. Returns a handle with ``unsubscribe()`` (also a context manager).
        """
        return self._bus.subscribe(callback, events=events, model=model)

    @property
    def handler_errors(self) -> list[HandlerError]:
        """Recent failures of subscribers' handlers (the last 1,000), oldest first."""
        return list(self._bus.errors)

    def events(
        self,
        since: int = 0,
        *,
        types: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RegistryEvent]:
        """Committed events (by any process) with ``seq > since``, oldest first, filtered as for subscribe."""
        return self._log.events(since, types=types, model=model, limit=limit)

    def follow(
        self,
        since: int | None = None,
        *,
        types: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        poll_interval: float = 0.1,
        timeout: float | None = None,
    ) -> Iterator[RegistryEvent]:
        """Yield events as any process commits them, in commit order, each once, within ``poll_interval``.

        ``since=None`` starts from now; pass the ``seq`` of the last event handled to resume after a restart.
        ``timeout`` (seconds) ends the iteration; None follows until the caller stops.
        """
        return self._log.follow(since, types=types, model=model, poll_interval=poll_interval, timeout=timeout)

    # -- history (logic in registry.domain.history) -----------------------------------------------------------------

    def history(self, name: str, version: int | str | None = None) -> list[Event]:
        """The events of the model called ``name`` (now, or when it was last deleted), oldest first, followed
        through renames; with ``version``, only those concerning that version (each with actor and time).

        Raises:
            ResourceDoesNotExist: no model of that name ever existed.
        """
        from registry.domain import history
        from registry.domain.validation import validate_version

        number = validate_version(version) if version is not None else None
        return history.model_history(self._log.events(0), name, number)

    def state_at(self, at: int) -> RegistryState:
        """The registry as it was at time ``at`` (integer milliseconds since the epoch): a read-only snapshot
        (``state.model(name).aliases``, ``.latest(stage)``) whose versions carry no file locations."""
        from registry.domain import history

        return history.state_at(self._log.events(0), at)

    def version_at(
        self, name: str, at: int, *, alias: str | None = None, stage: str | Stage | None = None
    ) -> ModelVersion | None:
        """Which version ``alias`` pointed at, or was the highest in ``stage``, at time ``at``; None if none was.

        Raises:
            InvalidParameterValue: neither or both of ``alias`` and ``stage`` given, or a bad stage.
            ResourceDoesNotExist: no model called ``name`` existed at that time.
        """
        from registry.domain import history

        return history.version_at(self._log.events(0), name, at, alias=alias, stage=stage)

    def rollback_alias(self, name: str, alias: str, reason: str | None = None) -> ModelVersion:
        """Point ``alias`` back at the version it pointed at before its current one (skipping versions deleted
        since), in one write: the choice and the move happen under the writers' lock, so no other write comes
        between them. Rolling back twice returns to where it started. ``reason`` is recorded on the event.
        (`rollback_stage()` is the same for a stage.)

        Raises:
            ResourceDoesNotExist: the model or alias does not exist, or there is nothing to roll back to.
        """
        import attrs

        from registry.domain import commands, history
        from registry.domain.validation import validate_alias, validate_model_name

        store = self._store
        if not isinstance(reason, str | None):
            raise InvalidParameterValue(f"reason must be a string or None, got {reason!r}.")

        def decide(state: RegistryState) -> list[Change]:
            model = state.model(validate_model_name(name))
            validate_alias(alias)
            if alias not in model.aliases:
                raise commands.alias_not_found(name, alias)
            current = model.aliases[alias]
            events = [e for e in store.read_events(0) if e.seq <= state.seq]
            number = history.rollback_target(events, name, alias, current, list(model.versions))
            changes = commands.set_registered_model_alias(state, name, alias, number)
            return [
                attrs.evolve(c, data={**c.data, "rollback": {"from_version": current, "reason": reason}})
                for c in changes
            ]

        events = self._write(decide)
        return self.get_model_version(name, events[0].data["version"])
