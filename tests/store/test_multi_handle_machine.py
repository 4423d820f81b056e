"""Several handles on one registry folder, as several processes would hold them, against a plain reference.

Three ``Registry`` objects share one folder; each has its own state, loads model documents lazily from the
checkpoint it opened, and is closed (which checkpoints), dropped without closing (as a killed process is),
reopened, or made to checkpoint at any step, while the others write. Every mutating operation is a rule (rename
and delete included), each predicted by the reference model: a handle must accept exactly what the reference
accepts and refuse the rest with the right error. Reads through a handle catch it up and must equal the
reference, indexed searches (tag, alias, stage) included. Each handle has its own user, and the policy
requires an approval by another user to enter Production, so transition requests (created, approved,
rejected, closed by deletes and moves), comments and stage rollbacks are among the steps; the reference keeps
every request's status.

After every step, without moving any handle (so the lazy states that other handles' checkpoints can go stale
under are kept): each handle's name index equals the reference's names at that handle's own position (its
view is the fold of a prefix of the journal), a freshly opened handle equals the reference, and so does the
fold of the whole journal (no caches at all).

CI runs the ``ci`` profile (enough to find issue 10's scenarios in seconds: reverting the fix fails it within
a few examples); ``REGISTRY_LONG=1`` runs the ``long`` profile.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from typing import Any
from unittest import mock

import attrs
import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from registry import (
    MLFLOW,
    ApprovalRequired,
    ImportConflict,
    ImportedModel,
    ImportedVersion,
    InvalidParameterValue,
    Registry,
    ReplicaReadOnly,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.domain.state import Event, RegistryState
from registry.store import files as files_module
from registry.store.journal import Journal

HANDLES = 3
names = st.sampled_from(["a", "b", "c"])
handles = st.integers(0, HANDLES - 1)
versions = st.integers(1, 4)
keys = st.sampled_from(["k1", "k2"])
values = st.sampled_from(["1", "2"])
aliases = st.sampled_from(["x", "y"])
stages = st.sampled_from(["None", "Staging", "Production", "Archived"])
descriptions = st.sampled_from([None, "one", "two"])
then_close = st.booleans()


@attrs.define
class RefVersion:
    stage: str = "None"
    tags: dict[str, str] = attrs.field(factory=dict)
    description: str | None = None


@attrs.define
class RefRequest:
    version: int
    stage: str
    user: str
    status: str = "pending"


@attrs.define
class RefModel:
    description: str | None = None
    tags: dict[str, str] = attrs.field(factory=dict)
    versions: dict[int, RefVersion] = attrs.field(factory=dict)
    aliases: dict[str, int] = attrs.field(factory=dict)
    next: int = 1
    requests: dict[int, RefRequest] = attrs.field(factory=dict)  # by id (the seq of the creating event)
    comments: list[tuple[int, str, str]] = attrs.field(factory=list)  # (version, user, text)
    production: list[int] = attrs.field(factory=list)  # the versions that entered Production, in order

    def moved(self, moves: dict[int, str | None]) -> None:
        """Versions moved (to a stage) or deleted (None): their pending requests close; Production entries."""
        for request in self.requests.values():
            if request.status == "pending" and request.version in moves:
                request.status = "closed"
        for number, stage in moves.items():
            if stage == "Production" and number in self.versions and self.versions[number].stage != "Production":
                self.production.append(number)
        self.comments = [c for c in self.comments if not (c[0] in moves and moves[c[0]] is None)]


POLICY = MLFLOW.with_approval("Production")


class _Fixed:
    """A stand-in for hypothesis' data object that answers the draws of ``existing`` and ``approve``."""

    def __init__(self, name: str, version: int, stage: str | None = None) -> None:
        self.pair, self.stage = (name, version), stage

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return {"existing": 1, "version": self.pair, "a pending one": self.stage is not None, "stage": self.stage}[
            label or ""
        ]


def user_of(h: int) -> str:
    return f"user{h}"


def picture_of(reg: Registry) -> dict[str, Any]:
    """Everything a reader sees through ``reg``, by name."""
    out = {}
    for m in reg.list_registered_models():
        vs = {
            v.version: (v.current_stage.value, v.tags, v.description, sorted(v.aliases), v.name)
            for v in reg.list_model_versions(m.name)
        }
        requests = sorted(
            (r.id, r.version, r.to_stage.value, r.user_id, r.status.value)
            for v in vs
            for r in reg.list_transition_requests(m.name, v, include_closed=True)
        )
        comments = [(c.version, c.user_id, c.comment) for v in sorted(vs) for c in reg.list_comments(m.name, v)]
        out[m.name] = (m.description, m.tags, m.aliases, vs, requests, comments)
    return out


def picture_of_state(state: RegistryState) -> dict[str, Any]:
    out = {}
    for name in state.names():
        m = state.model(name)
        rm = m.registered_model()
        vs = {
            v.version: (v.current_stage.value, v.tags, v.description, sorted(v.aliases), v.name)
            for v in state.model_versions(name)
        }
        requests = sorted(
            (r.id, r.version, r.to_stage.value, r.user_id, r.status.value)
            for r in m.governance.requests.values()
            if r.version in vs
        )
        comments = sorted(
            ((c.version, c.user_id, c.comment) for c in m.governance.comments.values()), key=lambda c: c[0]
        )
        out[name] = (rm.description, rm.tags, rm.aliases, vs, requests, comments)
    return out


class MultiHandleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="registry-multi-")
        self.uri = os.path.join(self.folder, "r")
        self.handles: list[Registry | None] = [self._open(0)] + [None] * (HANDLES - 1)  # the others open later
        self.ref: dict[str, RefModel] = {}
        self.names_at: dict[int, list[str]] = {0: []}  # the reference's names after each journal position
        self.seq = 0
        # a replica of the folder, through two handles of its own, and what it held at its last sync
        self.replica_uri = os.path.join(self.folder, "replica")
        self.replicas: list[Registry | None] = [None, None]
        self.replica_picture: dict[str, Any] | None = None

    def teardown(self) -> None:
        for reg in [*self.handles, *self.replicas]:
            if reg is not None:
                reg.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers --------------------------------------------------------------------------------------------------

    def _open(self, h: int) -> Registry:
        policy = POLICY if not os.path.exists(self.uri) else None
        return Registry(self.uri, durable=False, policy=policy, user=user_of(h))

    def handle(self, h: int) -> Registry:
        reg = self.handles[h]
        if reg is None:  # a closed or dropped handle is reopened (from the checkpoint) when next used
            reg = self.handles[h] = self._open(h)
        return reg

    def committed(self, reg: Registry) -> None:
        """Record the reference's names at the position the write just committed (at most one event)."""
        seq = reg._store._state.seq  # type: ignore[attr-defined]
        assert seq in (self.seq, self.seq + 1), (seq, self.seq)
        self.seq = seq
        self.names_at[seq] = sorted(self.ref)

    def write(self, h: int, close: bool, expected: type[Exception] | None, call: Any) -> bool:
        """Run ``call(reg)`` through handle ``h``; it must raise ``expected`` (or succeed when None)."""
        reg = self.handle(h)
        if expected is None:
            call(reg)
        else:
            try:
                call(reg)
            except expected:
                pass
            else:
                raise AssertionError(f"handle {h} accepted what the reference refuses with {expected.__name__}")
        self.committed(reg)
        if close:
            reg.close()
            self.handles[h] = None
        return expected is None

    def model(self, name: str) -> RefModel | None:
        return self.ref.get(name)

    def missing(self, name: str, version: int | None = None) -> type[Exception] | None:
        m = self.ref.get(name)
        if m is None or (version is not None and version not in m.versions):
            return ResourceDoesNotExist
        return None

    # -- registered models ----------------------------------------------------------------------------------------

    @rule(h=handles, name=names, description=descriptions, close=then_close)
    def create_model(self, h: int, name: str, description: str | None, close: bool) -> None:
        expected = ResourceAlreadyExists if name in self.ref else None
        if expected is None:
            self.ref[name] = RefModel(description=description)
        self.write(h, close, expected, lambda r: r.create_registered_model(name, description=description))

    @rule(h=handles, name=names, new_name=names, close=then_close)
    def rename_model(self, h: int, name: str, new_name: str, close: bool) -> None:
        expected = self.missing(name) or (ResourceAlreadyExists if new_name in self.ref and new_name != name else None)
        if expected is None:
            self.ref[new_name] = self.ref.pop(name)
        self.write(h, close, expected, lambda r: r.rename_registered_model(name, new_name))

    @rule(h=handles, name=names, close=then_close)
    def delete_model(self, h: int, name: str, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            del self.ref[name]
        self.write(h, close, expected, lambda r: r.delete_registered_model(name))

    @rule(h=handles, name=names, description=descriptions, close=then_close)
    def update_model(self, h: int, name: str, description: str | None, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            self.ref[name].description = description
        self.write(h, close, expected, lambda r: r.update_registered_model(name, description))

    @rule(h=handles, name=names, key=keys, value=values, close=then_close)
    def set_model_tag(self, h: int, name: str, key: str, value: str, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            self.ref[name].tags[key] = value
        self.write(h, close, expected, lambda r: r.set_registered_model_tag(name, key, value))

    @rule(h=handles, name=names, key=keys, close=then_close)
    def delete_model_tag(self, h: int, name: str, key: str, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            self.ref[name].tags.pop(key, None)
        self.write(h, close, expected, lambda r: r.delete_registered_model_tag(name, key))

    # -- versions -------------------------------------------------------------------------------------------------

    @rule(h=handles, name=names, close=then_close)
    def create_version(self, h: int, name: str, close: bool) -> None:
        expected = self.missing(name)
        number = None
        if expected is None:
            m = self.ref[name]
            number, m.next = m.next, m.next + 1
            m.versions[number] = RefVersion()

        def call(r: Registry) -> None:
            mv = r.create_model_version(name, source="s3://bucket/model")
            assert mv.version == number

        self.write(h, close, expected, call)

    @rule(h=handles, name=names, version=versions, description=descriptions, close=then_close)
    def update_version(self, h: int, name: str, version: int, description: str | None, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None:
            self.ref[name].versions[version].description = description
        self.write(h, close, expected, lambda r: r.update_model_version(name, version, description))

    @rule(h=handles, name=names, version=versions, close=then_close)
    def delete_version(self, h: int, name: str, version: int, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None:
            m = self.ref[name]
            m.moved({version: None})
            del m.versions[version]
            m.aliases = {a: v for a, v in m.aliases.items() if v != version}
        self.write(h, close, expected, lambda r: r.delete_model_version(name, version))

    @rule(h=handles, name=names, version=versions, stage=stages, archive=st.booleans(), close=then_close)
    def transition(self, h: int, name: str, version: int, stage: str, archive: bool, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None and archive and stage not in ("Staging", "Production"):
            expected = InvalidParameterValue
        if expected is None and stage == "Production" and self.ref[name].versions[version].stage != "Production":
            expected = ApprovalRequired  # the policy wants an approved request to enter Production
        if expected is None:
            self.move(self.ref[name], version, stage, archive)
        self.write(
            h,
            close,
            expected,
            lambda r: r.transition_model_version_stage(name, version, stage, archive_existing_versions=archive),
        )

    @rule(h=handles, name=names, version=versions, key=keys, value=values, close=then_close)
    def set_version_tag(self, h: int, name: str, version: int, key: str, value: str, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None:
            self.ref[name].versions[version].tags[key] = value
        self.write(h, close, expected, lambda r: r.set_model_version_tag(name, version, key, value))

    @rule(h=handles, name=names, version=versions, key=keys, close=then_close)
    def delete_version_tag(self, h: int, name: str, version: int, key: str, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None:
            self.ref[name].versions[version].tags.pop(key, None)
        self.write(h, close, expected, lambda r: r.delete_model_version_tag(name, version, key))

    @rule(h=handles, name=names, alias=aliases, version=versions, close=then_close)
    def set_alias(self, h: int, name: str, alias: str, version: int, close: bool) -> None:
        expected = self.missing(name, version)
        if expected is None:
            self.ref[name].aliases[alias] = version
        self.write(h, close, expected, lambda r: r.set_registered_model_alias(name, alias, version))

    @rule(h=handles, name=names, alias=aliases, close=then_close)
    def delete_alias(self, h: int, name: str, alias: str, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            self.ref[name].aliases.pop(alias, None)
        self.write(h, close, expected, lambda r: r.delete_registered_model_alias(name, alias))

    def move(self, m: RefModel, version: int, stage: str, archive: bool) -> None:
        moves: dict[int, str | None] = {version: stage}
        if archive:
            moves.update({n: "Archived" for n, v in m.versions.items() if v.stage == stage and n != version})
        m.moved(moves)
        for number, target in moves.items():
            m.versions[number].stage = target  # type: ignore[assignment]

    # -- governance: requests, comments, rollback -----------------------------------------------------------------

    def existing(self, data: Any, name: str, version: int) -> tuple[str, int]:
        """Mostly a version that exists (random pairs rarely do), sometimes the random one (for the refusals)."""
        pairs = [(n, v) for n, m in sorted(self.ref.items()) for v in sorted(m.versions)]
        if isinstance(data, _Fixed):
            return data.pair
        if pairs and data.draw(st.integers(0, 3), label="existing") > 0:
            return data.draw(st.sampled_from(pairs), label="version")
        return name, version

    def pending(self, m: RefModel, version: int, stage: str) -> list[RefRequest]:
        return [r for r in m.requests.values() if r.status == "pending" and (r.version, r.stage) == (version, stage)]

    @rule(h=handles, name=names, version=versions, stage=stages, close=then_close, data=st.data())
    def request(self, h: int, name: str, version: int, stage: str, close: bool, data: st.DataObject) -> None:
        name, version = self.existing(data, name, version)
        expected = self.missing(name, version)
        if expected is None:
            m = self.ref[name]
            if m.versions[version].stage == stage:
                expected = InvalidParameterValue
            elif any(r.user == user_of(h) for r in self.pending(m, version, stage)):
                expected = ResourceAlreadyExists
            else:
                m.requests[self.seq + 1] = RefRequest(version, stage, user_of(h))
        self.write(h, close, expected, lambda r: r.create_transition_request(name, version, stage))

    @rule(
        h=handles, name=names, version=versions, stage=stages, archive=st.booleans(), close=then_close, data=st.data()
    )
    def approve(
        self, h: int, name: str, version: int, stage: str, archive: bool, close: bool, data: st.DataObject
    ) -> None:
        name, version = self.existing(data, name, version)
        m = self.ref.get(name)
        pending = [r for r in m.requests.values() if r.status == "pending" and r.version == version] if m else []
        if isinstance(data, _Fixed):
            stage = data.stage or stage
        elif pending and data.draw(st.booleans(), label="a pending one"):
            stage = data.draw(st.sampled_from(sorted({r.stage for r in pending})), label="stage")
        expected = self.missing(name, version)
        if expected is None:
            m = self.ref[name]
            pending = self.pending(m, version, stage)
            if not pending:
                expected = ResourceDoesNotExist
            elif all(r.user == user_of(h) for r in pending):
                expected = ApprovalRequired  # the approver must not be the (only) requester
            elif archive and stage not in ("Staging", "Production"):
                expected = InvalidParameterValue
            else:
                for r in pending:
                    r.status = "approved"
                self.move(m, version, stage, archive)

        def call(r: Registry) -> None:
            r.approve_transition_request(name, version, stage, archive_existing_versions=archive)

        self.write(h, close, expected, call)

    @rule(h=handles, name=names, version=versions, stage=stages, close=then_close, data=st.data())
    def reject(self, h: int, name: str, version: int, stage: str, close: bool, data: st.DataObject) -> None:
        name, version = self.existing(data, name, version)
        expected = self.missing(name, version)
        if expected is None:
            pending = self.pending(self.ref[name], version, stage)
            if not pending:
                expected = ResourceDoesNotExist
            for r in pending:
                r.status = "rejected"
        self.write(h, close, expected, lambda r: r.reject_transition_request(name, version, stage))

    @rule(h=handles, name=names, version=versions, text=st.sampled_from(["ok", "no"]), close=then_close, data=st.data())
    def comment(self, h: int, name: str, version: int, text: str, close: bool, data: st.DataObject) -> None:
        name, version = self.existing(data, name, version)
        expected = self.missing(name, version)
        if expected is None:
            self.ref[name].comments.append((version, user_of(h), text))
        self.write(h, close, expected, lambda r: r.create_comment(name, version, text))

    @rule(h=handles, other=handles, stage=stages, archive=st.booleans(), data=st.data())
    def ask_and_approve(self, h: int, other: int, stage: str, archive: bool, data: st.DataObject) -> None:
        """The whole workflow on a version that exists: handle ``h`` asks, handle ``other`` approves (refused
        when it is the same user), so versions reach Production and rollbacks have something to undo."""
        if not any(m.versions for m in self.ref.values()):  # random steps rarely make versions: make one
            if "a" not in self.ref:
                self.create_model(h, "a", None, False)
            self.create_version(h, "a", False)
        name, version = self.existing(data, "a", 1)
        self.request(h, name, version, stage, False, _Fixed(name, version))
        self.approve(other, name, version, stage, archive, False, _Fixed(name, version, stage))

    @rule(h=handles, name=names, close=then_close)
    def rollback_production(self, h: int, name: str, close: bool) -> None:
        expected = self.missing(name)
        if expected is None:
            m = self.ref[name]
            holding = [n for n, v in m.versions.items() if v.stage == "Production"]
            before = [n for n in m.production if n != max(holding)] if holding else []
            if not before or before[-1] not in m.versions:
                expected = ResourceDoesNotExist
            else:
                target = before[-1]
                moves: dict[int, str | None] = {n: "Archived" for n in holding if n != target}
                moves[target] = "Production"
                m.moved(moves)
                for number, stage in moves.items():
                    m.versions[number].stage = stage  # type: ignore[assignment]
        self.write(h, close, expected, lambda r: r.rollback_stage(name, "Production"))

    # -- imports (one record per model: registered_model.imported) ----------------------------------------------

    @rule(
        h=handles,
        name=names,
        offset=st.integers(0, 2),
        stage=stages,
        alias=aliases,
        key=keys,
        value=values,
        description=descriptions,
        close=then_close,
    )
    def import_model(
        self,
        h: int,
        name: str,
        offset: int,
        stage: str,
        alias: str,
        key: str,
        value: str,
        description: str | None,
        close: bool,
    ) -> None:
        """A model from elsewhere: a new version with a kept number, its stage, tag and description, an alias,
        and model metadata; added where absent, refused (nothing written) where it differs."""
        m = self.ref.get(name)
        number = (m.next if m is not None else 1) + offset
        imported = ImportedModel(
            name,
            description=description,
            tags={key: value},
            aliases={alias: number},
            versions=[
                ImportedVersion(
                    number, source="s3://bucket/imported", stage=stage, tags={key: value}, description=description
                )
            ],
        )
        conflict = m is not None and (
            (description is not None and m.description not in (None, description))
            or m.tags.get(key, value) != value
            or alias in m.aliases
        )
        if not conflict:
            if m is None:
                m = self.ref[name] = RefModel()
            if m.description is None:
                m.description = description
            m.tags.setdefault(key, value)
            m.versions[number] = RefVersion(stage=stage, tags={key: value}, description=description)
            if stage == "Production":
                m.production.append(number)
            m.aliases[alias] = number
            m.next = number + 1
        self.write(h, close, ImportConflict if conflict else None, lambda r: r.import_models([imported]))

    # -- reads ----------------------------------------------------------------------------------------------------

    @rule(h=handles, name=names)
    def read_model(self, h: int, name: str) -> None:
        """Read one model through one handle (the others stay lazy)."""
        reg = self.handle(h)
        m = self.ref.get(name)
        if m is None:
            try:
                reg.get_registered_model(name)
            except ResourceDoesNotExist:
                return
            raise AssertionError(f"handle {h} sees model {name!r}, which the reference does not have")
        rm = reg.get_registered_model(name)
        assert (rm.name, rm.description, rm.tags, rm.aliases) == (name, m.description, m.tags, m.aliases)
        got = {v.version: (v.current_stage.value, v.tags, v.description) for v in reg.list_model_versions(name)}
        assert got == {n: (v.stage, v.tags, v.description) for n, v in m.versions.items()}
        for alias, number in m.aliases.items():
            assert reg.get_model_version_by_alias(name, alias).version == number
        found = reg.search_model_versions(f"name = '{name}'")
        assert sorted(v.version for v in found) == sorted(m.versions)

    @rule(h=handles, key=keys, value=values, alias=aliases, stage=stages)
    def search_by_index(self, h: int, key: str, value: str, alias: str, stage: str) -> None:
        """Searches the indexes answer (on a lazily loaded handle: from its checkpoint's index) equal the
        reference's answers."""
        reg = self.handle(h)

        def found(text: str) -> list[tuple[str, int]]:
            return sorted((v.name, v.version) for v in reg.search_model_versions(text, max_results=1000))

        def expected(test: Any) -> list[tuple[str, int]]:
            return sorted((name, n) for name, m in self.ref.items() for n, v in m.versions.items() if test(m, n, v))

        assert found(f"tags.{key} = '{value}'") == expected(lambda m, n, v: v.tags.get(key) == value)
        assert found(f"alias = '{alias}'") == expected(lambda m, n, v: m.aliases.get(alias) == n)
        assert found(f"current_stage = '{stage}'") == expected(lambda m, n, v: v.stage == stage)
        models = sorted(rm.name for rm in reg.search_registered_models(f"tags.{key} = '{value}'"))
        assert models == sorted(name for name, m in self.ref.items() if m.tags.get(key) == value)
        with_alias = sorted(rm.name for rm in reg.search_registered_models(f"alias = '{alias}'"))
        assert with_alias == sorted(name for name, m in self.ref.items() if alias in m.aliases)

    @rule(h=handles)
    def read_everything(self, h: int) -> None:
        assert picture_of(self.handle(h)) == self.reference_picture()

    # -- handles --------------------------------------------------------------------------------------------------

    @rule(h=handles)
    def close_handle(self, h: int) -> None:
        """close() checkpoints; the handle is reopened from that checkpoint when next used."""
        if self.handles[h] is not None:
            self.handles[h].close()  # type: ignore[union-attr]
            self.handles[h] = None

    @rule(h=handles)
    def reopen_handle(self, h: int) -> None:
        """Drop the handle without closing it (as a killed process) and open a new one now."""
        self.handles[h] = self._open(h)

    @rule(h=handles)
    def force_checkpoint(self, h: int) -> None:
        store = self.handle(h)._store  # type: ignore[attr-defined]
        with store._guard, store._process_lock():
            store._catch_up(writing=True)
            store.checkpoint()

    @rule(h=handles)
    def crash_during_checkpoint(self, h: int) -> None:
        """A checkpoint that writes the model documents and dies before view.json (then the process is gone)."""
        store = self.handle(h)._store  # type: ignore[attr-defined]
        real = files_module.atomic_write_json

        def crash_on_view(path: str, value: object, *, durable: bool = True) -> None:
            if os.path.basename(path) == "view.json":
                raise KeyboardInterrupt("killed")
            real(path, value, durable=durable)

        with mock.patch("registry.store.folder.atomic_write_json", crash_on_view):
            try:
                with store._guard, store._process_lock():
                    store._catch_up(writing=True)
                    store.checkpoint()
            except KeyboardInterrupt:
                pass
        self.handles[h] = None

    @rule(h=handles, fix=st.booleans())
    def check(self, h: int, fix: bool) -> None:
        report = self.handle(h).check(fix=fix)
        assert report.ok, report.problems
        assert report.rebuilt == fix

    # -- a replica ------------------------------------------------------------------------------------------------

    def replica(self, r: int) -> Registry:
        reg = self.replicas[r]
        if reg is None:
            reg = self.replicas[r] = Registry(self.replica_uri, durable=False)
        return reg

    @rule(r=st.integers(0, 1), close=then_close)
    def sync_replica(self, r: int, close: bool) -> None:
        """The replica syncs from the folder (opened read-only): afterwards it holds what the reference holds,
        through either of its handles and by a full replay of its own journal."""
        replica = self.replica(r)
        replica.sync_from(self.uri)
        # the reference's dicts move on (a deep copy); transition requests and comments come along
        self.replica_picture = copy.deepcopy(self.reference_picture())
        assert picture_of(replica) == self.replica_picture
        assert picture_of(self.replica(1 - r)) == self.replica_picture
        assert replica.stage_policy == POLICY  # the source's policy came along
        assert picture_of_state(self.replica_replay()) == self.replica_picture
        assert replica.sync_from(self.uri).up_to_date  # nothing moved since
        if close:
            replica.close()
            self.replicas[r] = None

    def replica_replay(self) -> RegistryState:
        """The fold of the replica's whole journal, no cache used."""
        records, _end, torn = Journal(os.path.join(self.replica_uri, "journal", "journal.log")).read(0)
        assert not torn
        state = RegistryState(os.path.join(self.replica_uri, "models"))
        for record in records:
            state.apply(Event.from_dict(record))
        return state

    @rule(r=st.integers(0, 1), name=names)
    def write_to_replica(self, r: int, name: str) -> None:
        """Once synced, a replica refuses ordinary writes through any handle, whatever they are."""
        if self.replica_picture is None:
            return
        try:
            self.replica(r).create_registered_model(name + "-local")
        except ReplicaReadOnly:
            pass
        else:
            raise AssertionError("a replica accepted an ordinary write")

    # -- invariants -----------------------------------------------------------------------------------------------

    @invariant()
    def the_replica_holds_its_last_sync(self) -> None:
        if self.replica_picture is not None:
            assert picture_of(Registry(self.replica_uri, read_only=True)) == self.replica_picture

    def reference_picture(self) -> dict[str, Any]:
        out = {}
        for name, m in self.ref.items():
            vs = {
                n: (v.stage, v.tags, v.description, sorted(a for a, t in m.aliases.items() if t == n), name)
                for n, v in m.versions.items()
            }
            requests = sorted(
                (i, r.version, r.stage, r.user, r.status) for i, r in m.requests.items() if r.version in m.versions
            )
            comments = sorted(m.comments, key=lambda c: c[0])
            out[name] = (m.description, m.tags, m.aliases, vs, requests, comments)
        return out

    @invariant()
    def each_handle_is_at_a_prefix(self) -> None:
        """Without catching up or loading anything: the handle's names are the reference's at its position."""
        for reg in self.handles:
            if reg is None:
                continue
            state = reg._store._state  # type: ignore[attr-defined]
            assert sorted(state.names()) == self.names_at[state.seq]
            assert len(state.ids_by_name) == len(state.models)
            for name, model_id in state.ids_by_name.items():
                assert state.models.raw(model_id).name == name

    @invariant()
    def a_fresh_handle_agrees(self) -> None:
        assert picture_of(Registry(self.uri, read_only=True)) == self.reference_picture()

    @invariant()
    def a_full_replay_agrees(self) -> None:
        records, _end, torn = Journal(os.path.join(self.uri, "journal", "journal.log")).read(0)
        assert not torn
        state = RegistryState(os.path.join(self.uri, "models"))
        for record in records:
            state.apply(Event.from_dict(record))
        assert state.seq == self.seq
        assert picture_of_state(state) == self.reference_picture()


settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("REGISTRY_MACHINE_EXAMPLES", "80")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=3000, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

MultiHandleRegistry = MultiHandleMachine.TestCase
MultiHandleRegistry.settings = settings.get_profile("long" if os.environ.get("REGISTRY_LONG") else "ci")
