"""Object storage: the few operations a registry needs of a bucket, over S3 and its compatibles, or memory.

A registry on object storage commits by *creating* the next journal object only if no other writer created it
first (S3's ``If-None-Match: *``, which MinIO, R2, Ceph, GCS and Azure offer too), the way Delta Lake and
Iceberg commit tables. So the interface is small (after object_store's): ``get``, ``put`` with an optional
create-only mode, ``list`` in key order after a key, and ``delete``.

* `BucketObjects` talks to a real bucket through ``obstore`` (the Rust ``object_store`` crate's Python
  bindings: S3, GCS, Azure; no boto3), an optional extra (``pip install 'mlregistry[s3]'``) imported only when
  a bucket is opened. Configuration is the ecosystem's: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SESSION_TOKEN``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` for an S3-compatible
  server and ``AWS_ALLOW_HTTP=true`` for a plain-HTTP one such as a local MinIO. Transient failures (5xx,
  throttling, timeouts, dropped connections) are retried by obstore with exponential backoff and jitter.
* `MemoryObjects` is its in-memory twin, with the same semantics, for tests.

Credentials never appear in a ``repr``, a log line or an error message: errors name the bucket URL only.
"""

from __future__ import annotations

import abc
import bisect
import builtins
import logging
import os
import threading
import time
import urllib.parse
from typing import Any

from registry.errors import InvalidParameterValue, RegistryError

__all__ = [
    "BucketObjects",
    "MemoryObjects",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectStorage",
    "ObjectStorageError",
    "is_bucket_url",
    "open_objects",
    "without_credentials",
]

log = logging.getLogger(__name__)

SCHEMES = ("s3", "s3a", "gs", "az", "abfs", "abfss")
"""URL schemes that name a bucket (``s3://bucket/prefix``, ``gs://...``, ``az://...``)."""


class ObjectExists(Exception):
    """A create-only put found the key taken (another writer won the race). A control-flow signal of the
    store, never shown to users."""


class ObjectNotFound(Exception):
    """No object at that key (a control-flow signal of the store)."""


class ObjectStorageError(RegistryError):
    """The object store refused or failed a request after its retries (credentials, permissions, a missing
    bucket, the network). The message names the bucket and what to check, never a credential."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class ObjectStorage(abc.ABC):
    """A bucket (or a prefix in one) holding objects by key. Keys are ``/``-separated relative paths."""

    url: str
    """Where the objects live, without credentials (for messages)."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes. Raises `ObjectNotFound`."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Write the object; with ``create_only``, only if the key is free (raises `ObjectExists`)."""

    @abc.abstractmethod
    def list(self, prefix: str, *, after: str | None = None) -> list[str]:
        """The keys under ``prefix`` (a folder: ``journal/``), in key order, only those after ``after``."""

    @abc.abstractmethod
    def list_times(self, prefix: str) -> builtins.list[tuple[str, float]]:
        """The keys under ``prefix`` in key order, each with its last modification (seconds since the epoch)."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object (a missing one is not an error)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class MemoryObjects(ObjectStorage):
    """Objects in a dict, with the same create-only semantics as a bucket (thread-safe)."""

    def __init__(self, url: str = "memory-objects://") -> None:
        self.url = url
        self._objects: dict[str, bytes] = {}
        self._times: dict[str, float] = {}
        self._keys: list[str] = []
        self._lock = threading.RLock()  # list_times lists under the lock

    def get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._objects[key]
            except KeyError:
                raise ObjectNotFound(key) from None

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        with self._lock:
            if key not in self._objects:
                bisect.insort(self._keys, key)
            elif create_only:
                raise ObjectExists(key)
            self._objects[key] = bytes(data)
            self._times[key] = time.time()

    def list(self, prefix: str, *, after: str | None = None) -> list[str]:
        with self._lock:
            start = (
                bisect.bisect_right(self._keys, after) if after is not None else bisect.bisect_left(self._keys, prefix)
            )
            found = []
            for key in self._keys[start:]:
                if not key.startswith(prefix):
                    if key > prefix:
                        break
                    continue
                found.append(key)
            return found

    def list_times(self, prefix: str) -> builtins.list[tuple[str, float]]:
        with self._lock:
            return [(key, self._times[key]) for key in self.list(prefix)]

    def delete(self, key: str) -> None:
        with self._lock:
            if self._objects.pop(key, None) is not None:
                self._keys.remove(key)
                del self._times[key]


class BucketObjects(ObjectStorage):
    """A real bucket through obstore (``s3://bucket/prefix``, ``gs://...``, ``az://...``).

    Args:
        url: the bucket and prefix. Credentials and endpoint come from the environment (see the module doc).
        options: extra obstore configuration (for example ``{"endpoint": ..., "allow_http": True}``); values
            here win over the environment.
        max_retries: how often obstore retries a transient failure before giving up.

    Raises:
        InvalidParameterValue: obstore is not installed, or the URL is not a bucket URL.
    """

    def __init__(self, url: str, *, options: dict[str, Any] | None = None, max_retries: int = 10) -> None:
        self.url = without_credentials(url)
        try:
            import obstore
            from obstore.store import from_url
        except ImportError:
            raise InvalidParameterValue(
                f"Opening {self.url} needs the object-storage extra: pip install 'mlregistry[s3]' (it installs "
                "obstore).",
                uri=self.url,
            ) from None
        self._obs = obstore
        open_store: Any = from_url  # its overloads are per scheme; the URL decides which applies
        config = dict(options or {})
        client_options: dict[str, Any] = {}
        allow_http = config.pop("allow_http", None)
        if allow_http is None:
            allow_http = os.environ.get("AWS_ALLOW_HTTP", "").lower() in ("1", "true", "yes")
        if allow_http:
            client_options["allow_http"] = True
        endpoint = config.pop("endpoint", None) or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and url.startswith(("s3://", "s3a://")):
            config["endpoint"] = endpoint
        try:
            self._store = open_store(
                url,
                client_options=client_options or None,
                retry_config={"max_retries": max_retries},
                **config,
            )
        except Exception as exc:  # obstore raises its own error types for bad configuration
            raise InvalidParameterValue(f"Cannot open {self.url}: {_safe(exc)}", uri=self.url) from None

    def get(self, key: str) -> bytes:
        try:
            return bytes(self._obs.get(self._store, key).bytes())
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except Exception as exc:
            if _is(exc, "NotFoundError"):
                raise ObjectNotFound(key) from None
            raise self._failure("read", key, exc) from None

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        try:
            self._obs.put(self._store, key, data, mode="create" if create_only else "overwrite")
        except Exception as exc:
            if create_only and (_is(exc, "AlreadyExistsError") or _is(exc, "PreconditionError")):
                raise ObjectExists(key) from None
            raise self._failure("write", key, exc) from None

    def list(self, prefix: str, *, after: str | None = None) -> list[str]:
        try:
            # ``offset`` lists keys after the given one, so catching up costs one request per page of news.
            kwargs: dict[str, Any] = {"offset": after} if after is not None else {}
            stream = self._obs.list(self._store, prefix, **kwargs)
            return sorted(meta["path"] for batch in stream for meta in batch)
        except Exception as exc:
            raise self._failure("list", prefix, exc) from None

    def list_times(self, prefix: str) -> builtins.list[tuple[str, float]]:
        try:
            stream = self._obs.list(self._store, prefix)
            found = [(meta["path"], meta["last_modified"].timestamp()) for batch in stream for meta in batch]
        except Exception as exc:
            raise self._failure("list", prefix, exc) from None
        return sorted(found)

    def delete(self, key: str) -> None:
        try:
            self._obs.delete(self._store, key)
        except FileNotFoundError:
            return
        except Exception as exc:
            if _is(exc, "NotFoundError"):
                return
            raise self._failure("delete", key, exc) from None

    def _failure(self, action: str, key: str, exc: BaseException) -> ObjectStorageError:
        hint = "check the credentials (AWS_ACCESS_KEY_ID, ...), the bucket's name and that it exists"
        if _is(exc, "PermissionDeniedError") or _is(exc, "UnauthenticatedError"):
            hint = "the credentials in the environment were refused: check AWS_ACCESS_KEY_ID and its permissions"
        message = f"Could not {action} {key!r} in {self.url} ({type(exc).__name__}: {_safe(exc)}); {hint}."
        log.debug("object storage: %s", message)
        return ObjectStorageError(message, uri=self.url)


def open_objects(url: str, *, options: dict[str, Any] | None = None) -> ObjectStorage:
    """The object storage a bucket URL names (``s3://``, ``gs://``, ``az://``)."""
    scheme = url.partition("://")[0].lower()
    if scheme not in SCHEMES:
        raise InvalidParameterValue(f"{without_credentials(url)!r} is not a bucket URL ({', '.join(SCHEMES)}).")
    return BucketObjects(url, options=options)


def is_bucket_url(text: str) -> bool:
    """Whether ``text`` names a bucket (an object-storage registry) rather than a folder."""
    return text.partition("://")[0].lower() in SCHEMES and "://" in text


def _is(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def without_credentials(url: str) -> str:
    """The URL without any ``user:password@`` part or query string (where keys could hide)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _safe(exc: BaseException) -> str:
    """An obstore message, first line only and with anything that looks like a secret key removed."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"):
        value = os.environ.get(name)
        if value:
            text = text.replace(value, "***")
    return text[:300]
