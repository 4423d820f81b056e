"""The multi-handle state machine (tests/store/test_multi_handle_machine.py) on a bucket: three ``Registry``
handles on one ``s3://`` registry on the S3-compatible server, as three machines would hold them, against the
same plain reference; checkpoints, a checkpoint that dies before its hint, reopens and ``check --fix`` among
the steps. After every step each handle is at a prefix of the journal, a fresh handle agrees, and so does the
fold of the journal objects alone (no checkpoint)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import rule
from s3_support import MOTO_ENV, create_bucket
from store.test_multi_handle_machine import (
    HANDLES,
    POLICY,
    MultiHandleMachine,
    handles,
    picture_of_state,
    user_of,
)

from registry import Registry
from registry.domain.state import RegistryState
from registry.store.bucket import LAST_CHECKPOINT_KEY, BucketStore
from registry.store.objects import open_objects

_place: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _bucket_for_the_machine(s3_endpoint: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    external = os.environ.get("REGISTRY_TEST_S3_URL")
    if external:
        _place["base"] = external.rstrip("/")
    else:
        assert s3_endpoint is not None
        for key, value in MOTO_ENV.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
        name = f"machine-{uuid.uuid4().hex[:12]}"
        create_bucket(s3_endpoint, name)
        _place["base"] = f"s3://{name}"
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "cache"))
    yield
    _place.clear()


class BucketMultiHandleMachine(MultiHandleMachine):
    def __init__(self) -> None:
        self.created = False
        self.bucket_url = f"{_place['base']}/{uuid.uuid4().hex[:12]}"  # a fresh prefix for each example
        super().__init__()
        # the replica is on the bucket too: its marker must hold through every handle and every reopen
        self.replica_uri = f"{self.bucket_url}-replica"

    def _open(self, h: int) -> Registry:
        reg = Registry(self.bucket_url, policy=None if self.created else POLICY, user=user_of(h))
        self.created = True
        self.uri = reg.uri
        return reg

    def teardown(self) -> None:
        for reg in [*self.handles, *self.replicas]:
            if reg is not None:
                reg.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def store(self, h: int) -> BucketStore:
        store = self.handle(h)._store  # type: ignore[attr-defined]
        assert isinstance(store, BucketStore)
        return store

    @rule(h=handles)
    def force_checkpoint(self, h: int) -> None:
        store = self.store(h)
        with store._guard:
            store._catch_up(writing=True)
            store.checkpoint()

    @rule(h=handles)
    def crash_during_checkpoint(self, h: int) -> None:
        """A checkpoint object written, and the writer dies before it moves the hint (then it is gone)."""
        store = self.store(h)
        objects = store.objects
        real = objects.put

        def crash_on_hint(key: str, data: bytes, *, create_only: bool = False) -> None:
            if key == LAST_CHECKPOINT_KEY:
                raise KeyboardInterrupt("killed")
            real(key, data, create_only=create_only)

        objects.put = crash_on_hint  # type: ignore[method-assign]
        try:
            with store._guard:
                store._catch_up(writing=True)
                store.checkpoint()
        except KeyboardInterrupt:
            pass
        finally:
            del objects.put  # type: ignore[method-assign]
        self.handles[h] = None

    def replica_replay(self) -> RegistryState:
        return self._replay(self.replica_uri)

    def _replay(self, url: str) -> RegistryState:
        store = BucketStore(
            url,
            policy=None,
            default_policy=POLICY,
            clock=lambda: 0,
            actor=None,
            read_only=True,
            cache_dir=tempfile.gettempdir(),
        )
        state = RegistryState(store.artifact_root)
        for event in store.journal_events():
            state.apply(event)
        return state

    def a_full_replay_agrees(self) -> None:
        store = BucketStore(
            self.bucket_url,
            policy=None,
            default_policy=self.store(0).policy,
            clock=lambda: 0,
            actor=None,
            read_only=True,
            cache_dir=tempfile.gettempdir(),
        )
        state = RegistryState(store.artifact_root)
        for event in store.journal_events():
            state.apply(event)
        assert state.seq == self.seq
        assert picture_of_state(state) == self.reference_picture()
        assert [k for k in open_objects(self.bucket_url).list("journal/") if not k.endswith(".json")] == []


assert HANDLES == 3
BucketMultiHandleRegistry = BucketMultiHandleMachine.TestCase
BucketMultiHandleRegistry.settings = settings(
    max_examples=int(os.environ.get("REGISTRY_BUCKET_MACHINE_EXAMPLES", "12")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
