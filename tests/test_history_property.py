"""Issue 16's property: for random sequences of operations (versions, moves, requests, approvals, rejections,
comments, deletes, renames, aliases and stage rollbacks by several users), the model's history equals the list
of changes a plain reference recorded (type, actor, version), and ``state_at(t)`` at each change's time equals
the reference's state just after that change."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import hypothesis.strategies as st
from conftest import TickingClock
from hypothesis import HealthCheck, given, settings

from registry import MLFLOW, Registry, RegistryError
from registry.domain.state import RegistryState

USERS = ["ann", "ben", "cat"]
STAGES = ["Staging", "Production", "Archived"]
users = st.sampled_from(USERS)
numbers = st.integers(1, 3)
stages = st.sampled_from(STAGES)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), users),
        st.tuples(st.just("create"), users),  # twice: most other steps need versions
        st.tuples(st.just("move"), users, numbers, stages),
        st.tuples(st.just("request"), users, numbers, stages),
        st.tuples(st.just("approve"), users, numbers, stages),
        st.tuples(st.just("reject"), users, numbers, stages),
        st.tuples(st.just("comment"), users, numbers),
        st.tuples(st.just("delete"), users, numbers),
        st.tuples(st.just("rename"), users),
        st.tuples(st.just("alias"), users, numbers),
        st.tuples(st.just("rollback"), users),
    ),
    max_size=40,
)


@attrs.define
class Ref:
    name: str = "m"
    next: int = 1
    stages: dict[int, str] = attrs.field(factory=dict)
    aliases: dict[str, int] = attrs.field(factory=dict)
    pending: list[tuple[int, str, str]] = attrs.field(factory=list)  # (version, stage, user)
    production: list[int] = attrs.field(factory=list)

    def move(self, moves: dict[int, str | None]) -> None:
        self.pending = [p for p in self.pending if p[0] not in moves]  # closed by the move or delete
        for number, stage in moves.items():
            if stage == "Production" and self.stages.get(number) != "Production":
                self.production.append(number)
            if stage is None:
                del self.stages[number]
                self.aliases = {a: v for a, v in self.aliases.items() if v != number}
            else:
                self.stages[number] = stage

    def picture(self) -> tuple[Any, ...]:
        return (self.name, dict(self.stages), dict(self.aliases), sorted(self.pending))

    def step(self, op: tuple[Any, ...]) -> tuple[str, int | None] | None:
        """Apply ``op`` if the registry would accept it; the change's (event type, version), or None."""
        kind, user, *args = op
        if kind == "create":
            number, self.next = self.next, self.next + 1
            self.stages[number] = "None"
            return "model_version.created", number
        if kind == "rename":
            self.name = "m2" if self.name == "m" else "m"
            return "registered_model.renamed", None
        if kind == "rollback":
            holding = [n for n, s in self.stages.items() if s == "Production"]
            before = [n for n in self.production if holding and n != max(holding)]
            if not before or before[-1] not in self.stages:
                return None
            target = before[-1]
            self.move({**{n: "Archived" for n in holding if n != target}, target: "Production"})
            return "model_version.stage_transitioned", target
        number = args[0]
        if number not in self.stages:
            return None
        if kind == "comment":
            return "model_version_comment.created", number
        if kind == "delete":
            self.move({number: None})
            return "model_version.deleted", number
        if kind == "alias":
            if self.aliases.get("champion") == number:
                return "noop", None  # accepted, and nothing to record
            self.aliases["champion"] = number
            return "model_version_alias.created", number
        stage = args[1]
        mine = [p for p in self.pending if p[:2] == (number, stage)]
        if kind == "move":
            if stage == "Production" and self.stages[number] != "Production":
                return None  # approval required
            self.move({number: stage})
            return "model_version.stage_transitioned", number
        if kind == "request":
            if self.stages[number] == stage or (number, stage, user) in self.pending:
                return None
            self.pending.append((number, stage, user))
            return "transition_request.created", number
        if not mine:
            return None
        if kind == "reject":
            self.pending = [p for p in self.pending if p[:2] != (number, stage)]
            return "transition_request.rejected", number
        if all(p[2] == user for p in mine):
            return None  # approved by the requester alone
        self.pending = [p for p in self.pending if p[:2] != (number, stage)]
        self.move({number: stage})
        return "transition_request.approved", number


def call(clients: dict[str, Registry], ref: Ref, op: tuple[Any, ...]) -> None:
    kind, user, *args = op
    reg, name = clients[user], ref.name
    if kind == "create":
        reg.create_model_version(name, "s3://bucket/m")
    elif kind == "rename":
        reg.rename_registered_model(name, "m2" if name == "m" else "m")
    elif kind == "rollback":
        reg.rollback_stage(name, "Production")
    elif kind == "comment":
        reg.create_comment(name, args[0], "noted")
    elif kind == "delete":
        reg.delete_model_version(name, args[0])
    elif kind == "alias":
        reg.set_registered_model_alias(name, "champion", args[0])
    elif kind == "move":
        reg.transition_model_version_stage(name, args[0], args[1])
    elif kind == "request":
        reg.create_transition_request(name, args[0], args[1])
    elif kind == "reject":
        reg.reject_transition_request(name, args[0], args[1])
    else:
        reg.approve_transition_request(name, args[0], args[1])


def picture_at(state: RegistryState, name: str) -> tuple[Any, ...]:
    model = state.model(name)
    stages = {v.version: v.current_stage.value for v in state.model_versions(name)}
    pending = sorted((r.version, r.to_stage.value, r.user_id) for r in model.governance.requests.values() if r.pending)
    return (name, stages, dict(model.aliases), pending)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_history_and_state_at_equal_the_reference(ops: list[tuple[Any, ...]]) -> None:
    uri = f"memory://history-{uuid.uuid4().hex}"  # named stores outlive their clients: a fresh one each example
    clock = TickingClock()
    policy = MLFLOW.with_approval("Production")
    clients = {u: Registry(uri, clock=clock, user=u, policy=policy if u == "ann" else None) for u in USERS}
    try:
        clients["ann"].create_registered_model("m")
        ref = Ref()
        expected: list[tuple[str, str, int | None]] = [("registered_model.created", "ann", None)]
        pictures = [ref.picture()]
        for op in ops:
            change = ref.step(op)
            if change is None:
                try:
                    call(clients, ref, op)
                except RegistryError:
                    continue
                raise AssertionError(f"{op} was accepted; the reference refuses it")
            call(clients, ref if op[0] != "rename" else attrs.evolve(ref, name="m2" if ref.name == "m" else "m"), op)
            if change[0] == "noop":
                continue
            expected.append((change[0], op[1], change[1]))
            pictures.append(ref.picture())
        history = clients["cat"].history(ref.name)
        assert [(e.type, e.actor, e.data.get("version")) for e in history] == expected
        for event, picture in zip(history, pictures, strict=True):
            assert picture_at(clients["ben"].state_at(event.timestamp), picture[0]) == picture
        assert clients["ann"].verify_history().ok
    finally:
        for reg in clients.values():
            reg.close()
