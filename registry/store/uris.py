"""Registry URIs: what a URI names, which store serves it, and which URI is the process's default.

A registry URI is a folder path, a ``file:`` URI, a bucket URL (``s3://bucket/prefix``, also ``gs://`` and
``az://``: `registry.store.bucket`), ``memory://`` (a fresh in-memory registry) or ``memory://<name>`` (one
in-memory registry shared by everything in the process that names it). The default
registry URI, which ``models:/`` URIs resolve against, is `set_registry_uri()`'s, else ``$REGISTRY_URI``, else
``./mlregistry``; the `Registry` opened on it is `registry.defaults.default_registry()`.
"""

from __future__ import annotations

import os
import threading

from registry.errors import InvalidParameterValue

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from registry.domain.stages import StagePolicy
    from registry.store.base import Clock, Store
    from registry.store.memory import MemoryStore

__all__ = [
    "DEFAULT_REGISTRY_FOLDER",
    "MEMORY",
    "explicit_registry_uri",
    "get_registry_uri",
    "open_store",
    "resolve_registry_uri",
    "set_registry_uri",
    "unservable",
]

DEFAULT_REGISTRY_FOLDER = "mlregistry"
"""The folder (relative to the working directory) used when neither an argument nor $REGISTRY_URI says."""

MEMORY = "memory://"

_named_memory: dict[str, MemoryStore] = {}
_named_memory_lock = threading.Lock()


def resolve_registry_uri(uri: str | os.PathLike[str] | None) -> str:
    """The canonical form of a registry URI (an absolute folder path, or the memory URI as given).

    Raises:
        InvalidParameterValue: an empty or unsupported URI (servers, databases).
    """
    from registry.domain.uris import local_path
    from registry.store.files import path_text
    from registry.store.objects import is_bucket_url, without_credentials

    if uri is None:
        uri = get_registry_uri()
    text = os.fspath(uri) if isinstance(uri, str | os.PathLike) else uri
    if not isinstance(text, str) or not text:
        raise InvalidParameterValue(f"Registry URI must be a non-empty path or URI, got {uri!r}.")
    text = path_text(text, "Registry URI")
    if text.startswith(MEMORY):
        return text
    if is_bucket_url(text):
        clean = without_credentials(text).rstrip("/")
        if clean.lower() != text.rstrip("/").lower():  # (the host part comes back lower-cased)
            # The URL would be shown in messages and repr; keys belong in the environment (AWS_*), never here.
            raise InvalidParameterValue(
                f"The bucket URL {clean!r} carries credentials or a query string: remove them and set "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL) in the environment instead.",
                uri=clean,
            )
        return clean
    refusal = unservable(text)
    path = local_path(text) if refusal is None else None
    if path is None:
        raise InvalidParameterValue(
            f"Unsupported registry URI {text!r}: {refusal or 'this library cannot open it'}. Use a folder path "
            "(e.g. ./mlregistry), a file: URI, a bucket URL (s3://bucket/prefix) or memory:// instead.",
            uri=text,
        )
    return os.path.abspath(os.path.expanduser(path))


# MLflow's words for a Databricks workspace: as plain words they would otherwise be taken for folder names.
_DATABRICKS_WORDS = ("databricks", "databricks-uc")
_DATABASES = ("sqlite", "postgresql", "postgres", "mysql", "mssql")


def unservable(uri: str) -> str | None:
    """Why ``uri``, a URI MLflow accepts, names something this library cannot serve (``None`` when it may).

    What to use instead is part of the answer: these are URIs people bring from MLflow code.
    """
    scheme = uri.partition(":")[0].lower() if ":" in uri else ""
    if uri in _DATABRICKS_WORDS or scheme in ("databricks", "databricks-uc", "uc"):
        return (
            "it names a Databricks workspace, and this library keeps its registry on this machine (no Databricks "
            "backend); download the models you need with MLflow, then register those folders here"
        )
    if scheme.partition("+")[0] in _DATABASES:
        bring = (
            f"`registry import-mlflow {uri}` brings its models and versions in"
            if scheme == "sqlite"
            else "`registry import-mlflow http://HOST:PORT` brings its models in through the MLflow server on it"
        )
        return f"it names an MLflow database, and this library keeps its registry in a folder; {bring}"
    if scheme in ("http", "https"):
        return (
            "it names an MLflow tracking server, and this library has no server; `registry import-mlflow "
            f"{uri}` brings its models in, `registry push --to {uri}` replays this registry into it"
        )
    return None


def open_store(
    uri: str,
    *,
    policy: StagePolicy | None,
    default_policy: StagePolicy,
    clock: Clock,
    actor: str | None,
    durable: bool,
    lock_timeout: float,
    read_only: bool = False,
) -> Store:
    """The store behind a resolved registry URI (named in-memory registries are shared within the process).

    ``read_only`` applies to folders and to a fresh ``memory://``; a named in-memory registry is shared by
    every handle in the process, so one handle cannot make it read-only (that raises).
    """
    from registry.store.folder import FolderStore
    from registry.store.memory import MemoryStore
    from registry.store.objects import is_bucket_url

    if uri == MEMORY:
        return MemoryStore(policy=policy or default_policy, clock=clock, actor=actor, read_only=read_only)
    if uri.startswith(MEMORY):
        if read_only:
            raise InvalidParameterValue(
                f"{uri} is shared by every Registry in this process that names it, so it cannot be opened "
                "read-only by one of them. Use a folder, or memory:// for a private read-only scratch registry.",
                uri=uri,
            )
        with _named_memory_lock:
            store = _named_memory.get(uri)
            if store is None:
                store = _named_memory[uri] = MemoryStore(policy=policy or default_policy, clock=clock, actor=actor)
            elif policy is not None and policy != store.policy:
                raise InvalidParameterValue(
                    f"The registry {uri} uses the '{store.policy.name}' stage policy, not '{policy.name}'.",
                    uri=uri,
                )
            return store
    if is_bucket_url(uri):
        from registry.store.bucket import BucketStore

        return BucketStore(
            uri, policy=policy, default_policy=default_policy, clock=clock, actor=actor, read_only=read_only
        )
    return FolderStore(
        uri,
        policy=policy,
        default_policy=default_policy,
        clock=clock,
        actor=actor,
        durable=durable,
        lock_timeout=lock_timeout,
        read_only=read_only,
    )


_registry_uri: str | None = None


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the registry that ``models:/`` URIs and the default registry use (``None``: back to the default)."""
    global _registry_uri
    _registry_uri = os.fspath(uri) if uri is not None else None


def get_registry_uri() -> str:
    """The default registry: `set_registry_uri()`'s, else ``$REGISTRY_URI``, else ``./mlregistry``."""
    return _registry_uri or os.environ.get("REGISTRY_URI") or os.path.abspath(DEFAULT_REGISTRY_FOLDER)


def explicit_registry_uri() -> str | None:
    """What `set_registry_uri()` set, or ``None`` (so a caller can restore it exactly)."""
    return _registry_uri
