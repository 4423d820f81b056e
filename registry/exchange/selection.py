"""Which models and versions an export takes: ``NAME``, ``NAME@alias``, ``NAME/<version>``, ``NAME/<Stage>``
(``NAME/latest`` too), read as the ``models:/`` URI they spell and resolved against the registry."""

from __future__ import annotations

from collections.abc import Iterable

from registry.domain.validation import validate_model_name
from registry.errors import InvalidParameterValue
from registry.exchange.arguments import selections_argument
from registry.exchange.protocol import RegistryLike

__all__ = ["select_versions"]


def select_versions(reg: RegistryLike, selections: Iterable[str] | None) -> dict[str, list[int] | None]:
    """Model name -> the selected version numbers (ascending), or ``None`` for the whole model.

    No selections means every model. A model selected whole and by version is taken whole.

    Raises:
        InvalidParameterValue: a malformed selection.
        ResourceDoesNotExist: a model, version, alias or stage that is not there.
    """
    selections = selections_argument(selections)
    if selections is None:
        return {m.name: None for m in reg.list_registered_models()}
    chosen: dict[str, set[int] | None] = {}
    for sel in selections:
        if not isinstance(sel, str) or not sel:
            raise InvalidParameterValue(f"A model selection must be NAME, NAME@alias or NAME/version, got {sel!r}.")
        if "@" not in sel and "/" not in sel:
            reg.get_registered_model(validate_model_name(sel))
            chosen[sel] = None
            continue
        mv = reg.resolve_model_uri(f"models:/{sel}")
        current = chosen.setdefault(mv.name, set())
        if current is not None:
            current.add(mv.version)
    return {name: None if numbers is None else sorted(numbers) for name, numbers in chosen.items()}
