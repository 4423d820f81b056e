"""A small client for a running MLflow server's REST API (2.0) and its artifact proxy, over ``urllib``.

Only what importing and pushing need: JSON calls under ``/api/2.0/mlflow/``, and listing, downloading and
uploading files under ``/api/2.0/mlflow-artifacts/artifacts/``. Every call has a timeout; a refused connection,
an HTTP error or a body that is not JSON becomes a `RegistryError` whose message names
the server, the call and MLflow's own error code and message.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from registry.errors import (
    InvalidParameterValue,
    MlflowServerError,
    RegistryError,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.exchange.arguments import timeout_argument

__all__ = ["MlflowRest", "is_server_uri"]

_ERRORS: dict[str, type[RegistryError]] = {
    "RESOURCE_DOES_NOT_EXIST": ResourceDoesNotExist,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExists,
    "INVALID_PARAMETER_VALUE": InvalidParameterValue,
}


def is_server_uri(uri: Any) -> bool:
    return isinstance(uri, str) and uri.startswith(("http://", "https://"))


class MlflowRest:
    """Calls to the MLflow server at ``base_url`` (``http://host:port``).

    Args:
        timeout: seconds for each request (connect and read).
        token: sent as ``Authorization: Bearer <token>``; defaults to ``$MLFLOW_TRACKING_TOKEN``.
    """

    def __init__(self, base_url: str, *, timeout: float = 60.0, token: str | None = None) -> None:
        if not is_server_uri(base_url):
            raise InvalidParameterValue(f"An MLflow server URI starts with http:// or https://, got {base_url!r}.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout_argument(timeout)
        self._token = token if token is not None else os.environ.get("MLFLOW_TRACKING_TOKEN")

    # -- the JSON API ---------------------------------------------------------------------------------------------

    def call(self, method: str, endpoint: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``method`` on ``/api/2.0/mlflow/<endpoint>``; a GET sends ``body`` as the query string."""
        url = f"{self.base_url}/api/2.0/mlflow/{endpoint}"
        data = None
        if method == "GET" and body:
            url += "?" + urllib.parse.urlencode({k: v for k, v in body.items() if v is not None})
        elif body is not None:
            data = json.dumps(body).encode()
        raw = self._send(method, url, data, "application/json")
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise MlflowServerError(f"{self.base_url} answered {method} {endpoint} with something not JSON.") from None
        return answer if isinstance(answer, dict) else {}

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", endpoint, params)

    def post(self, endpoint: str, **body: Any) -> dict[str, Any]:
        return self.call("POST", endpoint, body)

    def patch(self, endpoint: str, **body: Any) -> dict[str, Any]:
        return self.call("PATCH", endpoint, body)

    def pages(self, endpoint: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` of a paged search (following ``next_page_token``)."""
        token = None
        while True:
            answer = self.get(endpoint, **params, page_token=token)
            yield from answer.get(key, [])
            token = answer.get("next_page_token")
            if not token:
                return

    # -- the artifact proxy ---------------------------------------------------------------------------------------

    def _artifact_url(self, path: str) -> str:
        return f"{self.base_url}/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(path.strip('/'))}"

    def list_artifacts(self, path: str) -> list[dict[str, Any]]:
        url = f"{self.base_url}/api/2.0/mlflow-artifacts/artifacts?" + urllib.parse.urlencode({"path": path})
        answer = json.loads(self._send("GET", url, None, None) or b"{}")
        return list(answer.get("files", [])) if isinstance(answer, dict) else []

    def download_tree(self, path: str, dest: str) -> int:
        """Download every file under the artifact folder ``path`` into ``dest``; returns how many."""
        count = 0
        for entry in self.list_artifacts(path):
            rel = str(entry.get("path", ""))
            parts = rel.split("/")
            if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise MlflowServerError(f"{self.base_url} listed an unsafe artifact path {rel!r} under {path!r}.")
            # The server lists paths relative to the folder asked for (older servers: relative to the root).
            rel = rel[len(path.strip("/")) + 1 :] if rel.startswith(path.strip("/") + "/") else rel
            child = f"{path.rstrip('/')}/{rel}"
            target = os.path.join(dest, *rel.split("/"))
            if entry.get("is_dir"):
                os.makedirs(target, exist_ok=True)
                count += self.download_tree(child, target)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with self._open("GET", self._artifact_url(child), None, None) as response, open(target, "wb") as f:
                shutil.copyfileobj(response, f)
            count += 1
        return count

    def upload_file(self, local: str, path: str) -> None:
        with open(local, "rb") as f:
            data = f.read()
        self._send("PUT", self._artifact_url(path), data, "application/octet-stream")

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def _open(self, method: str, url: str, data: bytes | None, content_type: str | None) -> Any:
        request = urllib.request.Request(url, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise self._error(method, url, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MlflowServerError(
                f"Cannot reach the MLflow server at {self.base_url} ({reason}). Is it running, and is the "
                "address right?",
                url=self.base_url,
            ) from None

    def _send(self, method: str, url: str, data: bytes | None, content_type: str | None) -> bytes:
        with self._open(method, url, data, content_type) as response:
            return bytes(response.read())

    def _error(self, method: str, url: str, exc: urllib.error.HTTPError) -> RegistryError:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        code = body.get("error_code", "") if isinstance(body, dict) else ""
        message = body.get("message", exc.reason) if isinstance(body, dict) else exc.reason
        where = url[len(self.base_url) :].split("?")[0]
        cls = _ERRORS.get(code, MlflowServerError)
        return cls(
            f"MLflow at {self.base_url} refused {method} {where}: {code or exc.code} {message}", mlflow_code=code
        )
