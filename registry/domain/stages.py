"""Model version stages and the stage state machine, kept as data.

A `StagePolicy` is a table from each stage to the stages it may move to, plus optional guards (a
guard names a target stage and a tag the version must carry to enter it). Two policies are built in:

``lifecycle`` (chosen explicitly: ``policy="lifecycle"`` or ``set_stage_policy``)::

    None       -> Staging | Archived
    Staging    -> Production | Archived
    Production -> Staging | Archived          (Staging is the rollback path)
    Archived   -> Staging | Production        (restore)

``mlflow`` (what every registry is created with unless one is chosen): any stage may move to any other, as in
MLflow.

A move to the stage a version is already in is always allowed (it is how MLflow users re-archive siblings
with ``archive_existing_versions``), but guards still apply to it.

A policy can also require an approved transition request to enter a stage (``require_approval``, typically
Production), and that the approver be someone other than the requester (``distinct_approver``): a direct move
into such a stage raises `ApprovalRequired`, and only ``approve_transition_request``
(or a ``rollback_stage`` to a version that held the stage before) puts a version there.

The policy is stored in the registry folder, so every process that opens it enforces the same one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import yaml

from registry.errors import ApprovalRequired, IllegalStageTransition, InvalidParameterValue

__all__ = ["LIFECYCLE", "MLFLOW", "Stage", "StageGuard", "StagePolicy", "policy_named"]


class Stage(enum.StrEnum):
    """The four stages of MLflow's registry. Values are MLflow's spellings."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str | Stage) -> Stage:
        """Canonicalize a stage name case-insensitively (``'pROduction'`` -> ``Stage.PRODUCTION``).

        Raises:
            InvalidParameterValue: for anything that is not one of the four stages.
        """
        if isinstance(value, Stage):
            return value
        if isinstance(value, str):
            found = _BY_LOWER.get(value.strip().lower())
            if found is not None:
                return found
        allowed = ", ".join(repr(s.value) for s in cls)
        raise InvalidParameterValue(
            f"Invalid Model Version stage: {value!r}. Value must be one of {allowed} (case-insensitive).",
            stage=value,
        )


_BY_LOWER = {s.value.lower(): s for s in Stage}


def _represent_stage(dumper: yaml.BaseDumper, stage: Stage) -> yaml.Node:
    return dumper.represent_str(stage.value)  # type: ignore[attr-defined]


# MLflow's current_stage is a plain str, so yaml.safe_dump of a version's fields (or of attrs.asdict(mv)) works in
# MLflow code; a str subclass would otherwise be refused by the safe dumper (json already writes it as a string).
for _dumper in (yaml.SafeDumper, yaml.Dumper, getattr(yaml, "CSafeDumper", None), getattr(yaml, "CDumper", None)):
    if _dumper is not None:
        _dumper.add_representer(Stage, _represent_stage)


def _stage(value: str | Stage) -> Stage:
    return Stage.parse(value)


@attrs.frozen
class StageGuard:
    """A condition for entering ``stage``: the version must carry tag ``tag`` with value ``value``."""

    stage: Stage = attrs.field(converter=_stage)
    tag: str
    value: str

    def refuses(self, tags: Mapping[str, str]) -> bool:
        return tags.get(self.tag) != self.value

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage.value, "tag": self.tag, "value": self.value}


def _guards(value: Iterable[StageGuard]) -> tuple[StageGuard, ...]:
    return tuple(value)


def _stage_set(value: Iterable[Any]) -> frozenset[Stage]:
    if isinstance(value, str | Stage):
        value = [value]
    return frozenset(Stage.parse(s) for s in value)


def _transition_table(value: Mapping[Any, Iterable[Any]]) -> dict[Stage, frozenset[Stage]]:
    table = {Stage.parse(src): frozenset(Stage.parse(dst) for dst in dsts) for src, dsts in value.items()}
    for stage in Stage:
        table.setdefault(stage, frozenset())
    return table


@attrs.frozen
class StagePolicy:
    """Which stage moves are allowed, and which guards apply.

    Attributes:
        name: a label stored with the registry (``lifecycle``, ``mlflow`` or your own).
        transitions: maps each stage to the stages it may move to (names or `Stage`).
        guards: conditions for entering a stage.
        require_approval: stages a version enters only through an approved transition request.
        distinct_approver: the approver of a request must not be its requester.
    """

    name: str
    transitions: dict[Stage, frozenset[Stage]] = attrs.field(converter=_transition_table)
    guards: tuple[StageGuard, ...] = attrs.field(default=(), converter=_guards)
    require_approval: frozenset[Stage] = attrs.field(default=frozenset(), converter=_stage_set)
    distinct_approver: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def check_direct(self, target: Stage, *, name: str, version: int, current: Stage) -> None:
        """Raise `ApprovalRequired` if entering ``target`` needs an approved request."""
        if target in self.require_approval and target != current:
            raise ApprovalRequired(
                f"Cannot move version {version} of model '{name}' to '{target.value}' directly: the "
                f"'{self.name}' stage policy requires an approved transition request. A request must be "
                f"approved: create_transition_request(name, version, '{target.value}') (or `registry requests "
                "create`), then have it approved with approve_transition_request"
                + (" by someone other than the requester." if self.distinct_approver else "."),
                name=name,
                version=version,
                from_stage=current.value,
                to_stage=target.value,
            )

    def allowed_targets(self, current: Stage) -> list[Stage]:
        """The stages a version in ``current`` may move to, in the enum's order."""
        return [s for s in Stage if s in self.transitions[current]]

    def check(self, current: Stage, target: Stage, tags: Mapping[str, str], *, name: str, version: int) -> None:
        """Raise `IllegalStageTransition` unless a version in ``current`` may enter ``target``."""
        if target != current and target not in self.transitions[current]:
            targets = ", ".join(s.value for s in self.allowed_targets(current)) or "nothing"
            raise IllegalStageTransition(
                f"Cannot move version {version} of model '{name}' from stage '{current.value}' to "
                f"'{target.value}' under the '{self.name}' stage policy; from '{current.value}' it may move "
                f"to: {targets}. To allow every move, as MLflow does, switch the registry to the 'mlflow' "
                "policy: set_stage_policy('mlflow') in Python, `registry policy set mlflow` in a shell.",
                name=name,
                version=version,
                from_stage=current.value,
                to_stage=target.value,
            )
        for guard in self.guards:
            if guard.stage == target and guard.refuses(tags):
                raise IllegalStageTransition(
                    f"Cannot move version {version} of model '{name}' to '{target.value}': the "
                    f"'{self.name}' stage policy requires tag {guard.tag}={guard.value!r} first "
                    f"(set it with set_model_version_tag).",
                    name=name,
                    version=version,
                    from_stage=current.value,
                    to_stage=target.value,
                )

    def with_guard(self, stage: str | Stage, tag: str, value: str) -> StagePolicy:
        """A copy of this policy that also requires ``tag=value`` to enter ``stage``."""
        return attrs.evolve(self, guards=(*self.guards, StageGuard(stage, tag, value)))

    def with_approval(self, stage: str | Stage = Stage.PRODUCTION, *, distinct_approver: bool = True) -> StagePolicy:
        """A copy of this policy that lets versions into ``stage`` only through an approved transition request
        (approved by someone other than the requester, unless ``distinct_approver=False``)."""
        if not isinstance(distinct_approver, bool):
            raise InvalidParameterValue(f"distinct_approver must be True or False, got {distinct_approver!r}.")
        return attrs.evolve(
            self, require_approval=self.require_approval | {Stage.parse(stage)}, distinct_approver=distinct_approver
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "transitions": {
                src.value: [dst.value for dst in Stage if dst in dsts] for src, dsts in self.transitions.items()
            },
            "guards": [g.to_dict() for g in self.guards],
            "require_approval": [s.value for s in Stage if s in self.require_approval],
            "distinct_approver": self.distinct_approver,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StagePolicy:
        try:
            return cls(
                name=str(data["name"]),
                transitions=data["transitions"],
                guards=tuple(StageGuard(**g) for g in data.get("guards", ())),
                require_approval=data.get("require_approval") or (),
                distinct_approver=data.get("distinct_approver", False),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidParameterValue(f"Malformed stage policy {dict(data)!r}: {exc}") from None


LIFECYCLE = StagePolicy(
    "lifecycle",
    {
        Stage.NONE: {Stage.STAGING, Stage.ARCHIVED},
        Stage.STAGING: {Stage.PRODUCTION, Stage.ARCHIVED},
        Stage.PRODUCTION: {Stage.STAGING, Stage.ARCHIVED},
        Stage.ARCHIVED: {Stage.STAGING, Stage.PRODUCTION},
    },
)
MLFLOW = StagePolicy("mlflow", {src: set(Stage) for src in Stage})

_BUILT_IN = {LIFECYCLE.name: LIFECYCLE, MLFLOW.name: MLFLOW}


def policy_named(policy: str | StagePolicy) -> StagePolicy:
    """Return a built-in policy by name (``lifecycle`` or ``mlflow``), or ``policy`` itself."""
    if isinstance(policy, StagePolicy):
        return policy
    try:
        return _BUILT_IN[policy]
    except (KeyError, TypeError):
        raise InvalidParameterValue(
            f"Unknown stage policy {policy!r}: use 'lifecycle', 'mlflow' or a StagePolicy instance."
        ) from None
