"""A version's own copy of its files, and the sha256 manifest that lets a loader prove they are unchanged.

``MANIFEST.sha256`` sits at the top of the copy, in ``sha256sum`` format (``<hex>  <posix path>``, sorted by
path), listing every other file. The version records the sha256 of the manifest itself as its ``digest``, so
one recorded value pins every byte: `verify_artifacts()` checks the manifest against the digest, then every
file against the manifest, and refuses missing, extra or changed files.

Two rules keep "verified" meaning what it says:

* **A stored version holds regular files and folders, nothing else.** Verification walks the whole tree
  without following anything and refuses a symbolic link, FIFO, socket or device anywhere in it (a link would
  let bytes from outside pass for the registered ones; a FIFO would block the reader), and the version folder
  itself must not be a link. Every regular file, at any depth, must be in the manifest.
* **Registering copies the source folder and nothing outside it** (`stage_directory()`). Regular files and
  folders are copied; a symbolic link whose target lies inside the source folder is stored as a copy of what
  it points to; a link leading outside, a dangling link, a loop, a FIFO, socket or device is refused with an
  error naming it, before anything is written. The copy is bounded by `CopyLimits`, counted on the
  bytes actually read (a file that grows while it is copied cannot exceed them), and a refused copy leaves
  nothing behind in the staging folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import uuid

import attrs

from registry.domain.progress import ProgressCallback
from registry.errors import ArtifactVerificationError, InvalidParameterValue
from registry.store.files import fsync_dir
from registry.store.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES
from registry.store.progress import ProgressMeter

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "MANIFEST_NAME",
    "CopyLimits",
    "StagedArtifacts",
    "build_manifest",
    "copy_folder",
    "copy_verified",
    "read_manifest",
    "stage_directory",
    "stored_size",
    "verify_artifacts",
]

MANIFEST_NAME = "MANIFEST.sha256"

_CHUNK = 1 << 20
# O_NOFOLLOW: a link swapped in after the walk is refused by the kernel, not followed. O_NONBLOCK: a FIFO
# swapped in cannot block the open (fstat then refuses it). Both are absent on Windows, which has no FIFOs.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidParameterValue(f"{attribute.name} must be a positive integer, got {value!r}.")


@attrs.frozen
class CopyLimits:
    """How much one version's files may hold: ``max_bytes`` in total, ``max_files`` files and folders.

    The defaults (50 GB, 1,000,000 entries) leave room for any real model and stop a source that names far
    more than intended (a home folder, a loop) long before it fills the disk.
    """

    max_bytes: int = attrs.field(default=DEFAULT_MAX_BYTES, validator=_positive)
    max_files: int = attrs.field(default=DEFAULT_MAX_FILES, validator=_positive)


@attrs.frozen
class StagedArtifacts:
    """A copy made under the registry's staging folder, waiting to be published as a version's files."""

    path: str
    digest: str


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file or folder"


def _sha256_fd(fd: int, meter: ProgressMeter | None = None) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(fd, _CHUNK):
        digest.update(chunk)
        if meter is not None:
            meter.advance(nbytes=len(chunk))
    return digest.hexdigest()


# -- verification ------------------------------------------------------------------------------------------------


def _refuse_stored(root: str, rel: str, what: str) -> ArtifactVerificationError:
    return ArtifactVerificationError(
        f"Model files at {root} contain '{rel}', which is {what}; a registered version holds only regular "
        "files and folders. Do not load them; remove it or re-register the model.",
        path=root,
        file=rel,
    )


def _stored_files(root: str) -> list[str]:
    """Relative POSIX paths of every regular file under ``root`` (the manifest excepted), at any depth.

    Nothing is followed: a symbolic link, FIFO, socket or device anywhere in the tree is refused.
    """
    try:
        mode = os.lstat(root).st_mode
    except FileNotFoundError:
        raise ArtifactVerificationError(f"The model files at {root} are missing.", path=root) from None
    if not stat.S_ISDIR(mode):
        raise ArtifactVerificationError(
            f"The model files at {root} are {_kind(mode)}, not a folder; a registered version's folder must be "
            "the registry's own copy. Do not load it; re-register the model.",
            path=root,
        )
    found: list[str] = []
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    pending.append((rel + "/", entry.path))
                elif stat.S_ISREG(mode):
                    if rel != MANIFEST_NAME:
                        found.append(rel)
                else:
                    raise _refuse_stored(root, rel, _kind(mode))
    return sorted(found)


def _open_stored(root: str, rel: str) -> int:
    """Open a stored file for reading, refusing anything but a regular file (even one swapped in just now).

    Raises:
        FileNotFoundError: there is no such file.
        ArtifactVerificationError: it is a link, FIFO, socket, device or folder, or cannot be read.
    """
    full = os.path.join(root, rel)
    try:
        fd = os.open(full, _READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if os.path.islink(full):
            raise _refuse_stored(root, rel, "a symbolic link") from None
        raise ArtifactVerificationError(
            f"Model file '{rel}' in {root} cannot be read ({exc.strerror}).", path=root, file=rel
        ) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _refuse_stored(root, rel, "a folder" if stat.S_ISDIR(mode) else _kind(mode))
    return fd


def build_manifest(root: str) -> bytes:
    """The manifest text for the files under ``root``.

    Raises:
        ArtifactVerificationError: the tree holds a symbolic link, FIFO, socket or device.
    """
    lines = []
    for rel in _stored_files(root):
        fd = _open_stored(root, rel)
        try:
            lines.append(f"{_sha256_fd(fd)}  {rel}\n")
        finally:
            os.close(fd)
    return "".join(lines).encode()


def read_manifest(path: str, digest: str) -> dict[str, str]:
    """The manifest of the files under ``path`` (posix path -> sha256), after checking it against ``digest``.

    Only the manifest is read and checked, not the files it lists (`verify_artifacts()` reads those too).

    Raises:
        ArtifactVerificationError: the manifest is missing, malformed, not a regular file (a link), or does not
            match ``digest``.
    """
    try:
        fd = _open_stored(path, MANIFEST_NAME)
    except FileNotFoundError:
        raise ArtifactVerificationError(
            f"Model files at {path} have no {MANIFEST_NAME}; they cannot be verified. Re-register the model.",
            path=path,
        ) from None
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    manifest = b"".join(chunks)
    if hashlib.sha256(manifest).hexdigest() != digest:
        raise ArtifactVerificationError(
            f"The manifest of the model files at {path} was changed after registration (its sha256 differs "
            "from the digest the registry recorded). Do not load these files; re-register the model.",
            path=path,
        )
    expected: dict[str, str] = {}
    manifest_path = os.path.join(path, MANIFEST_NAME)
    for line in manifest.decode("utf-8", "replace").splitlines():
        hexdigest, _, rel = line.partition("  ")
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise ArtifactVerificationError(f"Malformed manifest line {line!r} in {manifest_path}.", path=path)
        expected[rel] = hexdigest
    return expected


def verify_artifacts(path: str, digest: str, meter: ProgressMeter | None = None) -> None:
    """Check that the files under ``path`` are exactly those recorded under ``digest`` (counting the files and
    bytes read on ``meter``, if given).

    Raises:
        ArtifactVerificationError: the manifest is missing or does not match ``digest``, or a file is missing,
            added or changed, or the tree holds a symbolic link, FIFO, socket or device (or is one). The message
            names the file.
    """
    expected = _expected_files(path, digest)
    for rel, hexdigest in expected.items():
        try:
            fd = _open_stored(path, rel)
        except FileNotFoundError:  # removed since the walk
            raise ArtifactVerificationError(
                f"Model file '{rel}' is missing from {path}.", path=path, file=rel
            ) from None
        try:
            actual = _sha256_fd(fd, meter)
        finally:
            os.close(fd)
        if meter is not None:
            meter.advance(files=1, current=rel)
        if actual != hexdigest:
            raise _changed(path, rel)


def _changed(path: str, rel: str) -> ArtifactVerificationError:
    return ArtifactVerificationError(
        f"Model file '{rel}' in {path} was changed after registration (sha256 mismatch). Do not load "
        "it; re-register the model.",
        path=path,
        file=rel,
    )


def _expected_files(path: str, digest: str) -> dict[str, str]:
    """The manifest's files, once the tree is known to hold exactly those (no extra, none missing)."""
    present = _stored_files(path)  # first: refuses links and special files before anything is opened
    expected = read_manifest(path, digest)
    for rel in present:
        if rel not in expected:
            raise ArtifactVerificationError(
                f"Model files at {path} contain '{rel}', which was not there at registration. Do not load "
                "them; remove the file or re-register the model.",
                path=path,
                file=rel,
            )
    missing = sorted(set(expected) - set(present))
    if missing:
        raise ArtifactVerificationError(
            f"Model file '{missing[0]}' is missing from {path}.", path=path, file=missing[0]
        )
    return expected


def stored_size(path: str, digest: str) -> tuple[int, int]:
    """(files, bytes) of a version's stored copy as its manifest lists them (sizes as they are now; a missing
    file counts 0): the totals a progress display needs before verifying or exporting."""
    files = read_manifest(path, digest)
    total = 0
    for rel in files:
        try:
            total += os.lstat(os.path.join(path, *rel.split("/"))).st_size
        except OSError:
            pass
    return len(files), total


def copy_verified(path: str, digest: str, target: str, *, progress: ProgressCallback | None = None) -> None:
    """Copy a version's stored files into ``target`` (absent or an empty folder), hashing each as it is
    copied: the export hands out exactly the registered bytes, reading them once. The copy is built in a
    sibling folder and renamed into place only when every file matched, so ``target`` never holds a partial
    or unverified copy.

    Raises:
        ArtifactVerificationError: a stored file is missing, extra or changed (``target`` is left as it was).
    """
    expected = _expected_files(path, digest)
    files, size = stored_size(path, digest)
    meter = ProgressMeter("export", files, size, progress)
    meter.start()
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    part = os.path.join(parent, f".{os.path.basename(target)}.part-{uuid.uuid4().hex[:8]}")
    os.mkdir(part)
    try:
        for rel, hexdigest in expected.items():
            fd = _open_stored(path, rel)
            try:
                dest = os.path.join(part, *rel.split("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                st = os.fstat(fd)
                out = os.open(dest, _WRITE_FLAGS, stat.S_IMODE(st.st_mode) | stat.S_IRUSR | stat.S_IWUSR)
                h = hashlib.sha256()
                try:
                    while chunk := os.read(fd, _CHUNK):
                        h.update(chunk)
                        _write_all(out, chunk)
                        meter.advance(nbytes=len(chunk))
                finally:
                    os.close(out)
                os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(fd)
            if h.hexdigest() != hexdigest:
                raise _changed(path, rel)
            meter.advance(files=1, current=rel)
        shutil.copy2(os.path.join(path, MANIFEST_NAME), os.path.join(part, MANIFEST_NAME))
        os.replace(part, target)  # onto an empty folder too (rename(2) replaces an empty directory)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    meter.finish()


# -- registering: copying a source folder in ---------------------------------------------------------------------


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _refuse_source(source: str, rel: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Cannot register {source!r}: '{rel}' {why}. A model folder is copied as regular files and folders "
        "(links are followed only to files inside it); nothing was registered.",
        source=source,
        path=rel,
    )


def _too_big(source: str, limits: CopyLimits) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Cannot register {source!r}: its files hold more than {limits.max_bytes} bytes. Pass the model's own "
        "folder, or raise the limit (Registry(..., max_version_bytes=...)).",
        source=source,
    )


def _too_many(source: str, limits: CopyLimits) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Cannot register {source!r}: it holds more than {limits.max_files} files and folders. Pass the "
        "model's own folder, or raise the limit (Registry(..., max_version_files=...)).",
        source=source,
    )


def _check_name(source: str, rel: str) -> None:
    # The manifest is one line per file, in UTF-8: a name it cannot hold would make the copy unverifiable.
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "replace").decode("utf-8")
        raise _refuse_source(source, shown, "has a name that is not valid UTF-8") from None
    if "\n" in rel or "\r" in rel:
        raise _refuse_source(source, repr(rel)[1:-1], "has a line break in its name")


@attrs.frozen
class _Plan:
    folders: list[str]
    files: list[tuple[str, str]]  # (relative destination, real source path)
    size: int = 0  # the files' bytes, as the walk saw them


def _resolve_link(source: str, root: str, rel: str, link: str) -> str:
    """The real path a link inside the source stands for, if it stays inside ``root``."""
    try:
        real = os.path.realpath(link, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse_source(source, rel, "is a symbolic link loop") from None
        raise _refuse_source(source, rel, "is a dangling symbolic link (its target does not exist)") from None
    if not _inside(real, root):
        raise _refuse_source(source, rel, f"is a symbolic link to {os.readlink(link)!r}, outside the folder")
    return real


def _plan_copy(source: str, root: str, limits: CopyLimits) -> _Plan:
    """Walk the source once and decide every entry before anything is written; the walk itself is bounded."""
    folders: list[str] = []
    files: list[tuple[str, str]] = []
    total = 0
    # (relative prefix, real folder, the real folders above it: a link back to one of those is a loop)
    pending: list[tuple[str, str, frozenset[str]]] = [("", root, frozenset([root]))]
    while pending:
        prefix, folder, above = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise _refuse_source(source, prefix.rstrip("/") or ".", f"cannot be read ({exc.strerror})") from None
        for entry in entries:
            rel = prefix + entry.name
            if rel == MANIFEST_NAME:
                continue  # a manifest inside the source is recomputed, never trusted
            _check_name(source, rel)
            real = entry.path
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                real = _resolve_link(source, root, rel, entry.path)
                st = os.stat(real)
            if stat.S_ISDIR(st.st_mode):
                if real in above:
                    raise _refuse_source(source, rel, "is a symbolic link loop (it leads back to a folder above it)")
                folders.append(rel)
                pending.append((rel + "/", real, above | {real}))
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, real))
                total += st.st_size
                if total > limits.max_bytes:
                    raise _too_big(source, limits)
            else:
                raise _refuse_source(source, rel, f"is {_kind(st.st_mode)}")
            if len(folders) + len(files) > limits.max_files:
                raise _too_many(source, limits)
    return _Plan(folders=folders, files=files, size=total)


class _OverBudget(Exception):
    """A file gave more bytes than the limit leaves (it grew after the walk, or is not what stat said)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_file(
    source: str, rel: str, src: str, dest: str, budget: int, *, durable: bool, meter: ProgressMeter
) -> tuple[str, int]:
    """Copy one planned file, hashing as it goes; returns (sha256, size). Reads at most ``budget`` + 1 bytes."""
    fd = os.open(src, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped since the walk
            raise _refuse_source(source, rel, f"is {_kind(st.st_mode)}")
        out = os.open(dest, _WRITE_FLAGS, stat.S_IMODE(st.st_mode) | stat.S_IRUSR | stat.S_IWUSR)
        digest = hashlib.sha256()
        size = 0
        try:
            while chunk := os.read(fd, min(_CHUNK, budget - size + 1)):
                size += len(chunk)
                if size > budget:
                    raise _OverBudget
                digest.update(chunk)
                _write_all(out, chunk)
                meter.advance(nbytes=len(chunk))
            if durable:
                os.fsync(out)
        finally:
            os.close(out)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
        return digest.hexdigest(), size
    finally:
        os.close(fd)


def _check_source(source: str) -> str:
    absolute = os.path.join(os.getcwd(), source)  # explicit: a relative source means the working directory
    if not os.path.isdir(absolute):
        why = "does not exist" if not os.path.lexists(absolute) else "is not a folder"
        raise InvalidParameterValue(f"Model source {source!r} {why}.", source=source)
    return os.path.realpath(absolute)


def copy_folder(
    source: str,
    target: str,
    *,
    durable: bool = False,
    limits: CopyLimits | None = None,
    progress: ProgressCallback | None = None,
) -> list[tuple[str, str]]:
    """Copy the folder ``source`` to the new folder ``target`` by the rule in the module docstring.

    A relative ``source`` is read from the current working directory. Returns ``(relative path, sha256)`` of
    every file copied, sorted by path. ``progress`` is told the files and bytes copied (task ``register``).

    Raises:
        InvalidParameterValue: ``source`` is not a folder, holds something that cannot be copied safely (named
            in the message and in the error's ``path``), or is over ``limits``. ``target`` is not left behind.
    """
    limits = limits or CopyLimits()
    root = _check_source(source)
    if _inside(os.path.realpath(target), root):
        raise InvalidParameterValue(
            f"Cannot copy {source!r} into {target}, which lies inside it. Pass the model's own folder.",
            source=source,
        )
    plan = _plan_copy(source, root, limits)
    meter = ProgressMeter("register", len(plan.files), plan.size, progress)
    meter.start()
    try:
        os.mkdir(target)
        for rel in plan.folders:
            os.mkdir(os.path.join(target, rel))
        entries: list[tuple[str, str]] = []
        copied = 0
        for rel, src in plan.files:
            try:
                hexdigest, size = _copy_file(
                    source,
                    rel,
                    src,
                    os.path.join(target, rel),
                    limits.max_bytes - copied,
                    durable=durable,
                    meter=meter,
                )
            except _OverBudget:
                raise _too_big(source, limits) from None
            copied += size
            entries.append((rel, hexdigest))
            meter.advance(files=1, current=rel)
        if durable:
            for rel in ["", *plan.folders]:
                fsync_dir(os.path.join(target, rel))
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidParameterValue(f"Cannot copy model source {source!r}: {exc}", source=source) from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    meter.finish()
    return sorted(entries)


def stage_directory(
    source: str,
    staging_root: str,
    *,
    durable: bool,
    limits: CopyLimits | None = None,
    progress: ProgressCallback | None = None,
) -> StagedArtifacts:
    """Copy the folder ``source`` under ``staging_root`` (by `copy_folder()`) and write its manifest.

    The copy owes nothing to the source afterwards: links inside the folder are stored as the files they
    point to.

    Raises:
        InvalidParameterValue: as `copy_folder()`, or ``source`` contains the staging folder. Nothing is
            left in ``staging_root``.
    """
    root = _check_source(source)
    if _inside(os.path.realpath(staging_root), root):
        raise InvalidParameterValue(
            f"Cannot register {source!r}: it contains the registry itself ({staging_root}). Pass the model's own "
            "folder.",
            source=source,
        )
    target = os.path.join(staging_root, f"stage-{uuid.uuid4().hex}")
    entries = copy_folder(source, target, durable=durable, limits=limits, progress=progress)
    try:
        manifest = "".join(f"{hexdigest}  {rel}\n" for rel, hexdigest in entries).encode()
        fd = os.open(os.path.join(target, MANIFEST_NAME), _WRITE_FLAGS, 0o666)
        try:
            _write_all(fd, manifest)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if durable:
            fsync_dir(target)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidParameterValue(f"Cannot copy model source {source!r}: {exc}", source=source) from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return StagedArtifacts(path=target, digest=hashlib.sha256(manifest).hexdigest())
