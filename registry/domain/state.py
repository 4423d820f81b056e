"""The registry's state as a pure projection of its events (no IO, no clock).

Every change is an `Event`; `RegistryState.apply()` folds one into the state. The store persists
events and calls ``apply``; the commands in `registry.domain.commands` decide which events a request makes. Because
state is a function of the event sequence, any process that has read the same journal holds the same state, and
a damaged view on disk can always be rebuilt from the journal.

Models are keyed internally by an id assigned at creation, not by name: renames do not move anything, and a
re-created name is a new model that starts again at version 1 while the old one's history stays intact.

Lazy models. A store opening a large registry installs `PendingModel` entries (id, name, the ``seq`` its
checkpoint recorded) instead of reading every model's document. The fold keeps such an entry exact without
reading anything: the table-level events (created, renamed, deleted) keep the name index and the entry's name
right, and every other event for it is kept on the entry, to be folded when the model is first read. Loading
(`materialize()`) adopts a document only when it claims exactly a position the entry passed through (the
checkpoint's, or just after one of the kept events) and otherwise folds the model's own events from the
journal. So a document written later by another process can never put the state ahead of its own position:
every state is the fold of a prefix of the journal, whichever documents it was built from.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

import attrs

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.fold import (
    CREATING_EVENTS,
    MODEL_HANDLERS,
    TABLE_EVENTS,
    apply_model_event,
    cannot_apply,
    fold_model_event,
    optional_text,
    tags_payload,
    text_payload,
)
from registry.domain.indexes import Indexes, PostingKey
from registry.domain.model_state import ModelState, model_not_found, version_not_found
from registry.domain.records import Event, EventType
from registry.errors import CorruptRegistry

# Event, EventType, ModelState and the not-found errors are defined below this module and re-exported here,
# where the rest of the package has always imported them from.
__all__ = [
    "MAX_PENDING_EVENTS",
    "Event",
    "EventType",
    "ModelState",
    "ModelTable",
    "PendingModel",
    "RegistryState",
    "apply_model_event",
    "materialize",
    "model_not_found",
    "version_not_found",
]


MAX_PENDING_EVENTS = 256
"""A pending model holding this many unfolded events is loaded (so a process that never reads a busy model
does not keep its whole history in memory)."""


@attrs.define(slots=True, eq=False)
class PendingModel:
    """A model known by id and name whose state is built on first use (see the module docstring).

    ``seq`` and ``base_name`` are what the checkpoint recorded for the model, valid at journal position
    ``position`` (the checkpoint's seq); ``events`` are the model's events the state has passed since, not yet
    folded; ``name`` is its name at the state's position.
    """

    id: str
    name: str
    seq: int
    position: int
    base_name: str
    events: list[Event] = attrs.field(factory=list)

    def known_positions(self) -> list[tuple[int, str]]:
        """``(seq, name)`` of the model at each point the state passed through: the checkpoint's, then just
        after each kept event. A document claiming one of these is the model's fold at that point."""
        points = [(self.seq, self.base_name)]
        name = self.base_name
        for event in self.events:
            if event.type == EventType.REGISTERED_MODEL_RENAMED:
                name = event.data["new_name"]
            points.append((event.seq, name))
        return points


def materialize(
    pending: PendingModel,
    document: ModelState | None,
    history: Callable[[], Iterable[Event]],
    artifact_root: str | None,
) -> ModelState:
    """The state of a pending model at the position of the state holding it.

    Args:
        pending: the entry.
        document: the model's document as read now (``None`` when missing or unreadable). It may have been
            written by another process at any time, so it is used only if it claims exactly one of
            `PendingModel.known_positions()`; the kept events after that point are folded into it.
        history: the journal's events from the start up to (at least) ``pending.position``, read only when
            the document cannot be used.
        artifact_root: as for `RegistryState`.

    Raises:
        CorruptRegistry: the journal does not have the model the checkpoint listed.
    """
    start = None
    if document is not None and document.id == pending.id:
        for index, (seq, name) in enumerate(pending.known_positions()):
            if document.seq == seq and document.name == name:
                start = index
    if start is None or document is None:
        model = _refold(pending, history, artifact_root)
        start = 0
    else:
        model = document
    for event in pending.events[start:]:
        fold_model_event(model, event, artifact_root)
    return model


def _refold(pending: PendingModel, history: Callable[[], Iterable[Event]], artifact_root: str | None) -> ModelState:
    """The model at ``pending.position``, folded from its own events in the journal (the truth)."""
    scratch = RegistryState(artifact_root)
    for event in history():
        if event.seq > pending.position:
            break
        if event.model_id == pending.id:
            scratch.seq = event.seq - 1  # only this model's events: the sequence check is the journal reader's
            scratch.apply(event)
    model = dict.get(scratch.models, pending.id)
    if not isinstance(model, ModelState) or model.name != pending.base_name:
        raise CorruptRegistry(
            f"The checkpoint lists model {pending.id} as '{pending.base_name}' at event {pending.position}, "
            "which the journal does not say. Run 'registry check --fix' to rebuild the checkpoint from the journal.",
            seq=pending.position,
        )
    return model


class ModelTable(dict[str, "ModelState | PendingModel"]):
    """Models by id, where an entry may be a `PendingModel` until something reads it.

    Every read (``[]``, ``get``, ``values``, ``items``) hands out loaded models, built by ``loader``;
    ``raw_items`` and ``is_pending`` look without loading.
    """

    def __init__(
        self,
        loader: Callable[[PendingModel], ModelState] | None = None,
        on_load: Callable[[ModelState], None] | None = None,
    ) -> None:
        super().__init__()
        self.loader = loader
        self.on_load = on_load

    def __getitem__(self, model_id: str) -> ModelState:  # type: ignore[override]
        entry = dict.__getitem__(self, model_id)
        if isinstance(entry, PendingModel):
            if self.loader is None:
                raise CorruptRegistry(f"Model {model_id} is not loaded and this state has no loader.")
            entry = self.loader(entry)
            dict.__setitem__(self, model_id, entry)
            if self.on_load is not None:
                self.on_load(entry)
        return entry

    def get(self, model_id: str, default: ModelState | None = None) -> ModelState | None:  # type: ignore[override]
        return self[model_id] if model_id in self else default  # noqa: SIM401 - self.get is this method

    def values(self) -> list[ModelState]:  # type: ignore[override]
        return [self[model_id] for model_id in list(dict.keys(self))]

    def items(self) -> list[tuple[str, ModelState]]:  # type: ignore[override]
        return [(model_id, self[model_id]) for model_id in list(dict.keys(self))]

    def raw(self, model_id: str) -> ModelState | PendingModel | None:
        return dict.get(self, model_id)

    def raw_items(self) -> list[tuple[str, ModelState | PendingModel]]:
        return list(dict.items(self))

    def is_pending(self, model_id: str) -> bool:
        return isinstance(self.raw(model_id), PendingModel)


class RegistryState:
    """All registered models, folded from the event sequence.

    Args:
        artifact_root: the folder under which versions' own copies live (``<root>/<model id>/versions/<n>``);
            it only turns recorded digests into ``storage_location`` paths.
        loader: builds a pending model's state when it is first read (see `materialize()`).
        hint: for a cold start from a checkpoint, the ids of the pending models the checkpoint lists under a
            posting key (``None`` when it cannot say): a search loads only those (see `version_postings()`).

    Every loaded model is indexed (`indexes`, `registry.domain.indexes`) as the fold changes it.
    """

    def __init__(
        self,
        artifact_root: str | None = None,
        loader: Callable[[PendingModel], ModelState] | None = None,
        hint: Callable[[PostingKey], Iterable[str] | None] | None = None,
    ) -> None:
        self.artifact_root = artifact_root
        self.indexes = Indexes()
        self.models = ModelTable(loader, on_load=self._loaded)
        self._pending_ids: set[str] = set()
        self.hint = hint
        self.ids_by_name: dict[str, str] = {}
        # Every name in order, built on the first prefix search and kept in order by the fold from then on.
        self._sorted_names: list[str] | None = None
        self.seq = 0
        # The hash of the event at ``chain_seq`` (the last one folded, unless the state started from a
        # checkpoint and folded nothing since): where the store's next record links to.
        self.chain_seq = 0
        self.chain_hash: str | None = None

    # -- reads ------------------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self.ids_by_name)

    def has_model(self, name: str) -> bool:
        return name in self.ids_by_name

    def model(self, name: str) -> ModelState:
        try:
            model_id = self.ids_by_name[name]
        except (KeyError, TypeError):
            raise model_not_found(name) from None
        return self.models[model_id]

    def registered_model(self, name: str) -> RegisteredModel:
        return self.model(name).registered_model()

    def model_versions(self, name: str) -> list[ModelVersion]:
        versions = self.model(name).versions
        return [versions[n] for n in sorted(versions)]

    def all_model_versions(self) -> Iterator[ModelVersion]:
        for model in self.models.values():
            yield from model.versions.values()

    # -- indexed reads (registry.search's planner) -------------------------------------------------------------

    def model_count(self) -> int:
        return len(self.ids_by_name)

    def registered_model_by_id(self, model_id: str) -> RegisteredModel | None:
        """The entity of the model with this id, or ``None`` when there is none (deleted)."""
        return self.models[model_id].registered_model() if model_id in self.models else None

    def names_with_prefix(self, prefix: str) -> list[str]:
        """The model names that start with ``prefix``, in order (a binary search in the names kept sorted)."""
        names = self._sorted_names
        if names is None:
            names = self._sorted_names = sorted(self.ids_by_name)
        start = bisect.bisect_left(names, prefix)
        end = start
        while end < len(names) and names[end].startswith(prefix):
            end += 1
        return names[start:end]

    def version_postings(self, key: PostingKey) -> list[ModelVersion]:
        """The versions listed under ``key`` (see `registry.domain.indexes`), exactly: pending models that
        may hold it are loaded first."""
        self._load_for(key)
        models = self.models  # every indexed model is loaded: [] only looks it up
        return [models[model_id].versions[number] for model_id, number in self.indexes.version_refs(key)]

    def model_postings(self, key: PostingKey) -> list[str]:
        """The names of the models listed under ``key``, exactly (pending models that may hold it loaded first)."""
        self._load_for(key)
        models = self.models
        return [models[model_id].name for model_id in self.indexes.model_ids(key)]

    def posting_estimate(self, key: PostingKey) -> int:
        """About how many entities ``key`` lists, without loading anything (what the planner ranks by)."""
        count = self.indexes.version_count(key) if key[0] in _VERSION_KEYS else self.indexes.model_count(key)
        if self._pending_ids:
            hinted = self.hint(key) if self.hint is not None else None
            count += len(self._pending_ids) if hinted is None else len(list(hinted))
        return count

    def _load_for(self, key: PostingKey) -> None:
        pending = self._pending_ids
        if not pending:
            return
        hinted = self.hint(key) if self.hint is not None else None
        if hinted is None:
            wanted = list(pending)
        else:
            # The checkpoint's index says which models held the key at its position; a pending model with
            # events since may hold it now whatever the checkpoint says, so it is loaded too.
            wanted = [i for i in hinted if i in pending]
            models = self.models
            wanted += [i for i in pending if models.raw(i).events and i not in wanted]  # type: ignore[union-attr]
        for model_id in wanted:
            self.models[model_id]  # loads it, and the table's on_load indexes it

    def _loaded(self, model: ModelState) -> None:
        self._pending_ids.discard(model.id)
        self.indexes.add_model(model)

    # -- building -----------------------------------------------------------------------------------------------

    def add_model(self, model: ModelState) -> None:
        """Install a loaded model (read from a document or a checkpoint: not a change, so nothing is logged)."""
        dict.__setitem__(self.models, model.id, model)
        self._name_added(model.name, model.id)
        self.indexes.add_model(model)

    def add_pending(self, model_id: str, name: str, seq: int) -> None:
        """Install a model the checkpoint at this state's position lists, to be loaded on first use."""
        dict.__setitem__(self.models, model_id, PendingModel(model_id, name, seq, self.seq, name))
        self._pending_ids.add(model_id)
        self._name_added(name, model_id)

    def _name_added(self, name: str, model_id: str) -> None:
        self.ids_by_name[name] = model_id
        if self._sorted_names is not None:
            bisect.insort(self._sorted_names, name)

    def _name_removed(self, name: str) -> None:
        del self.ids_by_name[name]
        names = self._sorted_names
        if names is not None:
            del names[bisect.bisect_left(names, name)]

    # -- folding events ---------------------------------------------------------------------------------------

    def apply(self, event: Event, *, load: bool = False) -> None:
        """Fold one event into the state. Unknown event types (extensions' own records) are skipped.

        Args:
            load: load the model the event concerns first, so the event is checked against its full state
                now (the store's write funnel does this for the events it is about to commit).

        Raises:
            CorruptRegistry: the event cannot follow this state (its seq does not come next, it names a model
                or version the state does not have, or a name another model holds). The state is unchanged.
        """
        if event.seq <= self.seq:
            raise CorruptRegistry(
                f"Event {event.seq} ({event.type}) cannot follow event {self.seq}: sequence numbers must increase.",
                seq=event.seq,
            )
        if event.type in MODEL_HANDLERS or event.type in TABLE_EVENTS:
            try:
                self._fold(event, load)
            except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
                raise cannot_apply(event, exc) from None
        self.seq = event.seq
        self.chain_seq, self.chain_hash = event.seq, event.hash

    def _fold(self, e: Event, load: bool) -> None:
        if e.type == EventType.REGISTERED_MODEL_CREATED:
            self._create(e)
            return
        if e.type in CREATING_EVENTS and e.data.get("created") is True:
            self._create_imported(e)
            return
        entry = self.models.raw(e.model_id) if isinstance(e.model_id, str) else None
        if entry is None:
            raise CorruptRegistry(
                f"Event {e.seq} ({e.type}) refers to model id {e.model_id}, which does not exist at that point.",
                seq=e.seq,
            )
        if e.name != entry.name:
            raise CorruptRegistry(
                f"Event {e.seq} ({e.type}) names model '{e.name}', but model {entry.id} is called "
                f"'{entry.name}' at that point.",
                seq=e.seq,
            )
        if e.type == EventType.REGISTERED_MODEL_DELETED:
            dict.__delitem__(self.models, entry.id)
            self._pending_ids.discard(entry.id)
            self._name_removed(entry.name)
            if isinstance(entry, ModelState):
                self.indexes.remove_model(entry)
            return
        new_name = None
        if e.type == EventType.REGISTERED_MODEL_RENAMED:
            new_name = text_payload(e.data, "new_name")
            holder = self.ids_by_name.get(new_name)
            if holder is not None and holder != entry.id:
                raise CorruptRegistry(
                    f"Event {e.seq} renames model '{entry.name}' to '{new_name}', which model {holder} already "
                    "has at that point.",
                    seq=e.seq,
                )
        if isinstance(entry, PendingModel) and load:
            entry = self.models[entry.id]
        if isinstance(entry, PendingModel):
            entry.events.append(e)
            if new_name is not None:
                entry.name = new_name
        else:
            before = entry.cached_entity()
            fold_model_event(entry, e, self.artifact_root)
            self.indexes.model_changed(entry, before)
        if new_name is not None:
            self._name_removed(e.name)
            self._name_added(new_name, entry.id)
        if isinstance(entry, PendingModel) and len(entry.events) >= MAX_PENDING_EVENTS:
            self.models[entry.id]

    def _add_created(self, model: ModelState) -> None:
        dict.__setitem__(self.models, model.id, model)
        self._name_added(model.name, model.id)
        self.indexes.created(model)

    def _check_new_model(self, e: Event) -> tuple[str, str]:
        model_id, name = e.model_id, e.name
        if not isinstance(model_id, str) or not model_id or not isinstance(name, str) or not name:
            raise ValueError(f"model_id {model_id!r} and name {name!r} must be non-empty strings")
        if self.models.raw(model_id) is not None:
            raise CorruptRegistry(f"Event {e.seq} creates model id {model_id}, which already exists.", seq=e.seq)
        holder = self.ids_by_name.get(name)
        if holder is not None:
            raise CorruptRegistry(
                f"Event {e.seq} creates a model called '{name}', which model {holder} already has at that point.",
                seq=e.seq,
            )
        return model_id, name

    def _create_imported(self, e: Event) -> None:
        model_id, name = self._check_new_model(e)
        created = e.data.get("creation_timestamp")
        updated = e.data.get("last_updated_timestamp")
        model = ModelState(
            id=model_id,
            name=name,
            creation_timestamp=created if isinstance(created, int) else e.timestamp,
            last_updated_timestamp=updated if isinstance(updated, int) else e.timestamp,
            seq=e.seq,
        )
        fold_model_event(model, e, self.artifact_root)  # on the new model first: a refusal adds nothing
        self._add_created(model)

    def _create(self, e: Event) -> None:
        model_id, name = self._check_new_model(e)
        tags = tags_payload(e.data, "tags")
        description = optional_text(e.data, "description")
        self._add_created(
            ModelState(
                id=model_id,
                name=name,
                creation_timestamp=e.timestamp,
                last_updated_timestamp=e.timestamp,
                description=description,
                tags=tags,
                seq=e.seq,
            )
        )


_VERSION_KEYS = frozenset({"tag", "alias", "stage", "run_id"})
