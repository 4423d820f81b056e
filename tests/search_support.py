"""A tiny registry state for the search tests, with the five read methods search uses, that records reads.

It lets the search tests run without the store, and lets them prove what a search did *not* read: a filter
on ``name = 'x'`` must never call ``all_model_versions()`` nor read another model's versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.stages import Stage
from registry.errors import ResourceDoesNotExist


class FakeState:
    """Registered models and their versions, held in plain dicts; ``seq`` moves on every change."""

    def __init__(self, models: Iterable[RegisteredModel] = (), versions: Iterable[ModelVersion] = ()) -> None:
        self.models: dict[str, RegisteredModel] = {m.name: m for m in models}
        self.versions: dict[str, dict[int, ModelVersion]] = {name: {} for name in self.models}
        for mv in versions:
            self.versions.setdefault(mv.name, {})[mv.version] = mv
            if mv.name not in self.models:
                self.models[mv.name] = RegisteredModel(mv.name, 0, 0)
        self.seq = 1
        self.reads: list[tuple[str, str | None]] = []

    # -- the read API search uses ----------------------------------------------------------------------------

    def names(self) -> list[str]:
        self.reads.append(("names", None))
        return list(self.models)

    def has_model(self, name: str) -> bool:
        return name in self.models

    def registered_model(self, name: str) -> RegisteredModel:
        self.reads.append(("registered_model", name))
        try:
            return self.models[name]
        except KeyError:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found") from None

    def model_versions(self, name: str) -> list[ModelVersion]:
        self.reads.append(("model_versions", name))
        if name not in self.models:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return [self.versions[name][n] for n in sorted(self.versions[name])]

    def all_model_versions(self) -> Iterator[ModelVersion]:
        self.reads.append(("all_model_versions", None))
        for per_model in self.versions.values():
            yield from per_model.values()

    # -- changes (each moves seq, as applying an event does) -------------------------------------------------

    def put_version(self, mv: ModelVersion) -> None:
        self.versions.setdefault(mv.name, {})[mv.version] = mv
        self.seq += 1

    def drop_version(self, name: str, version: int) -> None:
        del self.versions[name][version]
        self.seq += 1


def mv(
    name: str,
    version: int,
    *,
    created: int = 0,
    updated: int | None = None,
    tags: dict[str, str] | None = None,
    run_id: str | None = None,
    source: str | None = None,
    stage: Stage = Stage.NONE,
    description: str | None = None,
    aliases: Iterable[str] = (),
) -> ModelVersion:
    """A model version with just the fields a test cares about."""
    return ModelVersion(
        name=name,
        version=version,
        creation_timestamp=created,
        last_updated_timestamp=created if updated is None else updated,
        tags=tags or {},
        run_id=run_id,
        source=source,
        current_stage=stage,
        description=description,
        aliases=list(aliases),
    )


def rm(
    name: str,
    *,
    created: int = 0,
    updated: int | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    aliases: dict[str, int] | None = None,
) -> RegisteredModel:
    """A registered model with just the fields a test cares about."""
    return RegisteredModel(
        name=name,
        creation_timestamp=created,
        last_updated_timestamp=created if updated is None else updated,
        tags=tags or {},
        description=description,
        aliases=aliases or {},
    )
