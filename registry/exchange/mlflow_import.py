"""Importing an MLflow model registry: registered models, their versions with the same numbers, stages,
aliases, tags, descriptions, run ids and links, creation times, and each version's files where they can be
reached. MLflow itself is never imported: `registry.exchange.mlflow_sources` reads its data.

Files are reachable when they are local (a path or ``file:`` URI that exists here) or behind an MLflow server's
artifact proxy (``mlflow-artifacts:/...``: the server imported from, or ``artifacts_server=`` for a database or
folder whose server is running). They are copied into the registry with a manifest, so the versions load
verified here. A version whose files cannot be reached (``s3://`` without credentials here, a server that is
down) keeps its source URI, as MLflow's own registry would. Re-importing skips what is already here identically
and refuses, listing them, anything that differs (see `registry.domain.imports`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

import attrs

from registry.domain.imports import ImportedModel, ImportedVersion, ImportReport
from registry.domain.uris import local_path
from registry.errors import InvalidParameterValue, RegistryError, ResourceDoesNotExist
from registry.exchange.arguments import text_argument, timeout_argument
from registry.exchange.mlflow_sources import MlflowModel, read_file_store, read_server, read_sqlite
from registry.exchange.protocol import RegistryLike
from registry.exchange.rest import MlflowRest, is_server_uri

__all__ = ["import_mlflow", "read_mlflow"]

log = logging.getLogger(__name__)

_ARTIFACTS = "mlflow-artifacts:"


def read_mlflow(source: str, *, workspace: str = "default", timeout: float = 60.0) -> list[MlflowModel]:
    """The models of the MLflow registry at ``source`` (``sqlite:///...``, an ``mlruns`` folder or
    ``file:`` URI, or ``http(s)://host:port``), without their files."""
    if not isinstance(source, str) or not source:
        raise InvalidParameterValue(f"An MLflow registry URI is needed, got {source!r}.")
    if source.startswith("sqlite:"):
        return read_sqlite(source, workspace=workspace)
    if is_server_uri(source):
        return read_server(MlflowRest(source, timeout=timeout))
    path = local_path(source)
    if path is None:
        raise InvalidParameterValue(
            f"Cannot import from {source!r}: give sqlite:///mlflow.db, an mlruns folder, or http://host:port of a "
            "running MLflow server.",
            source=source,
        )
    return read_file_store(path)


def _fetch(location: str, rest: MlflowRest | None, scratch: str) -> str | None:
    """A local folder with the files at ``location``, or None when they cannot be reached from here."""
    if location.startswith(_ARTIFACTS):
        if rest is None:
            return None
        path = location[len(_ARTIFACTS) :].lstrip("/")
        target = tempfile.mkdtemp(dir=scratch)
        try:
            return target if rest.download_tree(path, target) else None
        except RegistryError as exc:
            log.warning("registry: cannot download %s (%s); keeping its source", location, exc)
            return None
    local = local_path(location)
    return local if local is not None and os.path.isdir(local) else None


def import_mlflow(
    reg: RegistryLike,
    source: str,
    *,
    workspace: str = "default",
    artifacts_server: str | None = None,
    timeout: float = 60.0,
) -> ImportReport:
    """Bring the MLflow registry at ``source`` into ``reg`` (see the module docstring).

    Args:
        workspace: the MLflow workspace to read where the database has them (MLflow 3's default one).
        artifacts_server: an MLflow server to fetch ``mlflow-artifacts:`` files through when ``source`` is a
            database or folder (the server itself is used when ``source`` is one).

    Raises:
        ImportConflict: something here differs from MLflow (each conflict is listed; nothing was written).
        MlflowServerError: the server cannot be reached.
    """
    text_argument(workspace, "MLflow workspace")
    text_argument(artifacts_server, "artifacts server", optional=True)
    timeout = timeout_argument(timeout)
    if artifacts_server is not None and not is_server_uri(artifacts_server):
        raise InvalidParameterValue(f"The artifacts server must be http(s)://host:port, got {artifacts_server!r:.80}.")
    models = read_mlflow(source, workspace=workspace, timeout=timeout)
    server = source if is_server_uri(source) else artifacts_server
    rest = MlflowRest(server, timeout=timeout) if server else None
    scratch = tempfile.mkdtemp(prefix="registry-mlflow-")
    try:
        prepared: list[ImportedModel] = []
        files: dict[tuple[str, int], str] = {}
        for entry in models:
            versions = []
            for v in entry.model.versions:
                candidates = entry.locations.get(v.version, [])
                folder = next((f for loc in candidates if (f := _fetch(loc, rest, scratch)) is not None), None)
                here = _imported_before(reg, entry.model.name, v)
                if folder is not None:
                    files[(entry.model.name, v.version)] = folder
                elif here is not None:
                    # Imported with its files before, and they cannot be fetched now: the same version.
                    v = attrs.evolve(v, digest=here)
                elif v.source is None or v.source.startswith("models:/"):
                    # The files are elsewhere, and a logged-model URI means nothing here: record where they are.
                    v = attrs.evolve(v, source=candidates[0] if candidates else v.source)
                versions.append(v)
            prepared.append(attrs.evolve(entry.model, versions=versions))
        return reg.import_models(prepared, files, origin=f"mlflow {_redacted(source)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _imported_before(reg: RegistryLike, name: str, v: ImportedVersion) -> str | None:
    """The digest of this version here, if an earlier import brought it with its files from the same source."""
    try:
        mine = reg.get_model_version(name, v.version)
    except ResourceDoesNotExist:
        return None
    same = mine.digest is not None and mine.source == v.source and mine.run_id == v.run_id
    return mine.digest if same else None


def _redacted(uri: str) -> str:
    # A server URI may carry credentials (http://user:secret@host); the journal must not keep them.
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri
