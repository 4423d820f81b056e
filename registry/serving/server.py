"""``registry serve``: MLflow's scoring protocol over `registry.web.http`, on the standard library.

::

    POST /invocations   JSON (dataframe_split, dataframe_records, instances, inputs; optional params) or CSV
    GET  /ping          200 once a model is loaded (MLflow's health check)
    GET  /health        the same, with a JSON body
    GET  /version       this library's version, as plain text (MLflow's server answers its own version there)
    GET  /model         which model version is serving, and the last reload error, if any

**Hot reload.** A watcher thread resolves the served ``models:/`` URI every ``poll_interval`` seconds (a cheap
``stat`` of the registry's journal when nothing changed). When the alias or stage it names has moved to another
version, in this process or any other, the watcher loads the new version and verifies its files against their
recorded digests, in the background, then swaps it in with one reference assignment. A request reads that
reference once when it starts, so requests in flight finish on the old model and the next ones use the new
one; no request ever sees half a swap. A version that fails to load or verify is never swapped in: the old one
keeps serving, ``/model`` and ``/health`` report the error, and the watcher tries again only when the URI moves
elsewhere.

**Errors**, with MLflow's statuses and codes. A request that cannot be read (bad JSON, a missing key, rows of
the wrong width, a value its column's declared type cannot hold) gets 400 and
``{"error_code": "BAD_REQUEST", "message": ...}``; input or parameters the model's signature refuses (a missing
column, a tensor of the wrong shape, a parameter of the wrong type) get 400 and ``INVALID_PARAMETER_VALUE``;
an exception raised by the model gets 400 and ``BAD_REQUEST`` (as MLflow's server: the input did not suit the
model), with the exception's type and message but never its traceback, which goes to the log. Output that has
no JSON form gets 500 ``INTERNAL_ERROR``. The server keeps running either way. Below the
protocol, `registry.web.http` answers every malformed HTTP request (405 for a method a path does not
take, 413 for a body over the limit, 408 for a client too slow, 503 beyond ``max_connections``, ...), and
writes an access log line per request to stderr unless ``access_log=False``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import attrs

from registry import __version__
from registry.client import Registry
from registry.domain.entities import ModelVersion
from registry.domain.uris import parse_models_uri
from registry.errors import InvalidParameterValue, RegistryError
from registry.serving import scoring
from registry.web.http import HttpServer, Request, Response, ServerLimits, error_body, error_response

__all__ = ["DEFAULT_POLL_INTERVAL", "MAX_BODY_BYTES", "ScoringServer", "Served", "ServerLimits", "load_version"]

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 1.0
MAX_BODY_BYTES = ServerLimits().max_body_bytes

# path -> the methods it answers (HEAD wherever GET is: the same answer without its body)
_ROUTES: dict[str, tuple[str, ...]] = {
    "/invocations": ("POST",),
    "/ping": ("GET", "HEAD"),
    "/health": ("GET", "HEAD"),
    "/version": ("GET", "HEAD"),
    "/model": ("GET", "HEAD"),
}

Loader = Callable[[Registry, ModelVersion], Any]


def load_version(reg: Registry, mv: ModelVersion) -> Any:
    """Verify a version's files against their digests, then load it as a pyfunc model (the default loader).

    Raises:
        ArtifactVerificationError: the files changed since registration.
        RegistryError: the version cannot be loaded.
    """
    # load_model checks every file against the version's digest before anything is unpickled
    return reg.load_model(f"models:/{mv.name}/{mv.version}")


@attrs.frozen
class Served:
    """The model being served and the version it came from (swapped as a whole, never field by field)."""

    version: ModelVersion
    model: Any
    loaded_at: float

    def describe(self) -> dict[str, Any]:
        mv = self.version
        return {
            "name": mv.name,
            "version": mv.version,
            "digest": mv.digest,
            "run_id": mv.run_id,
            "current_stage": mv.current_stage.value,
            "aliases": list(mv.aliases),
            "loaded_at": self.loaded_at,
        }


class ScoringServer:
    """Serve one ``models:/`` URI over HTTP, following the version it names.

    Args:
        registry: the registry the URI resolves against.
        model_uri: ``models:/name@alias``, ``models:/name/<stage>``, ``/latest`` or ``/<version>`` (a fixed
            version never moves, so it is never reloaded).
        host: the interface to listen on (``127.0.0.1`` keeps the server local).
        port: the TCP port; ``0`` picks a free one (read it back from `port`).
        poll_interval: seconds between checks for a moved alias or stage.
        loader: ``loader(registry, version) -> model`` (default `load_version()`, which verifies digests).
        input_format: ``auto``, ``pandas`` or ``records`` (see `registry.serving.scoring`).
        limits: body size, timeouts and the connection bound (`ServerLimits`).
        access_log: one line per request to stderr (``True``), a given text stream, or none (``False``).

    Raises:
        InvalidParameterValue: a malformed URI or input format.
        ResourceDoesNotExist: the URI names nothing yet.
        RegistryError: the first version cannot be loaded (the server does not start without a model).
    """

    def __init__(
        self,
        registry: Registry,
        model_uri: str,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        loader: Loader | None = None,
        input_format: str = "auto",
        limits: ServerLimits | None = None,
        access_log: bool | TextIO = True,
    ) -> None:
        if input_format not in scoring.INPUT_FORMATS:
            raise InvalidParameterValue(
                f"Unknown input format {input_format!r}; use one of {', '.join(scoring.INPUT_FORMATS)}."
            )
        self.registry = registry
        self.model_uri = model_uri
        self.poll_interval = poll_interval
        self.input_format = input_format
        self._loader = loader or load_version
        self._fixed = parse_models_uri(model_uri).version is not None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._http_thread: threading.Thread | None = None
        self._failed_key: tuple[str, int, str | None] | None = None
        self.last_reload_error: str | None = None
        self.reloads = 0
        self.requests = 0  # approximate under concurrency (no lock on the hot path); for /version only
        mv = registry.resolve_model_uri(model_uri)
        # Read by every request without a lock: a single attribute holding an immutable object, replaced whole.
        self._served = Served(mv, self._loader(registry, mv), time.time())
        self._httpd = HttpServer((host, port), self._route, limits=limits, access_log=access_log)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def served(self) -> Served:
        """The model and version answering requests right now."""
        return self._served

    def start(self) -> ScoringServer:
        """Serve in background threads (HTTP and the reload watcher); returns ``self``."""
        self._start_watcher()
        self._http_thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="registry-serve", daemon=True
        )
        self._http_thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `shutdown()` (or Ctrl-C, which the CLI turns into a clean exit)."""
        self._start_watcher()
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._stop.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, stop the watcher and close the socket."""
        self._stop.set()
        if self._http_thread is not None:
            self._httpd.shutdown()
            self._http_thread.join(timeout)
        if self._watcher is not None:
            self._watcher.join(timeout)
        self._httpd.server_close()

    def __enter__(self) -> ScoringServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _start_watcher(self) -> None:
        if self._fixed or self._watcher is not None:
            return
        self._watcher = threading.Thread(target=self._watch, name="registry-serve-reload", daemon=True)
        self._watcher.start()

    # -- hot reload -----------------------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.reload_if_moved()
            except Exception:  # the watcher must survive anything; the old model keeps serving
                log.exception("registry serve: reload check for %s failed", self.model_uri)

    def reload_if_moved(self) -> bool:
        """Resolve the URI once; if it names another version, load, verify and swap it in.

        Returns:
            True when a new version was swapped in.
        """
        try:
            mv = self.registry.resolve_model_uri(self.model_uri)
        except RegistryError as exc:
            # The alias was deleted or the stage emptied: keep serving what we have, and say so.
            self.last_reload_error = f"{self.model_uri} does not resolve: {exc}"
            return False
        current = self._served.version
        key = (mv.name, mv.version, mv.digest)
        if key == (current.name, current.version, current.digest):
            if self.last_reload_error and self._failed_key is None:
                self.last_reload_error = None  # the URI resolves again, to the version we serve
            return False
        if key == self._failed_key:
            return False
        log.info("registry serve: %s moved to version %s; loading it", self.model_uri, mv.version)
        try:
            model = self._loader(self.registry, mv)
        except Exception as exc:  # any failure to load keeps the old model: that is the point
            self._failed_key = key
            self.last_reload_error = f"version {mv.version} was not loaded: {type(exc).__name__}: {exc}"
            log.warning("registry serve: %s; still serving version %s", self.last_reload_error, current.version)
            return False
        self._served = Served(mv, model, time.time())  # the swap: one reference assignment
        self._failed_key = None
        self.last_reload_error = None
        self.reloads += 1
        log.info("registry serve: now serving %s version %s", mv.name, mv.version)
        return True

    # -- requests -------------------------------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        """Answer one HTTP request (the application `HttpServer` calls)."""
        path = request.path
        allowed = _ROUTES.get(path)
        if allowed is None:
            message = (
                f"No endpoint {request.method} {path}; use POST /invocations, GET /ping, /health, /version or /model."
            )
            return error_response(404, "ENDPOINT_NOT_FOUND", message)
        if request.method not in allowed:
            message = f"{path} does not take {request.method}; use {' or '.join(m for m in allowed if m != 'HEAD')}."
            return error_response(405, "ENDPOINT_NOT_FOUND", message, headers=(("Allow", ", ".join(allowed)),))
        if path == "/invocations":
            status, payload, served = self.invoke(request.body, request.headers.get("content-type"))
            mv = served.version
            return Response(status, payload, headers=(("X-Model-Version", str(mv.version)),), tag=_tag(mv))
        tag = _tag(self._served.version)
        if path == "/ping":
            return Response(200, b"\n", "text/plain", tag=tag)
        if path == "/health":
            # Still 200 (a model is loaded and answering), but saying when the URI no longer names a version.
            health = {"status": "OK", **self._served.describe(), "last_reload_error": self.last_reload_error}
            return Response(200, json.dumps(health).encode(), tag=tag)
        if path == "/version":  # MLflow's scoring client reads a plain version string here
            return Response(200, __version__.encode(), "text/plain", tag=tag)
        return Response(200, json.dumps(self.status()).encode(), tag=tag)

    def status(self) -> dict[str, Any]:
        """The body of ``GET /model``."""
        return {
            "model_uri": self.model_uri,
            **self._served.describe(),
            "reloads": self.reloads,
            "last_reload_error": self.last_reload_error,
            "requests": self.requests,
        }

    def invoke(self, body: bytes, content_type: str | None) -> tuple[int, bytes, Served]:
        """Score one request body; returns the HTTP status, the JSON response body and the model that answered."""
        served = self._served  # read once: this request finishes on this model even if a swap happens now
        self.requests += 1
        if not scoring.is_supported(content_type):
            # 415, as MLflow's scoring server answers (curl -d sends application/x-www-form-urlencoded)
            return 415, _error("BAD_REQUEST", scoring.unsupported(content_type)), served
        model = served.model
        try:
            parsed = scoring.parse_request(body, content_type, param_names=scoring.model_param_names(model))
            data = scoring.to_model_input(parsed, self.input_format, scoring.model_input_schema(model))
        except InvalidParameterValue as exc:
            # A request that cannot be read, or a value its column's declared type cannot hold: MLflow's server
            # says BAD_REQUEST for both.
            return 400, _error("BAD_REQUEST", str(exc)), served
        try:
            # params given, even empty, are passed on: the model sees what MLflow's server hands it
            result = model.predict(data) if parsed.params is None else model.predict(data, params=parsed.params)
        except InvalidParameterValue as exc:
            # The signature's checks refused the input or a parameter (a missing column, a tensor of the wrong
            # shape, a parameter of the wrong type): INVALID_PARAMETER_VALUE, as MLflow's schema enforcement.
            return 400, _error("INVALID_PARAMETER_VALUE", str(exc)), served
        except Exception as exc:
            # As MLflow's server: a model that raises on an input is told to the client as a bad request (400,
            # BAD_REQUEST), never as a crash of the server. The traceback goes to the log, not to the client.
            log.warning("registry serve: the model raised on a request", exc_info=True)
            message = (
                f"The model raised {type(exc).__name__}: {exc}. Check that the input is what the model takes "
                "(its signature, column names and types)."
            )
            return 400, _error("BAD_REQUEST", message), served
        try:
            return 200, scoring.encode_predictions(result, unwrapped=parsed.unwrapped), served
        except (TypeError, ValueError) as exc:
            return 500, _error("INTERNAL_ERROR", f"The model's output cannot be sent as JSON: {exc}"), served


def _tag(mv: ModelVersion) -> str:
    return f"{mv.name}/{mv.version}"


def _error(code: str, message: str) -> bytes:
    return error_body(code, message)
