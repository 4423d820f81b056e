"""A real S3-compatible server for the object-storage tests: moto's standalone server on 127.0.0.1.

The suite starts one server per session on a free port (``moto[server]`` is in the test extra, so CI always
has it) and gives each test a fresh bucket, so the tests exercise the real HTTP protocol, conditional writes
included. Set ``REGISTRY_TEST_S3_URL=s3://bucket/prefix`` (with the usual ``AWS_*`` variables) to run the same
tests against another endpoint instead; each test then gets its own prefix under it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

START_TIMEOUT_S = 30.0

# What the registry reads, for moto (which accepts any credentials).
MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's S3 server on 127.0.0.1 until the block ends; yields its endpoint URL."""
    try:
        import moto.server  # noqa: F401  (only to learn whether it is installed)
    except ImportError:
        pytest.skip("moto[server] is not installed (pip install -e '.[test]')")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_bucket(endpoint: str, name: str) -> None:
    """Create a bucket on moto (which takes an unsigned PUT)."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{name}", method="PUT"), timeout=10).read()


def fresh_bucket_url(endpoint: str | None) -> str:
    """A new, empty place for one test: a fresh bucket on moto, or a fresh prefix under REGISTRY_TEST_S3_URL."""
    external = os.environ.get("REGISTRY_TEST_S3_URL")
    if external:
        return f"{external.rstrip('/')}/test-{uuid.uuid4().hex[:12]}"
    assert endpoint is not None
    name = f"reg-{uuid.uuid4().hex[:12]}"
    create_bucket(endpoint, name)
    return f"s3://{name}/registry"


class WatchedObjects:
    """An object storage that counts requests by kind and lets a test act before a put (to lose a race on
    purpose) or fail after one (a put that landed but whose answer was lost)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url
        self.calls: Counter[str] = Counter()
        self.before_put: Callable[[str], None] | None = None
        self.after_put: Callable[[str], None] | None = None

    def get(self, key: str) -> bytes:
        self.calls["get"] += 1
        return bytes(self.inner.get(key))

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        self.calls["put"] += 1
        if self.before_put is not None:
            self.before_put(key)
        self.inner.put(key, data, create_only=create_only)
        if self.after_put is not None:
            self.after_put(key)

    def list(self, prefix: str, *, after: str | None = None) -> list[str]:
        self.calls["list"] += 1
        return list(self.inner.list(prefix, after=after))

    def list_times(self, prefix: str) -> list[tuple[str, float]]:
        self.calls["list"] += 1
        return list(self.inner.list_times(prefix))

    def delete(self, key: str) -> None:
        self.calls["delete"] += 1
        self.inner.delete(key)

    def total(self) -> int:
        return sum(self.calls.values())

    def writes(self) -> int:
        return self.calls["put"] + self.calls["delete"]
