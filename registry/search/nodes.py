"""The search language's syntax tree: frozen values the parser builds and the evaluator compiles.

A parsed filter is ``None`` (match everything), a `Comparison`, or an `And` / `Or` of
filters. Every node carries the span of the text it came from, so later checks can still point at it.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

__all__ = ["And", "Comparison", "Field", "Node", "Or", "Value"]

# A comparison's right-hand side: a string, an integer, a tuple of strings (IN / NOT IN), or None (IS NULL).
Value: TypeAlias = str | int | tuple[str, ...] | None


@attrs.frozen(slots=True)
class Field:
    """What a condition looks at.

    ``kind`` is ``"attribute"`` (``key`` is the canonical attribute name: ``name``, ``version_number``,
    ``current_stage``, ...) or ``"tag"`` (``key`` is the tag key, backticks and quotes removed).
    """

    kind: str
    key: str
    start: int
    end: int


@attrs.frozen(slots=True)
class Comparison:
    """One condition: ``field op value``.

    ``op`` is one of ``= != < <= > >= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL``. ``value`` is already
    converted to the field's type: ``int`` for numeric fields, the canonical stage name for stages, a tuple
    for ``IN`` lists and ``None`` for the null tests.
    """

    field: Field
    op: str
    value: Value
    start: int
    end: int


@attrs.frozen(slots=True)
class And:
    """All of ``children`` hold (two or more)."""

    children: tuple[Node, ...]


@attrs.frozen(slots=True)
class Or:
    """At least one of ``children`` holds (two or more). An extension: MLflow accepts only ``AND``."""

    children: tuple[Node, ...]


Node: TypeAlias = Comparison | And | Or
