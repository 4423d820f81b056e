"""The client's governance methods: transition requests (Databricks' registry API names), comments on versions,
stage rollback, and verifying the journal's hash chain (a mixin of `registry.Registry`).

The actor of every change is the client's ``user`` (``Registry(user=...)``, else ``$REGISTRY_USER``, else the
login name). This is governance for honest teams sharing a folder or a bucket: anyone who can write the
storage directly can write any name and rewrite the journal (the hash chain makes that evident, not impossible).
"""

from __future__ import annotations

TYPE_CHECKING = False  # the type checker takes it as true; typing stays off the import path (registry/__init__.py)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from registry.domain.chain import ChainReport
    from registry.domain.commands import Change
    from registry.domain.entities import ModelVersion
    from registry.domain.governance import Comment, TransitionRequest
    from registry.domain.stages import Stage
    from registry.domain.state import Event, RegistryState
    from registry.store.base import Store

__all__ = ["GovernanceMixin"]


def _name(name: Any) -> str:
    from registry.domain.validation import validate_model_name

    return validate_model_name(name)


class GovernanceMixin:
    if TYPE_CHECKING:  # what the client provides
        _store: Store
        _user: str | None

        def new_id(self) -> str: ...

        def _write(self, decide: Callable[[RegistryState], list[Change]]) -> list[Event]: ...

        def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    @property
    def user(self) -> str | None:
        """Who this client records as the actor of its changes."""
        return self._user

    # -- transition requests --------------------------------------------------------------------------------------

    def create_transition_request(
        self, name: str, version: int | str, stage: str | Stage, comment: str | None = None
    ) -> TransitionRequest:
        """Ask for ``version`` to move to ``stage`` (one pending request per user, version and stage).

        Raises:
            IllegalStageTransition: the stage policy never allows that move from the version's stage.
            ResourceAlreadyExists: this user already has a pending request for it.
        """
        from registry.domain import approvals

        store = self._store
        events = self._write(
            lambda s: approvals.create_transition_request(
                s, store.policy, _name(name), version, stage, comment, self._user
            )
        )
        with store.reading() as state:
            return state.models[events[0].model_id or ""].governance.requests[events[0].seq]

    def approve_transition_request(
        self,
        name: str,
        version: int | str,
        stage: str | Stage,
        archive_existing_versions: bool = False,
        comment: str | None = None,
    ) -> TransitionRequest:
        """Approve the pending requests to move ``version`` to ``stage`` and move it, in one event (with
        ``archive_existing_versions``, the versions in that stage are archived in the same event). Returns the
        approved request (the oldest, if several users asked).

        Raises:
            ResourceDoesNotExist: no pending request for that version and stage.
            ApprovalRequired: the policy wants an approver other than the requester, and this user asked.
            IllegalStageTransition: the policy (its moves or guards) refuses the move itself.
        """
        from registry.domain import approvals

        store = self._store
        events = self._write(
            lambda s: approvals.approve_transition_request(
                s, store.policy, _name(name), version, stage, archive_existing_versions, comment, self._user
            )
        )
        return self._request(events[0].model_id, events[0].data["request_ids"][0])

    def reject_transition_request(
        self, name: str, version: int | str, stage: str | Stage, comment: str | None = None
    ) -> TransitionRequest:
        """Reject the pending requests to move ``version`` to ``stage``; returns the (oldest) rejected request.

        Raises:
            ResourceDoesNotExist: no pending request for that version and stage.
        """
        from registry.domain import approvals

        events = self._write(lambda s: approvals.reject_transition_request(s, _name(name), version, stage, comment))
        return self._request(events[0].model_id, events[0].data["request_ids"][0])

    def delete_transition_request(self, name: str, version: int | str, stage: str | Stage, creator: str) -> None:
        """Withdraw ``creator``'s pending request to move ``version`` to ``stage``.

        Raises:
            ResourceDoesNotExist: ``creator`` has no pending request for that version and stage.
        """
        from registry.domain import approvals

        self._write(lambda s: approvals.delete_transition_request(s, _name(name), version, stage, creator))

    def list_transition_requests(
        self, name: str, version: int | str, include_closed: bool = False
    ) -> list[TransitionRequest]:
        """The version's pending requests, oldest first (as Databricks lists them); ``include_closed=True``
        lists every request it ever had, each with its status (approved, rejected, deleted, closed and why)."""
        from registry.domain import approvals

        with self._store.reading() as state:
            return approvals.transition_requests(state, _name(name), version, include_closed)

    def _request(self, model_id: str | None, request_id: int) -> TransitionRequest:
        with self._store.reading() as state:
            return state.models[model_id or ""].governance.requests[request_id]

    # -- comments -------------------------------------------------------------------------------------------------

    def create_comment(self, name: str, version: int | str, comment: str) -> Comment:
        """Comment on a version; returns the comment (its ``id`` is what update and delete take)."""
        from registry.domain import approvals

        local = self.new_id()
        events = self._write(lambda s: approvals.create_comment(s, _name(name), version, comment, local))
        return self._comment(events[0].data["id"])

    def update_comment(self, id: str, comment: str) -> Comment:
        """Replace the text of a comment (only its author may).

        Raises:
            ResourceDoesNotExist: no such comment.
            InvalidParameterValue: the comment is someone else's.
        """
        from registry.domain import approvals

        self._write(lambda s: approvals.update_comment(s, id, comment, self._user))
        return self._comment(id)

    def delete_comment(self, id: str) -> None:
        """Delete a comment (only its author may).

        Raises:
            ResourceDoesNotExist: no such comment.
            InvalidParameterValue: the comment is someone else's.
        """
        from registry.domain import approvals

        self._write(lambda s: approvals.delete_comment(s, id, self._user))

    def list_comments(self, name: str, version: int | str) -> list[Comment]:
        """A version's comments, oldest first."""
        with self._store.reading() as state:
            model, number = _model_version(state, _name(name), version)
            return [c for c in model.governance.comments.values() if c.version == number]

    def get_comment(self, id: str) -> Comment:
        """One comment, by the ``id`` that `create_comment()` returned.

        Raises:
            ResourceDoesNotExist: no such comment (or it was deleted).
        """
        return self._comment(id)

    def _comment(self, comment_id: str) -> Comment:
        from registry.domain import approvals

        with self._store.reading() as state:
            return approvals.find_comment(state, comment_id)[1]

    # -- rollback and the chain ---------------------------------------------------------------------------------

    def rollback_stage(self, name: str, stage: str | Stage = "Production", reason: str | None = None) -> ModelVersion:
        """Put back the version that held ``stage`` before the current one, archiving the versions in it now, in
        one event (no reader sees both or neither). Rolling back twice returns to where it started. No new
        approval is needed (the version held the stage before), but the policy's moves and guards apply.

        Raises:
            ResourceDoesNotExist: nothing is in ``stage``, no other version held it before, or that version was
                deleted since.
        """
        from registry.domain import approvals

        store = self._store

        def decide(state: RegistryState) -> list[Any]:
            # Under the writers' lock, caught up: the journal up to the state's position is the history the
            # target is chosen from, so the choice and the move are one atomic step.
            events = [e for e in store.read_events(0) if e.seq <= state.seq]
            return approvals.rollback_stage(state, store.policy, _name(name), stage, reason, events)

        events = self._write(decide)
        return self.get_model_version(name, events[0].data["version"])

    def verify_history(self) -> ChainReport:
        """Check the journal's hash chain: ``report.ok``, and else ``report.first_bad``, the ``seq`` of the first
        record that does not match (edited, removed or reordered) and ``report.problem``. A registry created
        before the chain existed is covered from the upgrade point on (``report.upgraded``, ``report.start``)."""
        from registry.domain.chain import verify_chain

        return verify_chain(self._store.read_events(0))


def _model_version(state: RegistryState, name: str, version: Any) -> tuple[Any, int]:
    from registry.domain.validation import validate_version

    model = state.model(name)
    number = validate_version(version)
    model.version(number)
    return model, number
