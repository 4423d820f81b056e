"""The client's import method: bring models made elsewhere into the registry in verified, atomic steps (a mixin of
`registry.Registry`; the rules are the pure command `registry.domain.imports.plan_import()`).

Bundles and MLflow registries (`registry.exchange`) read what they carry into
`ImportedModel` values and local folders, and call `ImportsMixin.import_models()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

from registry.errors import ArtifactVerificationError, InvalidParameterValue

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.domain.commands import Change
    from registry.domain.imports import ImportedModel, ImportedVersion, ImportReport
    from registry.domain.progress import ProgressCallback
    from registry.domain.state import Event, RegistryState
    from registry.exchange.protocol import RegistryLike
    from registry.store.artifacts import CopyLimits, StagedArtifacts
    from registry.store.base import Store

__all__ = ["ImportsMixin"]


def _checked(
    models: object, files: object, origin: object
) -> tuple[Sequence[ImportedModel], dict[tuple[str, int], str]]:
    from registry.domain.imports import ImportedModel

    if not isinstance(models, list | tuple) or not all(isinstance(m, ImportedModel) for m in models):
        raise InvalidParameterValue(f"models must be a list of ImportedModel, got {models!r:.80}.")
    if origin is not None and not isinstance(origin, str):
        raise InvalidParameterValue(f"origin must be text or None, got {origin!r:.80}.")
    if files is None:
        return models, {}
    if not isinstance(files, Mapping):
        raise InvalidParameterValue(f"files must map (name, version) to a folder, got {files!r:.80}.")
    given: dict[tuple[str, int], str] = {}
    for key, folder in files.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], str)
            and isinstance(key[1], int)
            and not isinstance(key[1], bool)
        ):
            raise InvalidParameterValue(f"files keys must be (name, version) pairs, got {key!r:.80}.")
        try:
            path = os.fspath(folder)
        except TypeError:
            raise InvalidParameterValue(
                f"The files of {key!r:.80} must be a folder path, got {folder!r:.80}."
            ) from None
        if not isinstance(path, str) or not path:
            raise InvalidParameterValue(f"The files of {key!r:.80} must be a folder path, got {path!r:.80}.")
        given[key] = path
    return models, given


class ImportsMixin:
    if TYPE_CHECKING:  # what the client provides
        _store: Store
        _copy_limits: CopyLimits

        def new_id(self) -> str: ...

        def _write(
            self, decide: Callable[[RegistryState], list[Change]], *, publish: Callable[[list[Change]], None] | None
        ) -> list[Event]: ...

    def import_models(
        self,
        models: Sequence[ImportedModel],
        files: Mapping[tuple[str, int], str | os.PathLike[str]] | None = None,
        *,
        origin: str | None = None,
    ) -> ImportReport:
        """Bring ``models`` into the registry, each model in one journal record (readers see all of it or none).

        Args:
            models: the models and versions as they are at the source (version numbers are kept).
            files: a local folder of files for ``(name, version)``; it is copied into the registry's staging
                area with a manifest first. A version that declares a ``digest`` must have files giving exactly
                that digest. Versions without files keep their ``source`` as recorded.
            origin: where the models come from, recorded in the journal (a bundle's path, an MLflow URI).

        Returns:
            An `ImportReport` (nothing changed when the models were already here).

        Raises:
            ImportConflict: something would be overwritten; every conflict is listed and nothing is written.
            ArtifactVerificationError: a version's files do not give the digest it declares.
        """
        import attrs

        from registry.domain.imports import plan_import

        models, given = _checked(models, files, origin)
        with self._store.reading() as state:
            live = {
                (m.name, v.version)
                for m in models
                if state.has_model(m.name)
                for v in m.versions
                if v.version in state.model(m.name).versions
            }
        staged: dict[tuple[str, int], StagedArtifacts] = {}
        try:
            prepared = []
            for m in models:
                versions: list[ImportedVersion] = []
                for v in m.versions:
                    key = (m.name, v.version)
                    folder = given.get(key)
                    # A version already here with a declared digest is compared by digest: no copy needed.
                    if folder is not None and not (key in live and v.digest is not None):
                        copy = staged[key] = self._store.stage_artifacts(folder, self._copy_limits)
                        if v.digest is not None and copy.digest != v.digest:
                            raise ArtifactVerificationError(
                                f"The files of '{m.name}' version {v.version} do not match the digest they were "
                                "declared with; nothing was imported.",
                                name=m.name,
                                version=v.version,
                            )
                        v = attrs.evolve(v, digest=copy.digest)
                    elif folder is None and v.digest is not None and key not in live:
                        raise ArtifactVerificationError(
                            f"'{m.name}' version {v.version} declares files (digest {v.digest[:12]}...) but none "
                            "were given; nothing was imported.",
                            name=m.name,
                            version=v.version,
                        )
                    versions.append(v)
                prepared.append(attrs.evolve(m, versions=tuple(versions)))
            new_ids = {m.name: self.new_id() for m in prepared}
            result: list[ImportReport] = []

            def decide(state: RegistryState) -> list[Change]:
                changes, report = plan_import(state, prepared, new_ids, origin=origin)
                result[:] = [report]
                return changes

            def publish(changes: list[Change]) -> None:
                for change in changes:
                    for v in change.data["versions"]:
                        copy = staged.pop((change.name, int(v["version"])), None)
                        if copy is not None:
                            self._store.publish_artifacts(copy, change.model_id, int(v["version"]))

            self._write(decide, publish=publish)
            return result[0]
        finally:
            for copy in staged.values():  # what was not published (versions already here, or a refusal)
                self._store.discard_artifacts(copy)

    # -- bundles and the MLflow border (the logic is in registry.exchange, which takes this registry) ----------

    def export_bundle(
        self,
        path: str | os.PathLike[str],
        models: Iterable[str] | str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> dict[str, list[int]]:
        """Write the selected models and versions (``NAME``, ``NAME@alias``, ``NAME/3``, ``NAME/Production``;
        ``None``: all) with their metadata, history and files into one tar file. Returns name -> versions
        written. ``progress`` is told the files and bytes written (task ``bundle``). See
        `registry.exchange.bundle.export_bundle()`."""
        from registry.exchange.bundle import export_bundle
        from registry.store.progress import check_callback

        return export_bundle(self._exchangeable(), path, models, check_callback(progress))

    def import_bundle(self, path: str | os.PathLike[str], *, progress: ProgressCallback | None = None) -> ImportReport:
        """Verify a bundle completely, then import it atomically per model and idempotently (numbers kept).
        ``progress`` is told the files and bytes verified (task ``import``).

        Raises:
            CorruptBundle: the bundle is damaged or unsafe; nothing was written.
            ImportConflict: it would overwrite something here; every conflict is listed and nothing was written.
        """
        from registry.exchange.bundle import import_bundle
        from registry.store.progress import check_callback

        return import_bundle(self._exchangeable(), path, check_callback(progress))

    def import_mlflow(self, source: str, **options: Any) -> ImportReport:
        """Bring an MLflow registry in (``sqlite:///mlflow.db``, an ``mlruns`` folder, ``http://host:port``):
        models, versions with their numbers, stages, aliases, tags, descriptions, run ids and links, and each
        version's files where they can be reached. See `registry.exchange.mlflow_import.import_mlflow()`."""
        from registry.exchange.mlflow_import import import_mlflow

        return import_mlflow(self._exchangeable(), source, **options)

    def push_to_mlflow(self, url: str, models: Iterable[str] | str | None = None, **options: Any) -> Any:
        """Replay this registry (or the selected models) into a running MLflow server over its REST API,
        idempotently and resumably. See `registry.exchange.mlflow_push.push()`."""
        from registry.exchange.mlflow_push import push

        return push(self._exchangeable(), url, models, **options)

    def _exchangeable(self) -> RegistryLike:
        import typing

        return typing.cast("RegistryLike", self)
