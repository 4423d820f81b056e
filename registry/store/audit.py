"""Proving a registry's caches are caches: every model document, the checkpoint (its search index included)
and a handle's own view (its search indexes included) are compared with the fold of the journal (what
``check`` reports; ``check --fix`` then rebuilds them).

A document claims to be its model's fold just after event ``seq``; the checkpoint claims each model's
``(seq, name)`` at its own position and that the journal has that position's record at its byte offset. The
caches are read *before* the journal: a checkpoint only ever writes what the journal already holds, so every
honest claim is inside the journal read afterwards, and no lock is needed (a read-only check works too).
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

from registry.domain.indexes import rebuilt
from registry.domain.state import Event, ModelState, RegistryState
from registry.errors import CorruptRegistry
from registry.store.bucket import LAST_CHECKPOINT_KEY, BucketStore
from registry.store.checkpoints import Checkpoint
from registry.store.files import read_json
from registry.store.folder import FolderStore
from registry.store.index_files import level_of_models

__all__ = ["AuditFinding", "audit_bucket", "audit_folder"]


@attrs.frozen
class AuditFinding:
    """A cache that disagrees with the journal (``kind``: ``journal_damaged``, ``checkpoint_mismatch``,
    ``document_mismatch``, ``view_mismatch``), the file concerned and what is wrong."""

    kind: str
    path: str
    detail: str
    name: str | None = None


def _normal(doc: Any) -> Any:
    """A document as compared: JSON types only, version rows in version order."""
    doc = json.loads(json.dumps(doc, sort_keys=True))
    if isinstance(doc, dict) and isinstance(doc.get("versions"), list):
        doc["versions"] = sorted(doc["versions"], key=lambda row: row[0] if isinstance(row, list) and row else 0)
    return doc


def _difference(found: Any, expected: dict[str, Any]) -> str:
    if not isinstance(found, dict):
        return "it is not a model document"
    fields = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    return "differs in " + ", ".join(fields) if fields else "differs"


def audit_folder(store: FolderStore) -> tuple[list[AuditFinding], RegistryState | None]:
    """Compare ``store``'s caches and its own view with the journal's fold.

    Returns:
        The findings, and the fold of the whole journal (``None`` when the journal cannot be replayed).
    """
    findings: list[AuditFinding] = []
    # 1. The caches, as they are now (before the journal: see the module docstring).
    checkpoint: Checkpoint | None = None
    try:
        checkpoint = Checkpoint.read(store.view_path)
    except CorruptRegistry as exc:
        findings.append(AuditFinding("checkpoint_mismatch", store.view_path, str(exc)))
    index_postings = None
    if checkpoint is not None and checkpoint.index is not None:
        index_postings = checkpoint.index.effective()
        if index_postings is None:
            detail = "a file of its search index (index/) is missing or unreadable"
            findings.append(AuditFinding("checkpoint_mismatch", store.view_path, detail))
    documents: dict[str, Any] = {}
    if os.path.isdir(store.artifact_root):
        for model_id in sorted(os.listdir(store.artifact_root)):
            path = store.document_path(model_id)
            try:
                documents[model_id] = read_json(path)
            except FileNotFoundError:
                continue
            except (CorruptRegistry, OSError) as exc:
                findings.append(AuditFinding("document_mismatch", path, f"cannot be read: {exc}"))
    claims: dict[int, list[str]] = {}
    for model_id, doc in documents.items():
        seq = doc.get("seq") if isinstance(doc, dict) else None
        if isinstance(seq, int) and not isinstance(seq, bool):
            claims.setdefault(seq, []).append(model_id)
        else:
            findings.append(AuditFinding("document_mismatch", store.document_path(model_id), "it has no seq"))
    # 2. This handle's own view (its lazily loaded documents included), unless it refuses to serve.
    live: dict[str, Any] | None = None
    live_names: dict[str, str] = {}
    live_seq = -1
    if store.describe_damage() is None:  # a store that refuses to serve has no view to compare
        try:
            with store.reading() as state:
                live_seq = state.seq
                live = {m.id: _normal(m.to_doc()) for m in state.models.values()}
                live_names = dict(state.ids_by_name)
                _compare_indexes(findings, store.root, state)
        except CorruptRegistry as exc:
            findings.append(AuditFinding("view_mismatch", store.root, f"this handle cannot read: {exc}"))
    # 3. The journal's fold, compared with each claim at the position it claims.
    fold = RegistryState(store.artifact_root)
    at_checkpoint: dict[str, tuple[int, str]] | None = {} if checkpoint is not None and checkpoint.seq == 0 else None
    try:
        for event in _events(store):
            fold.apply(event)
            for model_id in claims.pop(event.seq, ()):
                _compare_document(store, findings, model_id, documents[model_id], event, fold)
            if checkpoint is not None and event.seq == checkpoint.seq:
                at_checkpoint = {m.id: (m.seq, m.name) for m in fold.models.values()}
                _compare_index_files(findings, store.view_path, index_postings, fold)
            if live is not None and event.seq == live_seq:
                _compare_live(findings, store.root, live, live_names, fold)
                live = None
    except CorruptRegistry as exc:
        findings.append(AuditFinding("journal_damaged", store.journal_path, str(exc)))
        return findings, None
    if live is not None and live_seq == 0:
        _compare_live(findings, store.root, live, live_names, fold)
    if checkpoint is not None and checkpoint.seq == 0:
        _compare_index_files(findings, store.view_path, index_postings, RegistryState())
    for seq, model_ids in claims.items():
        for model_id in model_ids:
            detail = f"it claims event {seq}, but the journal ends at event {fold.seq}"
            findings.append(AuditFinding("document_mismatch", store.document_path(model_id), detail))
    if checkpoint is not None:
        problem = store.checkpoint_problem(checkpoint)
        if problem is not None:
            findings.append(AuditFinding("checkpoint_mismatch", store.view_path, problem))
        elif at_checkpoint is not None and at_checkpoint != checkpoint.models:
            wrong = sorted(set(at_checkpoint.items()) ^ set(checkpoint.models.items()))
            detail = f"its models at event {checkpoint.seq} differ from the journal's: {wrong[:5]}"
            findings.append(AuditFinding("checkpoint_mismatch", store.view_path, detail))
    return findings, fold


def _events(store: FolderStore) -> Any:
    records, _end, _torn = store.journal_records()
    for record in records:
        yield Event.from_dict(record)


def _compare_document(
    store: FolderStore, findings: list[AuditFinding], model_id: str, doc: Any, event: Event, fold: RegistryState
) -> None:
    path = store.document_path(model_id)
    model = fold.models.raw(model_id)
    if event.model_id != model_id or not isinstance(model, ModelState):
        detail = f"it claims event {event.seq}, which is not an event of this model in the journal"
        findings.append(AuditFinding("document_mismatch", path, detail))
        return
    expected = _normal(model.to_doc())
    if _normal(doc) != expected:
        detail = f"it disagrees with the journal at event {event.seq}: {_difference(_normal(doc), expected)}"
        findings.append(AuditFinding("document_mismatch", path, detail, name=model.name))


def _compare_live(
    findings: list[AuditFinding],
    location: str,
    live: dict[str, Any],
    live_names: dict[str, str],
    fold: RegistryState,
) -> None:
    expected = {m.id: _normal(m.to_doc()) for m in fold.models.values()}
    if live != expected or live_names != fold.ids_by_name:
        ids = sorted(k for k in set(live) | set(expected) if live.get(k) != expected.get(k))
        detail = f"this handle's view at event {fold.seq} differs from the journal's fold (models {ids[:5]})"
        findings.append(AuditFinding("view_mismatch", location, detail))


def _compare_indexes(findings: list[AuditFinding], location: str, state: RegistryState) -> None:
    """A handle's incremental search indexes against indexes rebuilt from its (now all loaded) models."""
    if state.indexes.postings() != rebuilt(state.models.values()).postings():
        detail = f"this handle's search indexes at event {state.seq} differ from its models' (rebuilt)"
        findings.append(AuditFinding("view_mismatch", location, detail))


def _compare_index_files(
    findings: list[AuditFinding], path: str, postings: dict[str, set[str]] | None, fold: RegistryState
) -> None:
    """The checkpoint's search index against the one the journal's fold gives at the checkpoint's position."""
    if postings is None:
        return
    expected = {k: set(v) for k, v in level_of_models(fold.models.values(), ()).postings.items()}
    if postings != expected:
        wrong = sorted(k for k in set(postings) | set(expected) if postings.get(k) != expected.get(k))
        detail = f"its search index at event {fold.seq} differs from the journal's fold (keys {wrong[:3]})"
        findings.append(AuditFinding("checkpoint_mismatch", path, detail))


def audit_bucket(store: BucketStore) -> tuple[list[AuditFinding], RegistryState | None]:
    """Compare a bucket registry's last checkpoint and ``store``'s own view with the journal's fold.

    The checkpoint is read before the journal (a checkpoint only ever holds what the journal already has), so
    no lock is needed, and none exists.

    Returns:
        The findings, and the fold of the whole journal (``None`` when the journal cannot be replayed).
    """
    findings: list[AuditFinding] = []
    where = f"{store.location}/{LAST_CHECKPOINT_KEY}"
    checkpoint = store.read_checkpoint()
    expected_checkpoint = (
        {str(doc.get("id")): _normal(doc) for doc in checkpoint[1] if isinstance(doc, dict)} if checkpoint else None
    )
    live: dict[str, Any] | None = None
    live_names: dict[str, str] = {}
    live_seq = -1
    try:
        with store.reading() as state:
            live_seq = state.seq
            live = {m.id: _normal(m.to_doc()) for m in state.models.values()}
            live_names = dict(state.ids_by_name)
            _compare_indexes(findings, store.location, state)
    except CorruptRegistry as exc:
        findings.append(AuditFinding("view_mismatch", store.location, f"this handle cannot read: {exc}"))
    fold = RegistryState(store.artifact_root)

    def compare(seq: int) -> None:
        if checkpoint is not None and expected_checkpoint is not None and seq == checkpoint[0]:
            found = {m.id: _normal(m.to_doc()) for m in fold.models.values()}
            if found != expected_checkpoint:
                ids = sorted(
                    k for k in set(found) | set(expected_checkpoint) if found.get(k) != expected_checkpoint.get(k)
                )
                detail = f"its models at event {seq} differ from the journal's fold (models {ids[:5]})"
                findings.append(AuditFinding("checkpoint_mismatch", where, detail))
        if live is not None and seq == live_seq:
            _compare_live(findings, store.location, live, live_names, fold)

    try:
        compare(0)
        for event in store.journal_events():
            fold.apply(event)
            compare(event.seq)
    except CorruptRegistry as exc:
        findings.append(AuditFinding("journal_damaged", f"{store.location}/journal/", str(exc)))
        return findings, None
    if checkpoint is not None and checkpoint[0] > fold.seq:
        detail = f"it is at event {checkpoint[0]}, but the journal ends at event {fold.seq}"
        findings.append(AuditFinding("checkpoint_mismatch", where, detail))
    return findings, fold
