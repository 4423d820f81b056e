"""Bundles: selected models and versions in one tar file, verified as a whole before anything is imported.

A bundle is an uncompressed tar (the standard library writes and reads it) whose members are, in order::

    bundle.json                       the models: metadata, history, versions, and each file's size and sha256
    BUNDLE.sha256                     the sha256 of bundle.json (so a changed byte there is caught too)
    files/<model>/<version>/<path>    each version's files (<model> is the model's index in bundle.json)

Reading one never trusts the archive: each member must be a plain file with exactly the name, size and sha256
that ``bundle.json`` lists (no links, devices, folders, absolute or ``..`` names, nothing extra or missing,
no size beyond the archive's own); each version's files must give the digest it was registered with. Files are
read member by member into a private temporary folder (never ``extractall``), and only when all of it checks
out does `registry.Registry.import_models()` copy them into the registry's staging area and commit, one
journal record per model. Version numbers are kept; see `registry.domain.imports` for what happens when the
destination already has versions (a number taken by other content is a conflict and nothing is written).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import attrs

from registry.domain.entities import ModelVersion
from registry.domain.imports import ImportedModel, ImportedVersion, ImportReport
from registry.domain.progress import ProgressCallback
from registry.domain.state import Event, EventType
from registry.errors import CorruptBundle, InvalidParameterValue, ResourceDoesNotExist
from registry.exchange.arguments import file_error, path_argument
from registry.exchange.files import verified_files
from registry.exchange.protocol import RegistryLike
from registry.exchange.selection import select_versions
from registry.store.progress import ProgressMeter

__all__ = ["BUNDLE_FORMAT", "Bundle", "allocated_top", "export_bundle", "import_bundle", "read_bundle"]

BUNDLE_FORMAT = 1
_INDEX = "bundle.json"
_CHECKSUM = "BUNDLE.sha256"
_MANIFEST = "MANIFEST.sha256"  # a version's own manifest: rebuilt on import, never carried
_MAX_INDEX_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


# -- writing --------------------------------------------------------------------------------------------------------


def _version_entry(mv: ModelVersion) -> dict[str, Any]:
    own_copy = mv.storage_location is not None
    return {
        "version": mv.version,
        # The version's own copy as its source is a path in this registry: meaningless elsewhere.
        "source": None if own_copy and mv.source == mv.storage_location else mv.source,
        "run_id": mv.run_id,
        "run_link": mv.run_link,
        "description": mv.description,
        "tags": dict(mv.tags),
        "stage": mv.current_stage.value,
        "user_id": mv.user_id,
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "digest": mv.digest if own_copy else None,
        "files": verified_files(mv) if own_copy else [],
    }


def _member_name(model_index: int, version: int, rel: str) -> str:
    return f"files/{model_index}/{version}/{rel}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def export_bundle(
    reg: RegistryLike,
    path: str | os.PathLike[str],
    models: Iterable[str] | str | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, list[int]]:
    """Write the selected models and versions of ``reg`` into the bundle file ``path`` (written under a temporary
    name and renamed, so a reader never finds half a bundle).

    Args:
        models: selections (``NAME``, ``NAME@alias``, ``NAME/3``, ``NAME/Production``); ``None`` takes every model.
            A whole model carries its history (its journal events); a selection of versions carries the events
            that concern them.
        progress: told the files and bytes written so far (task ``bundle``).

    Returns:
        Model name -> the version numbers written.

    Raises:
        ResourceDoesNotExist: a selection names nothing.
        ArtifactVerificationError: a version's stored files differ from those registered (nothing is written).
    """
    target = os.path.abspath(path_argument(path, "bundle path"))
    if os.path.isdir(target):
        raise InvalidParameterValue(f"{target} is a folder; give the bundle file to write.", path=target)
    chosen = select_versions(reg, models)
    entries: list[dict[str, Any]] = []
    written: dict[str, list[int]] = {}
    for name in sorted(chosen):
        rm = reg.get_registered_model(name)
        numbers = chosen[name]
        versions = [mv for mv in reg.list_model_versions(name) if numbers is None or mv.version in numbers]
        # Their files on this machine (a bucket registry downloads them into its verified cache first).
        versions = [reg.fetch_version_files(name, mv.version) if mv.digest else mv for mv in versions]
        kept = {mv.version for mv in versions}
        if numbers is None:
            history = reg.history(name)
        else:
            by_seq = {e.seq: e for number in sorted(kept) for e in reg.history(name, number)}
            history = [by_seq[s] for s in sorted(by_seq)]
        entries.append(
            {
                "name": name,
                "description": rm.description,
                "tags": dict(rm.tags),
                "aliases": {a: v for a, v in rm.aliases.items() if v in kept},
                "creation_timestamp": rm.creation_timestamp,
                "last_updated_timestamp": rm.last_updated_timestamp,
                "versions": [_version_entry(mv) for mv in versions],
                "history": [e.to_dict() for e in history],
                # whole models carry their counter, so numbers deleted at the source stay unused here too
                "next_version": allocated_top(history) + 1 if numbers is None else None,
            }
        )
        written[name] = sorted(kept)
    index = json.dumps(
        {"format": "registry-bundle", "format_version": BUNDLE_FORMAT, "models": entries}, sort_keys=True
    ).encode()
    now = time.time()
    listed = [f for entry in entries for v in entry["versions"] for f in v["files"]]
    meter = ProgressMeter("bundle", len(listed), sum(f["size"] for f in listed), progress)
    meter.start()
    folder = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise file_error(exc, target, "write the bundle") from None
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, _INDEX, index, now)
            _add_bytes(tar, _CHECKSUM, (hashlib.sha256(index).hexdigest() + "\n").encode(), now)
            for model_index, entry in enumerate(entries):
                for v, mv in zip(entry["versions"], _versions_of(reg, entry), strict=True):
                    for f in v["files"]:
                        full = os.path.join(mv.storage_location or "", *f["path"].split("/"))
                        info = tarfile.TarInfo(_member_name(model_index, v["version"], f["path"]))
                        info.size, info.mtime, info.mode = f["size"], int(now), 0o644
                        with open(full, "rb") as src:
                            tar.addfile(info, _Counted(src, meter))
                        meter.advance(files=1, current=f"{entry['name']}/{v['version']}/{f['path']}")
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise file_error(exc, target, "write the bundle") from None
        raise
    meter.finish()
    return written


class _Counted:
    """A file being read into the tar, counting its bytes on a progress meter as tarfile reads them."""

    def __init__(self, raw: BinaryIO, meter: ProgressMeter) -> None:
        self._raw, self._meter = raw, meter

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._meter.advance(nbytes=len(data))
        return data


def allocated_top(history: Iterable[Event]) -> int:
    """The highest version number the model's history ever created (or, for a replica, was told of)."""
    top = 0
    for e in history:
        if e.type == EventType.MODEL_VERSION_CREATED:
            top = max(top, int(e.data["version"]))
        elif e.type in (EventType.REGISTERED_MODEL_IMPORTED, EventType.REGISTERED_MODEL_SYNCED):
            top = max(
                top, *(int(v["version"]) for v in e.data.get("versions", ())), (e.data.get("next_version") or 1) - 1
            )
    return top


def _versions_of(reg: RegistryLike, entry: Mapping[str, Any]) -> list[ModelVersion]:
    return [reg.get_model_version(entry["name"], v["version"]) for v in entry["versions"]]


# -- reading --------------------------------------------------------------------------------------------------------


@attrs.frozen
class Bundle:
    """What a verified bundle holds: the models to import, the local folder of each version's files (inside
    ``folder``, which the caller removes), and each model's history at the source (journal events as dicts)."""

    models: tuple[ImportedModel, ...]
    files: dict[tuple[str, int], str]
    history: dict[str, list[dict[str, Any]]]
    folder: str


def _corrupt(path: str, why: str) -> CorruptBundle:
    return CorruptBundle(f"{path} is not a sound bundle: {why}. Nothing was imported.", path=path)


def _safe_rel(rel: Any) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return False
    parts = rel.split("/")
    return all(p not in ("", ".", "..") for p in parts) and rel != _MANIFEST


def _check_plain_file(path: str, member: tarfile.TarInfo, limit: int) -> None:
    if not member.isreg() or member.issparse():
        raise _corrupt(path, f"member {member.name!r} is not a plain file (links, devices and folders are refused)")
    if member.size < 0 or member.size > limit:
        raise _corrupt(path, f"member {member.name!r} declares {member.size} bytes, more than the bundle holds")


def _read_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, sink: BinaryIO, meter: ProgressMeter | None = None
) -> str:
    """Copy a member's bytes into ``sink``; returns their sha256. A cut-off archive raises."""
    source = tar.extractfile(member)
    assert source is not None
    digest = hashlib.sha256()
    remaining = member.size
    while remaining > 0:
        chunk = source.read(min(_CHUNK, remaining))
        if not chunk:
            raise tarfile.ReadError("unexpected end of data")
        digest.update(chunk)
        sink.write(chunk)
        remaining -= len(chunk)
        if meter is not None:
            meter.advance(nbytes=len(chunk))
    return digest.hexdigest()


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        member = tar.next()
        if member is None:
            return
        yield member


def _model_of(path: str, entry: Any) -> tuple[ImportedModel, dict[tuple[int, str], tuple[int, str]], list[Any]]:
    """One model of bundle.json as import values, plus the files it lists (member name -> version, size,
    sha256). Every field is checked: bundle.json is input."""
    if not isinstance(entry, dict) or not isinstance(entry.get("versions"), list):
        raise _corrupt(path, "a model entry of bundle.json is malformed")
    listed: dict[tuple[int, str], tuple[int, str]] = {}
    versions = []
    for v in entry["versions"]:
        if not isinstance(v, dict) or not isinstance(v.get("files"), list):
            raise _corrupt(path, f"a version entry of model {entry.get('name')!r} is malformed")
        manifest = []
        for f in v["files"]:
            if not isinstance(f, dict) or not _safe_rel(f.get("path")):
                raise _corrupt(path, f"version {v.get('version')!r} lists an unsafe file name {f!r}")
            size, digest = f.get("size"), f.get("sha256")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0 or not isinstance(digest, str):
                raise _corrupt(path, f"file {f['path']!r} has a malformed size or sha256")
            manifest.append((f["path"], digest, size))
        manifest.sort()
        digest = v.get("digest")
        if manifest or digest is not None:
            text = "".join(f"{h}  {rel}\n" for rel, h, _ in manifest).encode()
            if hashlib.sha256(text).hexdigest() != digest:
                raise _corrupt(path, f"the files of version {v.get('version')!r} do not give its digest")
        try:
            version = ImportedVersion(
                version=v.get("version"),
                source=v.get("source"),
                run_id=v.get("run_id"),
                run_link=v.get("run_link"),
                description=v.get("description"),
                tags=v.get("tags") or {},
                stage=v.get("stage") or "None",
                digest=digest,
                user_id=v.get("user_id"),
                creation_timestamp=v.get("creation_timestamp"),
                last_updated_timestamp=v.get("last_updated_timestamp"),
            )
        except (InvalidParameterValue, TypeError) as exc:
            raise _corrupt(path, f"a version entry is invalid ({exc})") from None
        versions.append(version)
        for rel, h, size in manifest:
            listed[(version.version, rel)] = (size, h)
    try:
        model = ImportedModel(
            name=entry.get("name"),
            description=entry.get("description"),
            tags=entry.get("tags") or {},
            aliases=dict(entry.get("aliases") or {}),
            versions=versions,
            creation_timestamp=entry.get("creation_timestamp"),
            last_updated_timestamp=entry.get("last_updated_timestamp"),
            next_version=entry.get("next_version"),
        )
    except (InvalidParameterValue, TypeError, ValueError) as exc:
        raise _corrupt(path, f"a model entry is invalid ({exc})") from None
    history = entry.get("history") or []
    if not isinstance(history, list):
        raise _corrupt(path, f"the history of model {model.name!r} is malformed")
    return model, listed, history


def read_bundle(path: str | os.PathLike[str], progress: ProgressCallback | None = None) -> Bundle:
    """Verify the bundle at ``path`` completely and unpack its files into a new private temporary folder
    (``progress`` is told the files and bytes verified, task ``import``).

    Raises:
        CorruptBundle: anything about the bundle is wrong (the folder is removed again).
        ResourceDoesNotExist: there is no file at ``path``.
    """
    source = path_argument(path, "bundle path")
    try:
        archive_size = os.stat(source).st_size
    except OSError as exc:
        raise ResourceDoesNotExist(f"Cannot read the bundle {source!r}: {exc.strerror}.", path=source) from None
    if not os.path.isfile(source):
        raise InvalidParameterValue(f"{source} is not a file; give the bundle file to import.", path=source)
    folder = tempfile.mkdtemp(prefix="registry-bundle-")
    try:
        return _read(source, archive_size, folder, progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read(path: str, archive_size: int, folder: str, progress: ProgressCallback | None) -> Bundle:
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = _members(tar)
            index_member = next(members, None)
            if index_member is None or index_member.name != _INDEX:
                raise _corrupt(path, f"its first member is not {_INDEX}")
            _check_plain_file(path, index_member, min(archive_size, _MAX_INDEX_BYTES))
            index_buffer = io.BytesIO()
            _read_member(tar, index_member, index_buffer)
            index = index_buffer.getvalue()
            checksum_member = next(members, None)
            if checksum_member is None or checksum_member.name != _CHECKSUM:
                raise _corrupt(path, f"its second member is not {_CHECKSUM}")
            _check_plain_file(path, checksum_member, 1024)
            checksum = io.BytesIO()
            _read_member(tar, checksum_member, checksum)
            if checksum.getvalue().decode("ascii", "replace").strip() != hashlib.sha256(index).hexdigest():
                raise _corrupt(path, f"{_INDEX} does not match {_CHECKSUM} (a changed or damaged byte)")
            try:
                doc = json.loads(index)
            except ValueError:
                raise _corrupt(path, f"{_INDEX} is not JSON") from None
            if not isinstance(doc, dict) or doc.get("format") != "registry-bundle":
                raise _corrupt(path, f"{_INDEX} does not describe a registry bundle")
            if doc.get("format_version") != BUNDLE_FORMAT:
                raise _corrupt(path, f"it has bundle format {doc.get('format_version')!r}; this library reads 1")
            if not isinstance(doc.get("models"), list):
                raise _corrupt(path, f"{_INDEX} has no list of models")
            models, history = [], {}
            expected: dict[str, tuple[str, int, int, str, str]] = {}
            declared = 0
            for model_index, entry in enumerate(doc["models"]):
                model, listed, events = _model_of(path, entry)
                models.append(model)
                history[model.name] = events
                for (version, rel), (size, digest) in listed.items():
                    expected[_member_name(model_index, version, rel)] = (model.name, version, size, digest, rel)
                    declared += size
            if declared > archive_size:
                raise _corrupt(path, f"its files declare {declared} bytes, more than the {archive_size} it holds")
            meter = ProgressMeter("import", len(expected), declared, progress)
            meter.start()
            files: dict[tuple[str, int], str] = {}
            seen: set[str] = set()
            for member in members:
                if member.name not in expected or member.name in seen:
                    raise _corrupt(path, f"member {member.name!r} is not one {_INDEX} lists (or comes twice)")
                name, version, size, digest, rel = expected[member.name]
                _check_plain_file(path, member, size)
                if member.size != size:
                    raise _corrupt(path, f"member {member.name!r} has {member.size} bytes, not {size}")
                seen.add(member.name)
                # The path is built from the model's index, the version number and a checked relative name,
                # never from the member's own name.
                if (name, version) not in files:
                    files[(name, version)] = os.path.join(folder, str(len(files)))
                target = os.path.join(files[(name, version)], *rel.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "xb") as sink:
                    if _read_member(tar, member, sink, meter) != digest:
                        raise _corrupt(path, f"file {rel!r} of '{name}' version {version} fails its sha256")
                meter.advance(files=1, current=f"{name}/{version}/{rel}")
            missing = sorted(set(expected) - seen)
            if missing:
                raise _corrupt(path, f"it lacks {len(missing)} listed file(s), e.g. {missing[0]!r} (cut off?)")
            meter.finish()
    except (tarfile.TarError, EOFError, UnicodeDecodeError) as exc:
        raise _corrupt(path, f"the archive cannot be read ({exc})") from None
    except OSError as exc:
        raise file_error(exc, path, "read the bundle") from None
    for m in models:  # a version with a digest but no files at all (an empty model folder) gets an empty folder
        for v in m.versions:
            if v.digest is not None and (m.name, v.version) not in files:
                files[(m.name, v.version)] = _empty_dir(folder, len(files))
    return Bundle(models=tuple(models), files=files, history=history, folder=folder)


def _empty_dir(folder: str, index: int) -> str:
    path = os.path.join(folder, f"{index}")
    os.makedirs(path, exist_ok=True)
    return path


def import_bundle(
    reg: RegistryLike, path: str | os.PathLike[str], progress: ProgressCallback | None = None
) -> ImportReport:
    """Verify the bundle at ``path`` and bring what it holds into ``reg`` (see the module docstring);
    ``progress`` is told the files and bytes verified (task ``import``).

    Raises:
        CorruptBundle: the bundle is damaged or unsafe; nothing is written.
        ImportConflict: it would overwrite something (every conflict listed); nothing is written.
    """
    bundle = read_bundle(path, progress)
    try:
        origin = f"bundle {os.path.basename(path_argument(path, 'bundle path'))}"
        return reg.import_models(bundle.models, bundle.files, origin=origin)
    finally:
        shutil.rmtree(bundle.folder, ignore_errors=True)
