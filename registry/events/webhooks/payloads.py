"""What a webhook receives: MLflow's ``{"entity", "action", "timestamp", "data"}`` body, headers and signature.

For MLflow's six events the ``data`` object is exactly MLflow's (versions as strings), so receivers written for
an MLflow server work unchanged; the events MLflow lacks (stage transitions, deletes, renames, ...) use the same
style. Signing follows MLflow (and the Standard Webhooks scheme): ``X-MLflow-Signature: v1,<base64 of
HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")>``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import uuid
from typing import Any

from registry.domain.state import Event, EventType

__all__ = [
    "DELIVERY_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "delivery_id",
    "example_event",
    "sign",
    "verify_signature",
    "webhook_body",
    "webhook_data",
    "webhook_headers",
]

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"

_NAMESPACE = uuid.UUID("6f1c35a4-8e0b-4d0e-9a43-51a4d3c1e2b7")
E = EventType


def delivery_id(hook_id: str, seq: int) -> str:
    """The id of delivering event ``seq`` to a hook: the same on every attempt and in every process, so a
    receiver can drop the duplicates that at-least-once delivery may bring."""
    return str(uuid.uuid5(_NAMESPACE, f"{hook_id}:{seq}"))


def _version(data: dict[str, Any]) -> str:
    return str(data["version"])


def webhook_data(event: Event) -> dict[str, Any]:
    """The ``data`` object for ``event`` (MLflow's payload schema for MLflow's events)."""
    d, name, t = event.data, event.name, event.type
    if t == E.REGISTERED_MODEL_CREATED:
        return {"name": name, "tags": dict(d.get("tags") or {}), "description": d.get("description")}
    if t == E.MODEL_VERSION_CREATED:
        return {
            "name": name,
            "version": _version(d),
            "source": d.get("source"),
            "run_id": d.get("run_id"),
            "tags": dict(d.get("tags") or {}),
            "description": d.get("description"),
        }
    if t == E.MODEL_VERSION_TAG_SET:
        return {"name": name, "version": _version(d), "key": d["key"], "value": d["value"]}
    if t == E.MODEL_VERSION_TAG_DELETED:
        return {"name": name, "version": _version(d), "key": d["key"]}
    if t == E.MODEL_VERSION_ALIAS_CREATED:
        return {"name": name, "alias": d["alias"], "version": _version(d)}
    if t == E.MODEL_VERSION_ALIAS_DELETED:
        return {"name": name, "alias": d["alias"]}
    # -- events MLflow does not send, in the same style -------------------------------------------------------------
    if t == E.MODEL_VERSION_STAGE_TRANSITIONED:
        return {
            "name": name,
            "version": _version(d),
            "from_stage": d["from_stage"],
            "to_stage": d["to_stage"],
            "archived_versions": [str(a["version"]) for a in d.get("archived", ())],
        }
    if t == E.REGISTERED_MODEL_RENAMED:
        return {"name": d["new_name"], "old_name": d["old_name"]}
    out: dict[str, Any] = {"name": name}
    for key, value in d.items():
        if key in ("digest", "run_link"):
            continue
        out[key] = str(value) if key == "version" and value is not None else value
    if t in _GOVERNANCE:
        out["user_id"] = event.actor  # who asked, approved or commented (Databricks sends it too)
    return out


_GOVERNANCE = frozenset(
    {
        E.TRANSITION_REQUEST_CREATED,
        E.TRANSITION_REQUEST_APPROVED,
        E.TRANSITION_REQUEST_REJECTED,
        E.TRANSITION_REQUEST_DELETED,
        E.MODEL_VERSION_COMMENT_CREATED,
        E.MODEL_VERSION_COMMENT_UPDATED,
        E.MODEL_VERSION_COMMENT_DELETED,
    }
)


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).isoformat()


def webhook_body(event: Event) -> str:
    """The JSON text POSTed for ``event``. The timestamp is the change's, so every attempt sends the same body."""
    entity, _, action = event.type.partition(".")
    return json.dumps(
        {"entity": entity, "action": action, "timestamp": _iso(event.timestamp), "data": webhook_data(event)}
    )


def sign(secret: str, delivery: str, timestamp: str, body: str) -> str:
    """MLflow's signature header value for one request."""
    content = f"{delivery}.{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def webhook_headers(delivery: str, timestamp: str, body: str, secret: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "registry-webhooks/1",
        DELIVERY_ID_HEADER: delivery,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, delivery, timestamp, body)
    return headers


def verify_signature(
    secret: str,
    body: str | bytes,
    headers: Any,
    *,
    max_age: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """Check a received request's signature (a helper for receivers written in Python).

    Args:
        secret: the webhook's secret.
        body: the raw request body.
        headers: the request headers (any mapping with ``.get``; names as sent).
        max_age: reject requests whose ``X-MLflow-Timestamp`` is more than this many seconds away from
            ``now`` (replay protection); None skips the check.
        now: the current Unix time (default: the system clock).
    """
    import time

    text = body.decode() if isinstance(body, bytes) else body
    delivery, timestamp = headers.get(DELIVERY_ID_HEADER), headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not (delivery and timestamp and signature):
        return False
    if max_age is not None:
        try:
            if abs((time.time() if now is None else now) - int(timestamp)) > max_age:
                return False
        except ValueError:
            return False
    return hmac.compare_digest(sign(secret, delivery, timestamp, text), signature)


_EXAMPLES: dict[str, dict[str, Any]] = {
    E.REGISTERED_MODEL_CREATED: {"tags": {"example_key": "example_value"}, "description": "An example model"},
    E.REGISTERED_MODEL_RENAMED: {"old_name": "example_model", "new_name": "example_model_v2"},
    E.REGISTERED_MODEL_UPDATED: {"description": "An example model"},
    E.REGISTERED_MODEL_DELETED: {"versions": [1]},
    E.REGISTERED_MODEL_TAG_SET: {"key": "example_key", "value": "example_value"},
    E.REGISTERED_MODEL_TAG_DELETED: {"key": "example_key"},
    E.MODEL_VERSION_CREATED: {
        "version": 1,
        "source": "runs:/abcd1234abcd5678/model",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    },
    E.MODEL_VERSION_UPDATED: {"version": 1, "description": "An example model version"},
    E.MODEL_VERSION_DELETED: {"version": 1, "stage": "Archived", "aliases": []},
    E.MODEL_VERSION_STAGE_TRANSITIONED: {
        "version": 2,
        "from_stage": "Staging",
        "to_stage": "Production",
        "archived": [{"version": 1, "from_stage": "Production"}],
    },
    E.MODEL_VERSION_TAG_SET: {"version": 1, "key": "example_key", "value": "example_value"},
    E.MODEL_VERSION_TAG_DELETED: {"version": 1, "key": "example_key"},
    E.MODEL_VERSION_ALIAS_CREATED: {"alias": "example_alias", "version": 1, "previous_version": None},
    E.MODEL_VERSION_ALIAS_DELETED: {"alias": "example_alias", "version": 1},
    E.TRANSITION_REQUEST_CREATED: {"version": 1, "stage": "Production", "comment": "Validated on March data"},
    E.TRANSITION_REQUEST_APPROVED: {
        "version": 1,
        "stage": "Production",
        "request_ids": [3],
        "comment": "Looks good",
        "from_stage": "Staging",
        "to_stage": "Production",
        "archived": [],
    },
    E.TRANSITION_REQUEST_REJECTED: {"version": 1, "stage": "Production", "request_ids": [3], "comment": "Not yet"},
    E.TRANSITION_REQUEST_DELETED: {"version": 1, "stage": "Production", "request_ids": [3], "creator": "alice"},
    E.MODEL_VERSION_COMMENT_CREATED: {"version": 1, "id": "example.1", "comment": "An example comment"},
    E.MODEL_VERSION_COMMENT_UPDATED: {"version": 1, "id": "example.1", "comment": "An edited comment"},
    E.MODEL_VERSION_COMMENT_DELETED: {"version": 1, "id": "example.1"},
}


def example_event(event_type: str, timestamp: int) -> Event:
    """A made-up event of ``event_type`` on ``example_model``, for `Registry.test_webhook()`."""
    data = _EXAMPLES.get(event_type, {})
    return Event(
        seq=0, timestamp=timestamp, type=event_type, actor=None, model_id=None, name="example_model", data=data
    )
