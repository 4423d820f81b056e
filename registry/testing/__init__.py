"""Helpers for testing code that uses a registry: a frozen clock, reproducible ids, one-call seeding and
event capture. The pytest fixtures in `registry.testing.plugin` are built from these; they work without
pytest too.

>>> from registry import Registry
>>> from registry.testing import FrozenClock, capture_events, seed
>>> clock = FrozenClock(1_000)
>>> reg = Registry("memory://", clock=clock)
>>> _ = seed(reg, {"fraud": {"versions": [{"stage": "Staging", "aliases": ["challenger"]}]}})
>>> reg.get_model_version_by_alias("fraud", "challenger").creation_timestamp
1000
>>> clock.advance(5)
1005
>>> with capture_events(reg) as events:
...     reg.set_registered_model_tag("fraud", "team", "risk")
>>> events.types
['registered_model_tag.set']
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from registry.domain.entities import ModelVersion
from registry.domain.stages import Stage, StagePolicy
from registry.domain.state import Event
from registry.errors import InvalidParameterValue

if TYPE_CHECKING:
    from registry.client import Registry

__all__ = [
    "DEFAULT_START",
    "CapturedEvents",
    "FrozenClock",
    "capture_events",
    "seed",
    "sequential_ids",
    "stage_path",
    "use_registry",
]

DEFAULT_START = 1_700_000_000_000
"""The frozen clock's default reading: 2023-11-14T22:13:20Z, in milliseconds."""


class FrozenClock:
    """A clock for ``Registry(clock=...)`` that only moves when told to, so timestamps in assertions are exact.

    Args:
        start: the first reading, in integer milliseconds since the epoch.
        step: added after every reading (``0``, the default, keeps the clock still; ``1`` gives each commit a
            distinct time, which makes ordering by timestamp deterministic).

    Raises:
        InvalidParameterValue: a non-integer or negative ``start`` or ``step``.
    """

    def __init__(self, start: int = DEFAULT_START, *, step: int = 0) -> None:
        self._now = _millis("start", start)
        self.step = _millis("step", step)

    def __call__(self) -> int:
        now = self._now
        self._now += self.step
        return now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now}, step={self.step})"

    @property
    def now(self) -> int:
        """The next reading, without taking it (so looking does not move a stepping clock)."""
        return self._now

    def advance(self, ms: int = 1) -> int:
        """Move the clock forward by ``ms`` milliseconds; returns the new time."""
        self._now += _millis("ms", ms)
        return self._now

    def set(self, ms: int) -> None:
        """Move the clock to ``ms`` (backwards too: tests of clock skew need it)."""
        self._now = _millis("ms", ms)


def _millis(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterValue(f"FrozenClock {what} must be a non-negative int of milliseconds, got {value!r}.")
    return value


def sequential_ids(prefix: str = "m") -> Callable[[], str]:
    """An id generator for ``Registry(ids=...)`` returning ``m1``, ``m2``, ...: model folders get known names."""
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


# -- the default registry ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def use_registry(reg: Registry) -> Iterator[Registry]:
    """Make ``reg`` the default registry for the block: what ``models:/`` URIs in code under test resolve to.

    Sets ``$REGISTRY_URI`` and `registry.set_registry_uri()` to ``reg.uri`` and makes
    `registry.default_registry()` return ``reg`` itself (so its clock, user and event capture apply to
    what the code under test does), then restores all three. A subprocess sees ``$REGISTRY_URI``; for a
    ``memory://`` registry that names a fresh, empty one, so give subprocesses a folder registry.
    """
    from registry.defaults import registry_as_default

    previous_env = os.environ.get("REGISTRY_URI")
    os.environ["REGISTRY_URI"] = reg.uri
    try:
        with registry_as_default(reg):
            yield reg
    finally:
        if previous_env is None:
            os.environ.pop("REGISTRY_URI", None)
        else:
            os.environ["REGISTRY_URI"] = previous_env


# -- event capture -------------------------------------------------------------------------------------------------


class CapturedEvents(list[Event]):
    """The events committed through a registry during a ``with capture_events(reg)`` block, oldest first."""

    @property
    def types(self) -> list[str]:
        """The event types in order, e.g. ``['model_version.created', 'model_version_alias.created']``."""
        return [event.type for event in self]

    def of_type(self, *types: str) -> list[Event]:
        """The captured events whose type is one of ``types``."""
        return [event for event in self if event.type in types]


@contextlib.contextmanager
def capture_events(
    reg: Registry, events: str | Iterable[str] | None = None, model: str | Iterable[str] | None = None
) -> Iterator[CapturedEvents]:
    """Record the events that changes made through ``reg`` commit while the block runs.

    The events are the typed ones `Registry.subscribe()` delivers (``ModelVersionCreated``, ...: subclasses of
    `Event` with accessors such as ``.version``); ``events`` and ``model`` filter as for
    ``subscribe``. Events arrive after each commit, so the list is complete when the ``with`` block ends. Changes
    made by other processes (or other ``Registry`` objects on the same folder) are not seen: this records what
    the code under test did through this client.
    """
    captured = CapturedEvents()
    subscription = reg.subscribe(captured.append, events=events, model=model)
    try:
        yield captured
    finally:
        subscription.unsubscribe()


# -- seeding -------------------------------------------------------------------------------------------------------

_MODEL_KEYS = frozenset({"description", "tags", "versions", "aliases"})
_VERSION_KEYS = frozenset({"source", "run_id", "run_link", "description", "tags", "stage", "aliases"})


def seed(reg: Registry, spec: Mapping[str, Any]) -> dict[str, list[ModelVersion]]:
    """Create registered models and their versions, stages, aliases and tags from a declarative spec.

    ``spec`` maps each model name to a dict with any of ``description``, ``tags`` (a dict), ``aliases`` (a dict
    of alias -> version number) and ``versions``: a number of plain versions, or a list whose items are dicts
    with any of ``source``, ``run_id``, ``run_link``, ``description``, ``tags``, ``stage`` and ``aliases`` (a
    list), or just a source string. A version without a source gets ``seed:/<name>/<n>``, recorded as given;
    a local folder as source is copied in, as ``create_model_version`` does. Stages are reached through the
    registry's stage policy (``None -> Staging -> Production`` under ``lifecycle``), so guards still apply::

        seed(reg, {
            "fraud": {"tags": {"team": "risk"}, "versions": [
                {"stage": "Archived"},
                {"stage": "Production", "aliases": ["champion"], "tags": {"validated": "true"}},
                {"stage": "Staging"},
            ]},
            "churn": {"versions": 2},
        })

    Models are created in the spec's order and versions in list order, so numbers are predictable.

    Returns:
        Each model name mapped to its versions as they are after seeding, oldest first.

    Raises:
        InvalidParameterValue: a malformed spec (unknown keys are refused so that typos fail loudly), or a
            stage the policy cannot reach.
        RegistryError: whatever the registry refuses (an existing name, a bad tag, ...).
    """
    if not isinstance(spec, Mapping):
        raise InvalidParameterValue(f"A seed spec is a dict of model name -> model spec, got {type(spec).__name__}.")
    plans = {name: _model_plan(name, model_spec) for name, model_spec in spec.items()}
    policy = reg.stage_policy
    result: dict[str, list[ModelVersion]] = {}
    for name, (model_spec, versions) in plans.items():
        reg.create_registered_model(name, tags=model_spec.get("tags"), description=model_spec.get("description"))
        numbers: list[int] = []
        for version_spec in versions:
            mv = reg.create_model_version(
                name,
                version_spec.get("source") or f"seed:/{name}/{len(numbers) + 1}",
                run_id=version_spec.get("run_id"),
                tags=version_spec.get("tags"),
                run_link=version_spec.get("run_link"),
                description=version_spec.get("description"),
            )
            numbers.append(mv.version)
            if "stage" in version_spec:
                for stage in stage_path(policy, mv.current_stage, Stage.parse(version_spec["stage"])):
                    reg.transition_model_version_stage(name, mv.version, stage)
            for alias in version_spec.get("aliases", ()):
                reg.set_registered_model_alias(name, alias, mv.version)
        for alias, number in (model_spec.get("aliases") or {}).items():
            reg.set_registered_model_alias(name, alias, number)
        result[name] = [reg.get_model_version(name, n) for n in numbers]
    return result


def _model_plan(name: Any, model_spec: Any) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """Check one model's spec up front, so a typo fails before anything is written."""
    if model_spec is None:
        model_spec = {}
    if not isinstance(model_spec, Mapping):
        raise InvalidParameterValue(f"Seed spec for model {name!r} must be a dict, got {type(model_spec).__name__}.")
    _refuse_unknown(f"model {name!r}", model_spec, _MODEL_KEYS)
    versions = model_spec.get("versions", ())
    if isinstance(versions, int) and not isinstance(versions, bool):
        items: list[Any] = [{} for _ in range(versions)]
    elif isinstance(versions, Sequence) and not isinstance(versions, str):
        items = list(versions)
    else:
        raise InvalidParameterValue(
            f"Seed spec 'versions' of model {name!r} must be a count or a list, got {versions!r}."
        )
    plan = []
    for index, item in enumerate(items, start=1):
        if isinstance(item, str):
            item = {"source": item}
        if not isinstance(item, Mapping):
            raise InvalidParameterValue(
                f"Seed spec for version {index} of model {name!r} must be a dict or a source string, got {item!r}."
            )
        _refuse_unknown(f"version {index} of model {name!r}", item, _VERSION_KEYS)
        if isinstance(item.get("aliases"), str):
            raise InvalidParameterValue(
                f"Seed spec 'aliases' of version {index} of model {name!r} must be a list, e.g. ['champion']."
            )
        plan.append(item)
    return model_spec, plan


def _refuse_unknown(where: str, given: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidParameterValue(
            f"Unknown key(s) {', '.join(map(repr, unknown))} in the seed spec for {where}; "
            f"known keys: {', '.join(sorted(known))}."
        )


def stage_path(policy: StagePolicy, start: Stage, target: Stage) -> list[Stage]:
    """The shortest sequence of moves the policy allows from ``start`` to ``target`` (empty when equal).

    Raises:
        InvalidParameterValue: the policy offers no way from ``start`` to ``target``.
    """
    previous: dict[Stage, Stage | None] = {start: None}
    queue = deque([start])
    while queue:
        stage = queue.popleft()
        if stage == target:
            path = []
            while previous[stage] is not None:
                path.append(stage)
                stage = previous[stage]  # type: ignore[assignment]
            return path[::-1]
        for nxt in policy.allowed_targets(stage):
            if nxt not in previous:
                previous[nxt] = stage
                queue.append(nxt)
    raise InvalidParameterValue(
        f"The '{policy.name}' stage policy offers no way from stage '{start.value}' to '{target.value}'."
    )
