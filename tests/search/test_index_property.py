"""Every indexed search returns exactly what the unindexed evaluator returns, whatever happened before.

A hypothesis state machine holds two handles on one registry folder (each with its own lazily loaded state) and
makes random changes through either: models created, renamed and deleted, versions created and deleted, model
and version tags set and deleted, aliases set, moved and deleted, stage transitions (archiving the others or
not), checkpoints, handles closed (which checkpoints) and dropped and reopened (a cold start from the checkpoint
and its on-disk index). Refused changes are simply refused: the oracle is not a reference model but the search
itself without indexes.

After each change, the searches no index narrows (whole lists in an order, served from sorted lists the change
moved) must equal a scan. At any step a random filter is searched through a handle twice on the same state: once
as the client does (the planner, the indexes, the checkpoint's index for a cold state, the incrementally kept
sorted lists), then through a wrapper that hides the indexes (so every entity is scanned and the matches
sorted), with a random order and page size, paging to the end. The two must agree page by page. After every step
each handle's incremental indexes must equal indexes rebuilt from its loaded models, and the checkpoint's index
on disk must equal the one the journal's fold gives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry import MLFLOW, Registry, RegistryError
from registry.domain.indexes import rebuilt
from registry.domain.state import ModelState
from registry.search import search_model_versions, search_registered_models

NAMES = ["m1", "mx", "n1"]
TAG_KEYS = ["k", "team"]
TAG_VALUES = ["a", "b", "c"]
ALIASES = ["champ", "prod"]
STAGES = ["None", "Staging", "Production", "Archived"]
RUN_IDS = [None, "r1", "r2"]

names = st.sampled_from(NAMES)
handles = st.integers(0, 1)
numbers = st.integers(1, 3)
keys = st.sampled_from(TAG_KEYS)
values = st.sampled_from(TAG_VALUES)
tag_dicts = st.dictionaries(keys, values, max_size=2)


def quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


@st.composite
def conditions(draw: st.DrawFn, models: bool) -> str:
    """One condition, mostly ones an index answers, some it does not."""
    choices = ["tag", "alias", "alias_in", "name", "name_in", "prefix", "like", "other"]
    if not models:
        choices += ["stage", "stage_in", "run_id", "run_in", "number"]
    kind = draw(st.sampled_from(choices))
    if kind == "tag":
        return f"tags.{draw(keys)} {draw(st.sampled_from(['=', '!=']))} '{draw(values)}'"
    if kind == "alias":
        return f"alias = '{draw(st.sampled_from(ALIASES))}'"
    if kind == "alias_in":
        return f"alias IN ({quoted(draw(st.lists(st.sampled_from(ALIASES), min_size=1, max_size=2)))})"
    if kind == "name":
        return f"name = '{draw(names)}'"
    if kind == "name_in":
        return f"name IN ({quoted(draw(st.lists(names, min_size=1, max_size=2)))})"
    if kind == "prefix":
        return f"name LIKE '{draw(st.sampled_from(['m%', 'm1%', 'n%', 'z%', 'm_%', 'm%1']))}'"
    if kind == "like":
        return f"name LIKE '{draw(st.sampled_from(['%1', '%x%', '_1']))}'"
    if kind == "stage":
        return f"current_stage = '{draw(st.sampled_from(STAGES))}'"
    if kind == "stage_in":
        return f"current_stage IN ({quoted(draw(st.lists(st.sampled_from(STAGES), min_size=1, max_size=2)))})"
    if kind == "run_id":
        return f"run_id = '{draw(st.sampled_from(['r1', 'r2']))}'"
    if kind == "run_in":
        return "run_id IN ('r1', 'r2')"
    if kind == "number":
        return f"version_number > {draw(st.integers(0, 3))}"
    return draw(st.sampled_from(["tags.k IS NULL", "tags.team LIKE '%a'", "alias IS NOT NULL"]))


@st.composite
def filters(draw: st.DrawFn, models: bool) -> str | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    parts = draw(st.lists(conditions(models), min_size=1, max_size=3))
    joiner = draw(st.sampled_from([" AND ", " OR "]))
    return joiner.join(f"({p})" for p in parts)


class Unindexed:
    """A state seen only through what search needs, without its indexes: the search scans and sorts."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def names(self) -> list[str]:
        return self._state.names()

    def has_model(self, name: str) -> bool:
        return self._state.has_model(name)

    def registered_model(self, name: str) -> Any:
        return self._state.registered_model(name)

    def model_versions(self, name: str) -> list[Any]:
        return self._state.model_versions(name)

    def all_model_versions(self) -> Iterable[Any]:
        return self._state.all_model_versions()


def pages(search: Any, state: Any, text: str | None, size: int, order: list[str] | None) -> list[list[Any]]:
    out, token = [], None
    while True:
        page = search(state, text, size, order, token)
        out.append(list(page))
        token = page.token
        if token is None:
            return out


def identity(entities: list[Any]) -> list[Any]:
    return [e.to_dict() for e in entities]


class IndexedSearchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="registry-index-")
        self.uri = os.path.join(self.folder, "r")
        self.handles: list[Registry | None] = [Registry(self.uri, durable=False, policy=MLFLOW), None]

    def teardown(self) -> None:
        for reg in self.handles:
            if reg is not None:
                reg.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def handle(self, h: int) -> Registry:
        reg = self.handles[h]
        if reg is None:
            reg = self.handles[h] = Registry(self.uri, durable=False)
        return reg

    def attempt(self, h: int, call: Any) -> None:
        try:
            call(self.handle(h))
        except RegistryError:
            pass  # refused (a missing model or version, a taken name): the state is unchanged
        self.scan_agrees(h)

    def scan_agrees(self, h: int) -> None:
        """After each change: the searches no index narrows, served from sorted lists the change moved, equal
        a scan of the same state."""
        store = self.handle(h)._store  # type: ignore[attr-defined]
        with store.reading() as state:
            for search_fn, order in (
                (search_model_versions, None),
                (search_model_versions, ["creation_timestamp DESC"]),
                (search_registered_models, ["last_updated_timestamp DESC"]),
            ):
                got = [identity(p) for p in pages(search_fn, state, None, 100, order)]
                assert got == [identity(p) for p in pages(search_fn, Unindexed(state), None, 100, order)]

    # -- changes --------------------------------------------------------------------------------------------------

    @initialize(
        tags=st.lists(tag_dicts, min_size=5, max_size=5),
        run_ids=st.lists(st.sampled_from(RUN_IDS), min_size=5, max_size=5),
    )
    def some_models(self, tags: list[dict[str, str]], run_ids: list[str | None]) -> None:
        """Two models with versions to start from, so the steps change more than they create."""
        reg = self.handle(0)
        for name, count in (("m1", 3), ("n1", 2)):
            reg.create_registered_model(name, tags=tags.pop())
            for _ in range(count):
                reg.create_model_version(name, "s3://b/m", run_id=run_ids.pop(), tags=tags.pop() if tags else {})

    @rule(h=handles, name=names, tags=tag_dicts)
    def create_model(self, h: int, name: str, tags: dict[str, str]) -> None:
        self.attempt(h, lambda r: r.create_registered_model(name, tags=tags))

    @rule(h=handles, name=names, tags=tag_dicts, run_id=st.sampled_from(RUN_IDS))
    def create_version(self, h: int, name: str, tags: dict[str, str], run_id: str | None) -> None:
        self.attempt(h, lambda r: r.create_model_version(name, "s3://b/m", run_id=run_id, tags=tags))

    @rule(h=handles, name=names, new_name=names)
    def rename_model(self, h: int, name: str, new_name: str) -> None:
        self.attempt(h, lambda r: r.rename_registered_model(name, new_name))

    @rule(h=handles, name=names)
    def delete_model(self, h: int, name: str) -> None:
        self.attempt(h, lambda r: r.delete_registered_model(name))

    @rule(h=handles, name=names, number=numbers)
    def delete_version(self, h: int, name: str, number: int) -> None:
        self.attempt(h, lambda r: r.delete_model_version(name, number))

    @rule(h=handles, name=names, key=keys, value=values)
    def set_model_tag(self, h: int, name: str, key: str, value: str) -> None:
        self.attempt(h, lambda r: r.set_registered_model_tag(name, key, value))

    @rule(h=handles, name=names, key=keys)
    def delete_model_tag(self, h: int, name: str, key: str) -> None:
        self.attempt(h, lambda r: r.delete_registered_model_tag(name, key))

    @rule(h=handles, name=names, number=numbers, key=keys, value=values)
    def set_version_tag(self, h: int, name: str, number: int, key: str, value: str) -> None:
        self.attempt(h, lambda r: r.set_model_version_tag(name, number, key, value))

    @rule(h=handles, name=names, number=numbers, key=keys)
    def delete_version_tag(self, h: int, name: str, number: int, key: str) -> None:
        self.attempt(h, lambda r: r.delete_model_version_tag(name, number, key))

    @rule(h=handles, name=names, alias=st.sampled_from(ALIASES), number=numbers)
    def set_alias(self, h: int, name: str, alias: str, number: int) -> None:
        self.attempt(h, lambda r: r.set_registered_model_alias(name, alias, number))

    @rule(h=handles, name=names, alias=st.sampled_from(ALIASES))
    def delete_alias(self, h: int, name: str, alias: str) -> None:
        self.attempt(h, lambda r: r.delete_registered_model_alias(name, alias))

    @rule(h=handles, name=names, number=numbers, stage=st.sampled_from(STAGES), archive=st.booleans())
    def transition(self, h: int, name: str, number: int, stage: str, archive: bool) -> None:
        self.attempt(h, lambda r: r.transition_model_version_stage(name, number, stage, archive))

    # -- handles --------------------------------------------------------------------------------------------------

    @rule(h=handles)
    def close_handle(self, h: int) -> None:
        """close() checkpoints (model documents and the index); the next use opens cold from it."""
        if self.handles[h] is not None:
            self.handles[h].close()  # type: ignore[union-attr]
            self.handles[h] = None

    @rule(h=handles)
    def drop_handle(self, h: int) -> None:
        """Drop the handle without closing it (as a killed process); the next use opens cold."""
        self.handles[h] = None

    @rule(h=handles)
    def checkpoint(self, h: int) -> None:
        store = self.handle(h)._store  # type: ignore[attr-defined]
        with store._guard, store._process_lock():
            store._catch_up(writing=True)
            store.checkpoint()

    # -- the property ---------------------------------------------------------------------------------------------

    @rule(
        h=handles,
        models=st.booleans(),
        data=st.data(),
        size=st.sampled_from([1, 2, 100]),
        cold=st.booleans(),
    )
    def search(self, h: int, models: bool, data: st.DataObject, size: int, cold: bool) -> None:
        """Search through handle ``h``, or (``cold``) through a handle opened just for it from the checkpoint."""
        text = data.draw(filters(models), label="filter")
        if models:
            order = data.draw(st.sampled_from([None, ["last_updated_timestamp DESC"], ["name DESC"]]), label="order")
            search_fn: Any = search_registered_models
        else:
            order = data.draw(
                st.sampled_from([None, ["version_number ASC"], ["creation_timestamp DESC"], ["name DESC"]]),
                label="order",
            )
            search_fn = search_model_versions
        reg = Registry(self.uri, read_only=True) if cold else self.handle(h)
        store = reg._store  # type: ignore[attr-defined]
        with store.reading() as state:
            # Indexed first: on a cold state this is the search that loads only what the indexes point at.
            got = [identity(p) for p in pages(search_fn, state, text, size, order)]
            expected = [identity(p) for p in pages(search_fn, Unindexed(state), text, size, order)]
        assert got == expected, text

    @invariant()
    def indexes_equal_a_rebuild(self) -> None:
        for reg in self.handles:
            if reg is None:
                continue
            state = reg._store._state  # type: ignore[attr-defined]
            loaded = [entry for _, entry in state.models.raw_items() if isinstance(entry, ModelState)]
            assert state.indexes.postings() == rebuilt(loaded).postings()

    @invariant()
    def the_checkpoint_index_equals_the_fold(self) -> None:
        report = Registry(self.uri, read_only=True).check()
        assert report.ok, report.problems


IndexedSearchMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("REGISTRY_MACHINE_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIndexedSearch = IndexedSearchMachine.TestCase
