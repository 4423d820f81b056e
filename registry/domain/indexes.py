"""Indexes over the loaded models: which versions and models hold a tag value, an alias, a stage, a run id.

Pure and incremental: `Indexes` hears of every change the fold makes (a version put or dropped through
`ModelState`, a model's own tags and aliases after each event about it, a
model loaded, created or deleted) and moves only the postings that changed. Nothing is ever rebuilt after a
write. `rebuilt()` builds the same indexes from scratch, which is how tests and ``check`` prove that the
incremental ones equal a full replay's.

A posting key is a tuple naming one condition an entity can satisfy:

- versions: ``("tag", key, value)``, ``("alias", alias)``, ``("stage", stage value)``, ``("run_id", run id)``;
- registered models: ``("model_tag", key, value)``, ``("model_alias", alias)``.

Postings are sets of version references ``(model id, version number)`` or of model ids. A key held by one
entity (a unique build tag, a run id) stores that reference alone instead of a one-element set, which halves
the memory an index of unique values takes.

Only loaded models are indexed. A state with pending models (a lazy cold start) loads the ones a search needs
before it asks: see `registry.domain.state.RegistryState.version_postings()`.

The indexes also keep a bounded log of the version and model changes since they were created, so a sorted
list built at one revision can be brought forward by the few entities that changed (``registry.search``)
instead of being sorted again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from registry.domain.entities import ModelVersion
from registry.domain.model_state import ModelState

__all__ = [
    "MAX_LOGGED_CHANGES",
    "ChangeLog",
    "Indexes",
    "PostingKey",
    "VersionRef",
    "model_keys",
    "rebuilt",
    "version_keys",
]

PostingKey: TypeAlias = tuple[str, ...]
VersionRef: TypeAlias = tuple[str, int]

#: How many changes the log keeps; a sorted list further behind than this is rebuilt instead.
MAX_LOGGED_CHANGES = 4096


def version_keys(mv: ModelVersion) -> list[PostingKey]:
    """Every posting key a version is listed under."""
    keys: list[PostingKey] = [("tag", k, v) for k, v in mv.tags.items()]
    keys.extend(("alias", a) for a in mv.aliases)
    keys.append(("stage", mv.current_stage.value))
    if mv.run_id is not None:
        keys.append(("run_id", mv.run_id))
    return keys


def model_keys(model: ModelState) -> list[PostingKey]:
    """Every posting key a registered model is listed under (its own tags and aliases)."""
    keys: list[PostingKey] = [("model_tag", k, v) for k, v in model.tags.items()]
    keys.extend(("model_alias", a) for a in model.aliases)
    return keys


def _add(postings: dict[PostingKey, Any], key: PostingKey, ref: Any) -> None:
    held = postings.get(key)
    if held is None:
        postings[key] = ref
    elif type(held) is set:
        held.add(ref)
    elif held != ref:
        postings[key] = {held, ref}


def _remove(postings: dict[PostingKey, Any], key: PostingKey, ref: Any) -> None:
    held = postings.get(key)
    if held is None:
        return
    if type(held) is set:
        held.discard(ref)
        if len(held) == 1:
            postings[key] = next(iter(held))
    elif held == ref:
        del postings[key]


def _members(held: Any) -> Iterable[Any]:
    if held is None:
        return ()
    return held if type(held) is set else (held,)


class ChangeLog:
    """The last changes of one kind of entity, numbered from 0 since the log was created (bounded)."""

    __slots__ = ("entries", "start")

    def __init__(self) -> None:
        self.entries: list[tuple[Any, Any]] = []
        self.start = 0  # how many entries have been dropped from the front

    @property
    def count(self) -> int:
        """How many changes have been logged (a revision number of these entities)."""
        return self.start + len(self.entries)

    def since(self, count: int) -> list[tuple[Any, Any]] | None:
        """The changes logged after the first ``count``; ``None`` when some of them are no longer kept."""
        if count < self.start or count > self.count:
            return None
        return self.entries[count - self.start :]

    def add(self, first: Any, second: Any) -> None:
        entries = self.entries
        entries.append((first, second))
        if len(entries) > 2 * MAX_LOGGED_CHANGES:
            del entries[:MAX_LOGGED_CHANGES]
            self.start += MAX_LOGGED_CHANGES


class Indexes:
    """The postings of every loaded model of one state, and the logs of changes since they were created.

    ``version_log`` holds ``(old version or None, new version or None)`` per version put or dropped;
    ``model_log`` holds ``(model id, the model's entity as it was cached before the change, or None)``.
    """

    __slots__ = ("_model_keys", "model_log", "models", "version_log", "versions")

    def __init__(self) -> None:
        self.versions: dict[PostingKey, Any] = {}
        self.models: dict[PostingKey, Any] = {}
        # The keys each indexed model was last listed under, so a change lists and unlists only the difference.
        self._model_keys: dict[str, frozenset[PostingKey]] = {}
        self.version_log = ChangeLog()
        self.model_log = ChangeLog()

    # -- reads --------------------------------------------------------------------------------------------------

    def version_refs(self, key: PostingKey) -> Iterable[VersionRef]:
        """The versions listed under ``key``."""
        return _members(self.versions.get(key))

    def version_count(self, key: PostingKey) -> int:
        held = self.versions.get(key)
        return 0 if held is None else len(held) if type(held) is set else 1

    def model_ids(self, key: PostingKey) -> Iterable[str]:
        """The models listed under ``key``."""
        return _members(self.models.get(key))

    def model_count(self, key: PostingKey) -> int:
        held = self.models.get(key)
        return 0 if held is None else len(held) if type(held) is set else 1

    def is_indexed(self, model_id: str) -> bool:
        return model_id in self._model_keys

    def postings(self) -> tuple[dict[PostingKey, frozenset[Any]], dict[PostingKey, frozenset[Any]]]:
        """Both indexes as plain sets (for comparing with `rebuilt()`)."""
        return (
            {k: frozenset(_members(v)) for k, v in self.versions.items()},
            {k: frozenset(_members(v)) for k, v in self.models.items()},
        )

    # -- what the state and the fold report ---------------------------------------------------------------------

    def add_model(self, model: ModelState) -> None:
        """Index a model as loaded or created (not a change of any entity: nothing is logged)."""
        postings = self.versions
        model_id = model.id
        for number, mv in model.versions.items():
            ref = (model_id, number)
            for key in version_keys(mv):
                _add(postings, key, ref)
        keys = frozenset(model_keys(model))
        for key in keys:
            _add(self.models, key, model_id)
        self._model_keys[model_id] = keys
        model.observer = self

    def remove_model(self, model: ModelState) -> None:
        """Unlist a deleted model and its versions."""
        model.observer = None
        for mv in model.versions.values():
            self.version_log.add(mv, None)
            ref = (model.id, mv.version)
            for key in version_keys(mv):
                _remove(self.versions, key, ref)
        for key in self._model_keys.pop(model.id, ()):
            _remove(self.models, key, model.id)
        self.model_log.add(model.id, model.cached_entity())

    def created(self, model: ModelState) -> None:
        """A model the fold created (logged, unlike a model loaded from a document)."""
        self.add_model(model)
        for mv in model.versions.values():
            self.version_log.add(None, mv)
        self.model_log.add(model.id, None)

    def version_changed(self, model_id: str, old: ModelVersion | None, new: ModelVersion | None) -> None:
        """One version put (``new``) in place of ``old`` (``None`` when it is new), or dropped (``new`` is None)."""
        before = version_keys(old) if old is not None else []
        after = version_keys(new) if new is not None else []
        number = new.version if new is not None else old.version if old is not None else 0
        ref = (model_id, number)
        if before != after:
            kept = set(before) & set(after)
            for key in before:
                if key not in kept:
                    _remove(self.versions, key, ref)
            for key in after:
                if key not in kept:
                    _add(self.versions, key, ref)
        self.version_log.add(old, new)

    def model_changed(self, model: ModelState, entity_before: Any) -> None:
        """An event about ``model`` was folded: relist its own tags and aliases if they changed.

        ``entity_before`` is the entity the model had cached before the event (``None`` when none was built).
        """
        keys = frozenset(model_keys(model))
        before = self._model_keys.get(model.id, frozenset())
        if keys != before:
            for key in before - keys:
                _remove(self.models, key, model.id)
            for key in keys - before:
                _add(self.models, key, model.id)
            self._model_keys[model.id] = keys
        self.model_log.add(model.id, entity_before)


def rebuilt(models: Iterable[ModelState]) -> Indexes:
    """Indexes built from scratch over ``models`` (the reference the incremental ones must equal)."""
    fresh = Indexes()
    for model in models:
        observer = model.observer
        fresh.add_model(model)
        model.observer = observer  # building a reference must not re-route the live model's reports
    return fresh
