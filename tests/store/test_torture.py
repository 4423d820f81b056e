"""The SIGKILL torture (tests/torture.py) in its quick form: writers doing every operation, rename included,
killed at random. ``python tests/torture.py --rounds 300`` is the long form."""

from __future__ import annotations

import os
import sys

import pytest
from torture import run

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")]


def test_killed_writers_lose_nothing_and_every_view_equals_the_replay() -> None:
    figures = run(int(os.environ.get("REGISTRY_TORTURE_ROUNDS", "8")), seed=20240611)
    assert figures.ok(), figures.table() + "\n" + "\n".join(figures.notes)
    assert figures.kills == 2 * figures.rounds
    # The writers did real work between the kills. A floor, not a rate: an idle machine acknowledges ~40 writes a
    # round, one with a load of 7 fewer than 20 (the kill comes after a random time, not after some writes).
    assert figures.acknowledged >= 4 * figures.rounds, figures.table()
