"""The client's methods that create versions: from a source, from a folder of files, or as a copy of another
version (a mixin of `registry.Registry`). Files are staged before the write and published inside it, so a
refused write leaves no copy behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from registry.client.names import model_name
from registry.errors import ResourceAlreadyExists

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.domain import commands
    from registry.domain.entities import ModelVersion, RegisteredModel
    from registry.domain.progress import ProgressCallback
    from registry.domain.state import Event, RegistryState
    from registry.store.artifacts import CopyLimits
    from registry.store.base import Store

__all__ = ["VersionCreationMixin"]


class VersionCreationMixin:
    if TYPE_CHECKING:  # what the client provides
        _store: Store
        _copy_limits: CopyLimits

        def _write(
            self,
            decide: Callable[[RegistryState], list[commands.Change]],
            *,
            publish: Callable[[list[commands.Change]], None] | None = None,
        ) -> list[Event]: ...

        def resolve_model_uri(self, uri: str) -> ModelVersion: ...

        def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

        def create_registered_model(
            self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
        ) -> RegisteredModel: ...

    def create_model_version(
        self,
        name: str,
        source: str | os.PathLike[str],
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> ModelVersion:
        """Create the next version of a registered model.

        A local folder (a path or a ``file:`` URI), or a ``models:/`` URI of a version that has files, is copied
        into the registry with a sha256 manifest, so the registry is self-contained and loads can be verified;
        a relative path is read from the current working directory. Any other source (``s3://...``, or a path
        that is not an existing folder) is recorded as given, as MLflow does; a local path that does not exist
        is logged as a warning on the ``registry`` logger, since it is more often a typo than a plan.
        ``await_creation_for`` is accepted for MLflow compatibility; versions are ready when this returns.
        ``progress`` (a `ProgressCallback`) is told how the copy goes: files and
        bytes copied of the folder's total, task ``register``.

        The copy takes regular files and folders; a symbolic link is stored as the file it points to when that
        lies inside the folder, and a link leading outside, a loop, a FIFO, socket or device is refused (see
        `registry.store.artifacts`), as is a folder over ``max_version_bytes`` / ``max_version_files``.

        Raises:
            ResourceDoesNotExist: the registered model does not exist (create it first, as in MLflow).
            InvalidParameterValue: the folder holds something that cannot be copied safely, or is too large;
                the message names it, and nothing is written.
        """
        from registry.store.progress import check_callback

        source_text = os.fspath(source) if isinstance(source, os.PathLike) else source
        return self._create_version(
            model_name(name),
            source_text,
            files=self._files_of_source(source_text),
            run_id=run_id,
            tags=tags,
            run_link=run_link,
            description=description,
            progress=check_callback(progress),
        )

    def create_model_version_from_files(
        self,
        name: str,
        files: str | os.PathLike[str],
        *,
        source: str | None = None,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        version: int | None = None,
    ) -> ModelVersion:
        """Create the next version of ``name`` from the model folder ``files``, copied into the registry.

        Unlike `create_model_version()`, the recorded ``source`` need not be the folder (``None``: the
        version's own copy in the registry), which is what `log_model()` needs: its staging folder is gone
        once it returns. ``version`` gives the new version a chosen number instead of the counter's next one
        (what importing from another registry needs); it must be one the model has never allocated, and the
        counter moves past it, so numbers stay unique and are never reused.

        Raises:
            ResourceDoesNotExist: the registered model does not exist.
            ResourceAlreadyExists: ``version`` was already allocated (even if that version was deleted).
        """
        from registry.store.files import path_text

        return self._create_version(
            model_name(name),
            source,
            files=path_text(files, "files"),
            run_id=run_id,
            tags=tags,
            run_link=run_link,
            description=description,
            version=version,
        )

    def _files_of_source(self, source: Any) -> str | None:
        """The local folder whose files a new version should copy, if the source names one."""
        import logging

        from registry.domain.uris import is_models_uri, local_path

        if not isinstance(source, str) or not source:
            return None
        if is_models_uri(source):
            mv = self.resolve_model_uri(source)
            return mv.storage_location
        path = local_path(source)
        if path is None:
            return None
        absolute = os.path.join(os.getcwd(), os.path.expanduser(path))  # relative: the working directory
        if os.path.isdir(absolute):
            return absolute
        if not os.path.exists(absolute):
            logging.getLogger(__name__).warning(
                "registry: the source %r of a new version does not exist (looked for %s); it is recorded as "
                "given, and no files are copied",
                source,
                absolute,
            )
        return None

    def _create_version(
        self,
        name: str,
        source: str | None,
        *,
        files: str | None,
        run_id: str | None,
        tags: Mapping[str, Any] | None,
        run_link: str | None,
        description: str | None,
        version: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ModelVersion:
        # Everything the command will check that does not need the state is checked now, before any file is
        # copied: a refusal after staging would leave the copy behind until check --fix.
        from registry.domain import commands
        from registry.domain.validation import validate_description, validate_run_id, validate_run_link, validate_tags

        run_id, run_link = validate_run_id(run_id), validate_run_link(run_link)
        tags, description = validate_tags(tags), validate_description(description)
        with self._store.reading() as state:
            commands.next_version(
                state, name, version
            )  # fail fast, before copying files for a model that does not exist
        staged = self._store.stage_artifacts(files, self._copy_limits, progress) if files is not None else None
        digest = staged.digest if staged is not None else None

        def decide(state: RegistryState) -> list[commands.Change]:
            return commands.create_model_version(
                state,
                name,
                source=source,
                run_id=run_id,
                tags=tags,
                run_link=run_link,
                description=description,
                digest=digest,
                version=version,
            )

        def publish(changes: list[commands.Change]) -> None:
            assert staged is not None
            self._store.publish_artifacts(staged, changes[0].model_id, changes[0].data["version"])

        try:
            events = self._write(decide, publish=publish if staged is not None else None)
        except BaseException:
            if staged is not None:
                self._store.discard_artifacts(staged)
            raise
        return self.get_model_version(name, events[0].data["version"])

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Copy a version (given by a ``models:/`` URI) to a new version of ``dst_name``, creating it if needed.

        The copy gets its own files, tags, description, run id and link, starts in stage ``None``, and records
        ``models:/<src name>/<src version>`` as its source.
        """
        src = self.resolve_model_uri(src_model_uri)
        try:
            self.create_registered_model(dst_name)
        except ResourceAlreadyExists:
            pass
        return self._create_version(
            model_name(dst_name),
            f"models:/{src.name}/{src.version}",
            files=src.storage_location,
            run_id=src.run_id,
            tags=src.tags,
            run_link=src.run_link,
            description=src.description,
        )
