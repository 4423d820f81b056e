"""Random sequences of registry operations against a plain-dict reference model (hypothesis).

Invariants checked after every step: version numbers are unique and never reused; aliases point at live
versions; deleted versions are invisible; the lifecycle policy is respected; after a promotion with
``archive_existing_versions`` the target stage holds exactly that version. On the folder backend a second
registry opened on the same folder (as another process would) must agree with the first at every step.
"""

from __future__ import annotations

import shutil
import tempfile

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from strategies import alias_names, model_names, stages, tag_keys, tag_values

from registry import (
    IllegalStageTransition,
    ImportConflict,
    ImportedModel,
    ImportedVersion,
    Registry,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.domain.stages import LIFECYCLE, Stage

LIFECYCLE_MOVES = {src.value: {dst.value for dst in dsts} for src, dsts in LIFECYCLE.transitions.items()}


class RegistryMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="registry-sm-") if self.backend == "folder" else None
        self.uri = self.folder + "/r" if self.folder else "memory://"
        self.reg = Registry(self.uri, policy="lifecycle", durable=False)
        # reference: name -> {"next": int, "versions": {n: stage}, "aliases": {alias: n}, "tags": {}}
        self.ref: dict[str, dict] = {}
        self.issued: dict[str, set[int]] = {}  # every number ever issued to the current incarnation of a name
        self.files = tempfile.mkdtemp(prefix="registry-sm-files-")
        with open(self.files + "/MLmodel", "w") as f:
            f.write("flavors: {}\n")

    def teardown(self) -> None:
        self.reg.close()
        shutil.rmtree(self.files, ignore_errors=True)
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers --------------------------------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return sorted(self.ref)

    def _pick_version(self, data: st.DataObject) -> tuple[str, int] | None:
        candidates = [(n, v) for n in self._names() for v in sorted(self.ref[n]["versions"])]
        return data.draw(st.sampled_from(candidates)) if candidates else None

    # -- rules ----------------------------------------------------------------------------------------------------

    @rule(name=model_names)
    def create_model(self, name: str) -> None:
        if name in self.ref:
            return
        self.reg.create_registered_model(name)
        self.ref[name] = {"next": 1, "versions": {}, "aliases": {}, "tags": {}}
        self.issued[name] = set()

    @precondition(lambda self: self.ref)
    @rule(data=st.data())
    def delete_model(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self._names()))
        self.reg.delete_registered_model(name)
        del self.ref[name]

    @precondition(lambda self: self.ref)
    @rule(data=st.data(), new_name=model_names)
    def rename_model(self, data: st.DataObject, new_name: str) -> None:
        name = data.draw(st.sampled_from(self._names()))
        if new_name in self.ref and new_name != name:
            return
        self.reg.rename_registered_model(name, new_name)
        self.ref[new_name] = self.ref.pop(name)
        self.issued[new_name] = self.issued.pop(name)

    @precondition(lambda self: self.ref)
    @rule(data=st.data())
    def create_version(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self._names()))
        mv = self.reg.create_model_version(name, source="s3://bucket/model")
        model = self.ref[name]
        assert mv.version == model["next"]
        assert mv.version not in self.issued[name]
        self.issued[name].add(mv.version)
        model["versions"][mv.version] = "None"
        model["next"] += 1

    @precondition(lambda self: self.ref)
    @rule(data=st.data(), offset=st.integers(-2, 3))
    def create_version_with_number(self, data: st.DataObject, offset: int) -> None:
        """A chosen number (as imports need): taken only if never allocated; the counter moves past it."""
        name = data.draw(st.sampled_from(self._names()))
        model = self.ref[name]
        number = model["next"] + offset
        if number < 1:
            return
        try:
            mv = self.reg.create_model_version_from_files(name, self.files, version=number)
        except ResourceAlreadyExists:
            assert offset < 0, "a number never allocated must be accepted"
            return
        assert offset >= 0 and mv.version == number and number not in self.issued[name]
        self.issued[name].add(number)
        model["versions"][number] = "None"
        model["next"] = number + 1

    @rule(data=st.data(), name=model_names, offset=st.integers(0, 2), stage=stages, alias=alias_names)
    def import_model(self, data: st.DataObject, name: str, offset: int, stage: str, alias: str) -> None:
        """One imported version (kept number, stage, alias) into a new or existing model, in one record."""
        model = self.ref.get(name)
        number = (model["next"] if model else 1) + offset
        imported = ImportedModel(
            name,
            aliases={alias: number},
            versions=[ImportedVersion(number, source="s3://bucket/imported", stage=stage)],
        )
        try:
            self.reg.import_models([imported])
        except ImportConflict:
            assert model is not None and alias in model["aliases"], "only the alias can conflict here"
            return
        if model is None:
            model = self.ref[name] = {"next": 1, "versions": {}, "aliases": {}, "tags": {}}
            self.issued[name] = set()
        assert number not in self.issued[name]
        self.issued[name].add(number)
        model["versions"][number] = Stage.parse(stage).value
        model["aliases"][alias] = number
        model["next"] = number + 1

    @rule(data=st.data())
    def delete_version(self, data: st.DataObject) -> None:
        picked = self._pick_version(data)
        if picked is None:
            return
        name, version = picked
        self.reg.delete_model_version(name, version)
        model = self.ref[name]
        del model["versions"][version]
        model["aliases"] = {a: v for a, v in model["aliases"].items() if v != version}

    @rule(data=st.data(), stage=stages, archive=st.booleans())
    def transition(self, data: st.DataObject, stage: str, archive: bool) -> None:
        picked = self._pick_version(data)
        if picked is None:
            return
        name, version = picked
        model = self.ref[name]
        current = model["versions"][version]
        target = Stage.parse(stage).value
        if archive and target not in ("Staging", "Production"):
            return
        allowed = target == current or target in LIFECYCLE_MOVES[current]
        if archive:
            others = [v for v, s in model["versions"].items() if s == target and v != version]
            allowed = allowed and all("Archived" in LIFECYCLE_MOVES[target] for _ in others)
        try:
            self.reg.transition_model_version_stage(name, version, stage, archive_existing_versions=archive)
        except IllegalStageTransition:
            assert not allowed, f"{current} -> {target} should be allowed"
            return
        assert allowed, f"{current} -> {target} should have been refused"
        if archive:
            for v, s in list(model["versions"].items()):
                if s == target and v != version:
                    model["versions"][v] = "Archived"
        model["versions"][version] = target
        if archive:
            in_target = [mv.version for mv in self.reg.list_model_versions(name) if mv.current_stage == target]
            assert in_target == [version]

    @rule(data=st.data(), alias=alias_names)
    def set_alias(self, data: st.DataObject, alias: str) -> None:
        picked = self._pick_version(data)
        if picked is None:
            return
        name, version = picked
        self.reg.set_registered_model_alias(name, alias, version)
        self.ref[name]["aliases"][alias] = version

    @precondition(lambda self: any(m["aliases"] for m in self.ref.values()))
    @rule(data=st.data())
    def delete_alias(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from([n for n in self._names() if self.ref[n]["aliases"]]))
        alias = data.draw(st.sampled_from(sorted(self.ref[name]["aliases"])))
        self.reg.delete_registered_model_alias(name, alias)
        del self.ref[name]["aliases"][alias]

    @rule(data=st.data(), key=tag_keys, value=tag_values)
    def set_version_tag(self, data: st.DataObject, key: str, value: str) -> None:
        picked = self._pick_version(data)
        if picked is None:
            return
        self.reg.set_model_version_tag(picked[0], picked[1], key, value)

    @precondition(lambda self: self.folder is not None)
    @rule()
    def reopen(self) -> None:
        """Close (which checkpoints) and open again: documents plus journal tail must give the same state."""
        self.reg.close()
        self.reg = Registry(self.uri, policy="lifecycle", durable=False)

    # -- invariants -------------------------------------------------------------------------------------------------

    @invariant()
    def matches_reference(self) -> None:
        assert sorted(m.name for m in self.reg.list_registered_models()) == self._names()
        for name, model in self.ref.items():
            versions = self.reg.list_model_versions(name)
            assert {mv.version: mv.current_stage.value for mv in versions} == model["versions"]
            rm = self.reg.get_registered_model(name)
            assert rm.aliases == model["aliases"]
            for alias, version in model["aliases"].items():
                assert version in model["versions"]
                assert alias in self.reg.get_model_version(name, version).aliases
            for mv in versions:
                assert sorted(mv.aliases) == sorted(a for a, v in model["aliases"].items() if v == mv.version)
            for number in self.issued[name] - set(model["versions"]):
                try:
                    self.reg.get_model_version(name, number)
                except ResourceDoesNotExist:
                    pass
                else:
                    raise AssertionError(f"deleted version {name}/{number} is still visible")

    @invariant()
    def another_process_agrees(self) -> None:
        if self.folder is None:
            return
        other = Registry(self.uri, policy="lifecycle", durable=False)
        try:
            assert other.list_registered_models() == self.reg.list_registered_models()
            for name in self.ref:
                assert other.list_model_versions(name) == self.reg.list_model_versions(name)
        finally:
            pass  # not closed: closing would checkpoint, and the checkpoint is exercised by `reopen`


MemoryRegistryMachine = RegistryMachine.TestCase
MemoryRegistryMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


class FolderMachine(RegistryMachine):
    backend = "folder"


FolderRegistryMachine = FolderMachine.TestCase
FolderRegistryMachine.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
