"""The in-memory store: the same semantics as the folder store, for tests and scratch work.

Events live in a list; a version's files are still copied (into a private temporary folder, removed when the
store is closed or collected), so artifacts, digests and verification behave exactly as on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import weakref
from typing import Any

from registry.domain.progress import ProgressCallback
from registry.domain.stages import StagePolicy
from registry.domain.state import Event, RegistryState
from registry.store.artifacts import CopyLimits, StagedArtifacts
from registry.store.base import Clock, Store

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """A store no other process can see. ``location`` is ``memory://``."""

    def __init__(self, *, policy: StagePolicy, clock: Clock, actor: str | None, read_only: bool = False) -> None:
        self.location = "memory://"
        # The scratch folder is made on the first copy of a version's files, not here: a registry that never
        # copies files (most test fixtures) then costs no filesystem calls at all, which on some filesystems
        # is most of a fixture's time. The name is random (as mkdtemp's), and it is created with O_EXCL
        # semantics and mode 0700 in _ensure_scratch.
        self._scratch = os.path.join(tempfile.gettempdir(), f"registry-memory-{uuid.uuid4().hex}")
        self._scratch_made = False
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._scratch, True)
        self._events: list[Event] = []
        super().__init__(policy=policy, clock=clock, actor=actor, durable=False, read_only=read_only)

    def _ensure_scratch(self) -> None:
        with self._guard:
            if not self._scratch_made:
                os.mkdir(self._scratch, 0o700)  # fails if it exists: never adopt a folder someone else made
                self._scratch_made = True

    def stage_artifacts(
        self, source_dir: str, limits: CopyLimits | None = None, progress: ProgressCallback | None = None
    ) -> StagedArtifacts:
        self.check_writable("register a model version's files")
        self._ensure_scratch()
        return super().stage_artifacts(source_dir, limits, progress)

    def staging_directory(self, prefix: str) -> str:
        self.check_writable("stage files")
        self._ensure_scratch()
        return super().staging_directory(prefix)

    @property
    def artifact_root(self) -> str:
        return os.path.join(self._scratch, "models")

    @property
    def staging_root(self) -> str:
        return os.path.join(self._scratch, "tmp")

    def _process_lock(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def _catch_up(self, *, writing: bool) -> None:
        pass  # nobody else writes here

    def _persist(self, events: list[Event]) -> None:
        self._events.extend(events)

    def _reset_state(self) -> None:
        state = RegistryState(self.artifact_root)
        for event in self._events:
            state.apply(event)
        self._state = state

    def read_events(self, since: int = 0, limit: int | None = None) -> list[Event]:
        with self._guard:
            # seq numbers are dense from 1, so the list index is seq - 1
            chosen = self._events[max(since, 0) :]
        return chosen if limit is None else chosen[:limit]

    def close(self) -> None:
        self._cleanup()
