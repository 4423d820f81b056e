"""The public face of the registry: `Registry`, and `MlflowClient` under MLflow's constructor.

Method names, arguments and semantics are those of MLflow's ``MlflowClient`` registry methods, so code written
against MLflow runs unchanged. Every write goes through the store's single funnel; subscribers hear of a
change only after it has committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping

from registry.client.creation import VersionCreationMixin
from registry.client.files import ModelFilesMixin
from registry.client.governance import GovernanceMixin
from registry.client.imports import ImportsMixin
from registry.client.journal import JournalMixin
from registry.client.names import model_name
from registry.client.replicas import ReplicasMixin
from registry.client.webhooks import WebhooksMixin
from registry.errors import InvalidParameterValue, ResourceDoesNotExist
from registry.store.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES
from registry.store.uris import DEFAULT_REGISTRY_FOLDER, get_registry_uri, resolve_registry_uri, set_registry_uri

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from typing import Any

    from registry.domain import commands
    from registry.domain.entities import ModelVersion, RegisteredModel
    from registry.domain.progress import ProgressCallback
    from registry.domain.stages import Stage, StagePolicy
    from registry.domain.state import Event, RegistryState
    from registry.events.bus import EventBus
    from registry.events.log import EventLog
    from registry.events.webhooks.service import WebhookService
    from registry.search import PagedList
    from registry.store.base import Clock, Store

__all__ = [
    "DEFAULT_REGISTRY_FOLDER",
    "Registry",
    "get_registry_uri",
    "resolve_registry_uri",
    "set_registry_uri",
]


_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def _random_id() -> str:
    import uuid  # here, not at the top: `from registry import Registry` stays cheap

    return uuid.uuid4().hex


class Registry(
    JournalMixin, VersionCreationMixin, ModelFilesMixin, ImportsMixin, ReplicasMixin, WebhooksMixin, GovernanceMixin
):
    """A model registry in a folder (or in memory), with MLflow's registry API.

    Args:
        uri: a folder path, a ``file:`` URI, ``memory://`` (a fresh in-memory registry) or ``memory://<name>``
            (an in-memory registry shared by every ``Registry`` in this process that names it). ``None`` means
            ``$REGISTRY_URI``, else ``./mlregistry``.
        policy: the stage policy, ``'lifecycle'``, ``'mlflow'`` or a `StagePolicy`.
            A new registry is created with it; an existing folder keeps its own, and naming a different one
            raises. ``None`` uses the folder's policy, or ``mlflow`` (every move allowed, as in MLflow) for a new
            one, so code written for MLflow runs unchanged on any registry this library creates; ``lifecycle``
            is a choice made here or later with `set_stage_policy()`.
        durable: fsync every commit (the default). ``False`` trades crash safety for speed, for fixtures.
        clock: returns the time in integer milliseconds; inject a fixed clock for exact timestamps in tests.
        user: recorded as ``user_id`` on versions and as the actor of events (default: ``$REGISTRY_USER`` or the
            login name).
        lock_timeout: seconds to wait for another process's write before raising RegistryLockTimeout.
        ids: returns a fresh id (hex digits, letters, ``-`` or ``_``) each call: the internal keys of new models and
            the ids of webhook deliveries. Inject a counter for reproducible tests.
        read_only: open an existing registry for reading only: no lock is taken, nothing is ever written, and
            every write raises `ReadOnlyRegistry`. ``None`` (the default) means
            ``$REGISTRY_READ_ONLY`` (``1``, ``true`` or ``yes``), else ``False``. A folder this process cannot
            write (permissions, a read-only filesystem) opens and reads the same way without it; its writes
            raise the same error.
        max_version_bytes: the most bytes one version's files may hold when a folder is registered (50 GB).
        max_version_files: the most files and folders one version may hold (1,000,000).

    Raises:
        InvalidParameterValue: for an unsupported URI, a folder that is not a registry, or a policy conflict.
        ResourceDoesNotExist: ``read_only`` and there is no registry there.
        RegistryIOError: the operating system refused to read the folder (the message says what to do).
    """

    _default_policy_name = "mlflow"  # a name, not the policy: naming it imports nothing

    def __init__(
        self,
        uri: str | os.PathLike[str] | None = None,
        *,
        policy: str | StagePolicy | None = None,
        durable: bool = True,
        clock: Clock | None = None,
        user: str | None = None,
        lock_timeout: float = 30.0,
        ids: Callable[[], str] | None = None,
        read_only: bool | None = None,
        max_version_bytes: int = DEFAULT_MAX_BYTES,
        max_version_files: int = DEFAULT_MAX_FILES,
    ) -> None:
        from registry.domain.stages import policy_named
        from registry.store.artifacts import CopyLimits
        from registry.store.base import default_actor, system_clock
        from registry.store.uris import open_store, resolve_registry_uri

        self._copy_limits = CopyLimits(max_bytes=max_version_bytes, max_files=max_version_files)
        if read_only is None:
            read_only = os.environ.get("REGISTRY_READ_ONLY", "").strip().lower() in ("1", "true", "yes")
        elif not isinstance(read_only, bool):
            raise InvalidParameterValue(f"read_only must be True, False or None, got {read_only!r}.")
        self._clock = clock or system_clock
        self._ids = ids or _random_id
        actor = user if user is not None else default_actor()
        self._user = actor
        explicit = policy_named(policy) if policy is not None else None
        self.uri = resolve_registry_uri(uri)
        self._store: Store = open_store(
            self.uri,
            policy=explicit,
            default_policy=policy_named(self._default_policy_name),
            clock=self._clock,
            actor=actor,
            durable=durable,
            lock_timeout=lock_timeout,
            read_only=read_only,
        )
        self._listeners: list[Callable[[list[Event]], None]] = []
        self._store.on_commit(self._deliver)
        # Subscribers and webhooks (registry.events, registry.webhooks) hear of each commit through _listeners.
        # The bus and the event log are made on first use: a process that only reads never loads them.
        self._event_bus: EventBus | None = None
        self._event_log: EventLog | None = None
        self._webhook_service: WebhookService | None = None
        self._listeners += [self._dispatch, self._notify_webhooks]

    @property
    def _bus(self) -> EventBus:
        if self._event_bus is None:
            from registry.events.bus import EventBus

            self._event_bus = EventBus()
        return self._event_bus

    @property
    def _log(self) -> EventLog:
        if self._event_log is None:
            from registry.events.log import EventLog

            self._event_log = EventLog(self._store)
        return self._event_log

    def _dispatch(self, events: list[Event]) -> None:
        if self._event_bus is not None:  # no bus yet: nobody has subscribed
            self._event_bus.dispatch(events)

    @property
    def webhook_service(self) -> WebhookService:
        """The registry's webhook and trigger service (what `registry.webhooks`' worker functions drive)."""
        # Made on first use: a process that only reads (an edge device serving a model) never loads webhooks.
        if self._webhook_service is None:
            from registry.events.webhooks.service import WebhookService

            self._webhook_service = WebhookService(self._store, self._log, uri=self.uri, new_id=self.new_id)
        return self._webhook_service

    def _notify_webhooks(self, events: list[Event]) -> None:
        self.webhook_service.notify(events)

    def new_id(self) -> str:
        """A fresh id from the ``ids`` generator (checked, because ids become folder names)."""
        value = self._ids()
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise InvalidParameterValue(
                f"The ids generator returned {value!r}; ids must be 1-64 letters, digits, '-' or '_'."
            )
        return value

    def _open_source(self, uri: str, **options: Any) -> Registry:
        """Another registry of this class (what a replica's sync opens its source with, ``read_only=True``)."""
        return type(self)(uri, **options) if type(self) is Registry else Registry(uri, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write a checkpoint if one is due and release resources. Named in-memory registries live on."""
        from registry.store.uris import MEMORY

        if self._webhook_service is not None:
            self._webhook_service.close()  # lets deliveries already due go out first (a few seconds at most)
        if not self.uri.startswith(MEMORY) or self.uri == MEMORY:
            self._store.close()

    # -- the stage policy -----------------------------------------------------------------------------------------

    @property
    def stage_policy(self) -> StagePolicy:
        """The stage policy every process using this registry enforces (as stored now)."""
        return self._store.read_policy()

    def set_stage_policy(self, policy: str | StagePolicy) -> None:
        """Replace the registry's stage policy (stored in the registry, so every process enforces it)."""
        from registry.domain.stages import policy_named

        chosen = policy_named(policy)
        self._store.save_policy(chosen)

    # -- registered models ----------------------------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create a registered model.

        Raises:
            ResourceAlreadyExists: a model with this name exists.
            InvalidParameterValue: a bad name, tag or description.
        """
        from registry.domain import commands

        model_id = self.new_id()
        self._write(lambda s: commands.create_registered_model(s, name, tags, description, model_id))
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises ResourceDoesNotExist when there is no model called ``name``."""
        with self._store.reading() as state:
            return state.registered_model(model_name(name))

    def list_registered_models(self) -> list[RegisteredModel]:
        """Every registered model, ordered by name."""
        with self._store.reading() as state:
            return [state.registered_model(n) for n in sorted(state.names())]

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Search registered models with MLflow's filter language (see the README's "Search" section).

        Args:
            filter_string: e.g. ``"name LIKE 'churn-%' AND tags.team = 'risk'"``; ``None`` returns all.
            max_results: the page size, 1 to 1,000.
            order_by: e.g. ``["last_updated_timestamp DESC"]``; default ``name ASC``.
            page_token: the ``token`` of the previous page.

        Returns:
            A `PagedList` of `RegisteredModel`; ``.token`` fetches the next page.

        Raises:
            InvalidParameterValue: for a malformed filter, order, page size or page token.
        """
        with self._store.reading() as state:
            return _search().search_registered_models(state, filter_string, max_results, order_by, page_token)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model, keeping its versions, tags, aliases and history.

        Raises:
            ResourceAlreadyExists: ``new_name`` is taken.
        """
        from registry.domain import commands

        self._write(lambda s: commands.rename_registered_model(s, model_name(name), new_name))
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a model's description."""
        from registry.domain import commands

        self._write(lambda s: commands.update_registered_model(s, model_name(name), description))
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, aliases and files. Re-creating the name starts at version 1."""
        from registry.domain import commands

        self._write(lambda s: commands.delete_registered_model(s, model_name(name)))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a model (``value`` is converted to ``str``)."""
        from registry.domain import commands

        self._write(lambda s: commands.set_registered_model_tag(s, model_name(name), key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag (deleting an absent tag does nothing, as in MLflow)."""
        from registry.domain import commands

        self._write(lambda s: commands.delete_registered_model_tag(s, model_name(name), key))

    # -- model versions --------------------------------------------------------------------------------------------

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Raises ResourceDoesNotExist for an unknown model or version (deleted versions included)."""
        from registry.domain.state import version_not_found
        from registry.domain.validation import validate_version

        number = validate_version(version)
        with self._store.reading() as state:
            if model_name(name) not in state.ids_by_name:  # MLflow names the version, not the model, here too
                raise version_not_found(name, number)
            return state.model(name).version(number)

    def fetch_version_files(self, name: str, version: int | str) -> ModelVersion:
        """The version, with its own files present at ``storage_location`` on this machine: on a bucket registry
        they are downloaded into the local cache first (verified, once); on a folder this is
        `get_model_version()`.

        Raises:
            ResourceDoesNotExist: no such model or version.
            ArtifactVerificationError: a bucket registry's files for the version differ from those registered.
        """
        mv = self.get_model_version(name, version)
        self._store.ensure_local(mv)
        return mv

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """The live versions of a model, oldest first."""
        with self._store.reading() as state:
            return state.model_versions(model_name(name))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Search model versions with MLflow's filter language (see the README's "Search" section).

        Args:
            filter_string: e.g. ``"name = 'fraud' AND tags.validation_status = 'passed'"``; ``None`` returns
                all live versions.
            max_results: the page size, 1 to 200,000.
            order_by: e.g. ``["version_number DESC"]``; default
                ``last_updated_timestamp DESC, name ASC, version_number DESC``.
            page_token: the ``token`` of the previous page.

        Returns:
            A `PagedList` of `ModelVersion` (with their aliases); ``.token``
            fetches the next page.

        Raises:
            InvalidParameterValue: for a malformed filter, order, page size or page token.
        """
        with self._store.reading() as state:
            return _search().search_model_versions(state, filter_string, max_results, order_by, page_token)

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        """Set a version's description."""
        from registry.domain import commands

        self._write(lambda s: commands.update_model_version(s, model_name(name), version, description))
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and its files; its aliases go with it. Its number is never reused."""
        from registry.domain import commands

        self._write(lambda s: commands.delete_model_version(s, model_name(name), version))

    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set a tag on a version (given by number, or, as MLflow allows, by ``stage``: its latest there)."""
        from registry.domain import commands

        number = self._version_or_stage(name, version, stage)
        self._write(lambda s: commands.set_model_version_tag(s, model_name(name), number, key, value))

    def delete_model_version_tag(
        self, name: str, version: int | str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        """Delete a version tag (deleting an absent tag does nothing, as in MLflow)."""
        from registry.domain import commands

        number = self._version_or_stage(name, version, stage)
        self._write(lambda s: commands.delete_model_version_tag(s, model_name(name), number, key))

    def _version_or_stage(self, name: str, version: int | str | None, stage: str | None) -> Any:
        from registry.domain.stages import Stage

        if version is not None and stage is not None:
            raise InvalidParameterValue("Pass either version or stage, not both.")
        if version is not None:
            return version
        if stage is None:
            raise InvalidParameterValue("Pass the version (or a stage, to mean its latest version there).")
        latest = self.get_latest_versions(name, [stage])
        if not latest:
            raise ResourceDoesNotExist(
                f"Registered model '{name}' has no version in stage '{Stage.parse(stage).value}'.", name=name
            )
        return latest[0].version

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are: the registry's own copy when it has one, else the recorded source.

        A version recorded with another version as its source (``models:/<name>/<number>``, as copies of versions
        without files of their own are) points where that version's files are, as in MLflow's SQL store.
        """
        from registry.domain.uris import is_models_uri, parse_models_uri

        mv = self.get_model_version(name, version)
        seen = {(mv.name, mv.version)}
        while mv.storage_location is None and mv.source and is_models_uri(mv.source):
            try:
                ref = parse_models_uri(mv.source)
                # Only numbered references: an alias, stage or 'latest' meant a version at creation time.
                if ref.version is None or (ref.name, ref.version) in seen:
                    break
                mv = self.get_model_version(ref.name, ref.version)
            except (InvalidParameterValue, ResourceDoesNotExist):
                break  # the referenced version is gone: report the source as recorded
            seen.add((mv.name, mv.version))
        self._store.ensure_local(mv)
        return mv.storage_location or mv.source or ""

    # -- stages ----------------------------------------------------------------------------------------------------

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage`` (case-insensitive), as the registry's stage policy allows.

        With ``archive_existing_versions=True`` (Staging or Production only) the other versions in that stage
        are archived in the same atomic step: no reader ever sees two versions there or none.

        Raises:
            IllegalStageTransition: the policy does not allow the move (the message names the allowed ones).
        """
        from registry.domain import commands

        self._write(
            lambda s: commands.transition_model_version_stage(
                s, self._store.policy, model_name(name), version, stage, archive_existing_versions
            )
        )
        return self.get_model_version(name, version)

    def get_latest_versions(self, name: str, stages: Iterable[str] | None = None) -> list[ModelVersion]:
        """The highest version in each of ``stages`` (all four when ``None`` or empty) that has one."""
        from registry.domain import commands

        with self._store.reading() as state:
            return commands.latest_versions(state, model_name(name), stages)

    def get_model_version_stages(self, name: str, version: int | str) -> list[str]:
        """The stages this version may be in next: its own and those the stage policy lets it move to."""
        from registry.domain.stages import Stage

        mv = self.get_model_version(name, version)
        allowed = {mv.current_stage, *self._store.policy.allowed_targets(mv.current_stage)}
        return [s.value for s in Stage if s in allowed]

    # -- aliases ---------------------------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        from registry.domain import commands

        self._write(lambda s: commands.set_registered_model_alias(s, model_name(name), alias, version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (removing an absent one does nothing, as in MLflow)."""
        from registry.domain import commands

        self._write(lambda s: commands.delete_registered_model_alias(s, model_name(name), alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; the reserved ``latest`` (any case, as in MLflow) means the newest version.

        Raises:
            ResourceDoesNotExist: no such model or alias, or ``latest`` of a model without versions.
        """
        from registry.domain import commands
        from registry.domain.validation import validate_alias

        if not isinstance(alias, str):
            validate_alias(alias)
        with self._store.reading() as state:
            model = state.model(model_name(name))
            if alias.lower() == "latest" and alias not in model.aliases:
                newest = model.latest_version()
                if newest is None:
                    raise ResourceDoesNotExist(f"Registered model '{name}' has no versions, so no 'latest'.", name=name)
                return newest
            if alias not in model.aliases:
                validate_alias(alias)
                raise commands.alias_not_found(name, alias)
            return model.versions[model.aliases[alias]]

    # -- URIs ------------------------------------------------------------------------------------------------------

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names: ``/3``, ``/<stage>`` (its highest version), ``/latest``, ``@alias``.

        On a bucket registry the version's files are downloaded into the local cache first (once: a cached copy
        is reused while its manifest matches the recorded digest), so ``storage_location`` is a local folder.

        Raises:
            InvalidParameterValue: a malformed URI.
            ResourceDoesNotExist: nothing matches.
            ArtifactVerificationError: a bucket registry's files for the version differ from those registered.
        """
        mv = self._version_of_uri(uri)
        self._store.ensure_local(mv)
        return mv

    def _version_of_uri(self, uri: str) -> ModelVersion:
        from registry.domain.uris import parse_models_uri

        ref = parse_models_uri(uri)
        if ref.alias is not None:
            return self.get_model_version_by_alias(ref.name, ref.alias)
        if ref.version is not None:
            return self.get_model_version(ref.name, ref.version)
        with self._store.reading() as state:
            model = state.model(ref.name)
            if ref.stage is not None:
                found = model.latest(ref.stage)
                if found is None:
                    raise ResourceDoesNotExist(
                        f"No versions of model with name '{ref.name}' and stage '{ref.stage.value}' found "
                        f"(resolving {uri}).",
                        name=ref.name,
                        stage=ref.stage.value,
                    )
                return found
            latest = model.latest_version()
            if latest is None:
                raise ResourceDoesNotExist(
                    f"Registered model '{ref.name}' has no versions (resolving {uri}).", name=ref.name
                )
            return latest

    # -- the journal's position -------------------------------------------------------------------------------------

    def last_event_seq(self) -> int:
        """The ``seq`` of the last event committed by any process (0 for a new registry).

        Pass it to `events()` or `follow()` as ``since`` to read only what happens after this moment, with
        nothing missed in between (what a page that shows the registry and then follows it needs).
        """
        with self._store.reading() as state:
            return state.seq

    # -- maintenance -----------------------------------------------------------------------------------------------

    def check(self, fix: bool = False, *, progress: ProgressCallback | None = None) -> Any:
        """Verify every version's files against their digests and find orphan folders and staging leftovers;
        with ``fix=True`` remove those and rebuild the checkpoint. Returns a `registry.store.check.CheckReport`
        (see `registry.store.check`). ``progress`` is told the files and bytes verified (task ``check``)."""
        from registry.store.check import check_registry
        from registry.store.progress import check_callback

        return check_registry(self._store, fix=fix, progress=check_callback(progress))

    # -- commits (subscribers, webhooks: registry.client.journal) ----------------------------------------------------

    def _write(
        self,
        decide: Callable[[RegistryState], list[commands.Change]],
        *,
        publish: Callable[[list[commands.Change]], None] | None = None,
    ) -> list[Event]:
        # This client's user is the actor, even on a store other clients share (a named in-memory registry).
        return self._store.write(decide, publish=publish, actor=self._user)

    def _deliver(self, events: list[Event]) -> None:
        for listener in list(self._listeners):
            listener(events)


def _search() -> Any:
    from registry import search  # loaded on the first search: most processes never search

    return search
