"""``registry ui``: the registry in a browser, on `registry.web.http` (the standard library's sockets).

::

    GET  /                                        the models list (a redirect)
    GET  /models?filter=..&order=..&page_token=..   models, searched with the filter language
    GET  /models/<name>                           a model: description, versions, history, tags, aliases
    GET  /models/<name>/versions/<n>              a version: metadata, signature, input example, files
    GET  /models/<name>/compare?a=<n>&b=<m>       two versions side by side
    GET  /events?since=<seq>                      Server-Sent Events: the registry's events as they commit
    GET  /static/ui.css, /static/ui.js            the stylesheet and the script (package data)
    POST /models/<name>/actions/<action>          describe, set-tag, delete-tag, set-alias, delete-alias
    POST /models/<name>/versions/<n>/actions/<action>   describe, set-tag, delete-tag, set-alias, transition

Pages are rendered here; every action is a plain form POST answered with a redirect back (303) and a notice,
so the UI works without JavaScript. The script only enhances: it submits forms in the background, swaps the
new page in, and listens to ``/events`` to refresh the live parts of the page when any process changes the
registry (the events come from the journal, so changes by other processes arrive too).

**Every request gets an answer.** Unknown paths get 404, malformed input 400, refused actions the page they
came from with the refusal on it (409 for a move the stage policy forbids), forged or cross-origin posts 403
(see `registry.ui.security`); anything unexpected is logged and answered with a plain 500 page, never a
traceback. Below the pages, `registry.web.http` (the scoring server's HTTP layer too) answers malformed
requests, bodies over `MAX_FORM_BYTES` (413), bodies without a length (411), clients too slow (408) and
connections beyond the limit (503), each as an HTML error page.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import attrs

from registry.client import Registry
from registry.domain.validation import validate_version
from registry.errors import (
    IllegalStageTransition,
    InvalidParameterValue,
    ReadOnlyRegistry,
    RegistryError,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from registry.ui.actions import Target, find_action
from registry.ui.html import Markup, tag, url
from registry.ui.layout import Notice, Page, RenderContext, document
from registry.ui.pages import model_page, models_page
from registry.ui.security import Guard, Refusal
from registry.ui.version_pages import compare_page, version_page
from registry.web import http

__all__ = ["DEFAULT_PORT", "MAX_FORM_BYTES", "Request", "Response", "UIServer", "status_for"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
MAX_FORM_BYTES = 256 * 1024
_STATIC = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}
_SECURITY_HEADERS = {
    # Defence in depth behind the escaping: no inline script, no other origin, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_MAX_SESSIONS = 1000
_HEADERS = ("Host", "Origin", "Referer", "Cookie", "Content-Type", "Last-Event-ID", "X-Registry-Refresh")


def status_for(error: RegistryError) -> int:
    """The HTTP status for a registry error."""
    if isinstance(error, ResourceDoesNotExist):
        return 404
    if isinstance(error, ReadOnlyRegistry):
        return 403
    if isinstance(error, IllegalStageTransition | ResourceAlreadyExists):
        return 409
    if isinstance(error, InvalidParameterValue):
        return 400
    return 500


@attrs.frozen
class Request:
    """One HTTP request, as the routes see it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str | None]
    body: bytes = b""

    @property
    def target(self) -> str:
        return self.path + (("?" + _encode_query(self.query)) if self.query else "")


@attrs.frozen
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _encode_query(query: Mapping[str, list[str]]) -> str:
    return urlencode([(k, v) for k, vs in query.items() for v in vs])


class UIServer:
    """Serve the web UI of one registry.

    Args:
        registry: the registry to show and change (through its public methods only).
        host: the interface to listen on; ``127.0.0.1`` (the default) keeps the UI on this machine, and only
            then are requests naming another host refused (DNS rebinding).
        port: the TCP port; ``0`` picks a free one (read it back from `port`).
        poll_interval: how often, in seconds, the live stream looks at the journal for new events.
        limits: what one client may cost (`ServerLimits`; bodies are at most
            `MAX_FORM_BYTES` unless given otherwise).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        poll_interval: float = 0.25,
        limits: http.ServerLimits | None = None,
    ) -> None:
        self.registry = registry
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flash: OrderedDict[str, list[Notice]] = OrderedDict()
        self._flash_lock = threading.Lock()
        self._httpd = http.HttpServer(
            (host, port),
            self._app,
            limits=limits or http.ServerLimits(max_body_bytes=MAX_FORM_BYTES),
            access_log=False,
            errors=self._http_error,
            name="registry-ui",
        )
        self.guard = Guard(host, self.port)

    # -- lifecycle --------------------------------------------------------------------------------------------------

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
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> UIServer:
        """Serve in a background thread; returns ``self``."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="registry-ui", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `shutdown()` (or Ctrl-C, which the CLI turns into a clean exit)."""
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._stop.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, end the live streams and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
        self._httpd.server_close()

    def __enter__(self) -> UIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the server is stopping (the live streams' pause)."""
        return self._stop.wait(seconds)

    # -- flash notices (one list per session, shown once) -----------------------------------------------------------

    def _push_notice(self, session: str, notice: Notice) -> None:
        with self._flash_lock:
            self._flash.setdefault(session, []).append(notice)
            self._flash.move_to_end(session)
            while len(self._flash) > _MAX_SESSIONS:
                self._flash.popitem(last=False)

    def _pop_notices(self, session: str) -> list[Notice]:
        with self._flash_lock:
            return self._flash.pop(session, [])

    # -- requests ---------------------------------------------------------------------------------------------------

    def _app(self, raw: http.Request) -> http.Response:
        """The application `HttpServer` calls: one HTTP request in, one answer out."""
        split = urlsplit(raw.target)
        try:
            unquote(split.path, errors="strict")
            query = parse_qs(split.query, keep_blank_values=True, max_num_fields=100, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return _wire(self._error_page(400, "The address is not valid UTF-8 or has too many fields."))
        headers = {k: raw.headers.get(k.lower()) for k in _HEADERS}
        request = Request(raw.method, split.path, query, headers, raw.body)
        if request.path == "/events" and request.method == "GET":
            return self._events(request)
        return _wire(self.handle(request))

    def _http_error(self, status: int, code: str, message: str) -> http.Response:
        """The answers the HTTP layer gives itself (a malformed request, a body too large, ...), as pages."""
        return _wire(self._error_page(status, message))

    def _events(self, request: Request) -> http.Response:
        try:
            self.guard.check_host(request.headers.get("Host"))
            since = self._since(request)
        except Refusal as refusal:
            return _wire(self._error_page(refusal.status, refusal.message))
        return http.Response(
            200,
            content_type="text/event-stream; charset=utf-8",
            headers=(("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")),
            stream=lambda write: self.stream_events(since, write),
        )

    def _since(self, request: Request) -> int:
        """Where a stream starts: after ``?since=``, or after ``Last-Event-ID`` when the browser reconnects
        (whichever is later), or from now."""
        values = request.query.get("since") or []
        found = []
        for text in (values[0] if values else None, request.headers.get("Last-Event-ID")):
            if text is None or text == "":
                continue
            if not (text.isascii() and text.isdigit()) or len(text) > 18:
                raise Refusal(400, f"since must be an event sequence number (digits), got {text!r}.")
            found.append(int(text))
        return max(found) if found else self.registry.last_event_seq()

    def handle(self, request: Request) -> Response:
        """Answer one request (never raises)."""
        try:
            self.guard.check_host(request.headers.get("Host"))
            if request.method == "POST":
                return self._post(request)
            if request.method in ("GET", "HEAD"):  # the handler leaves out a HEAD answer's body
                return self._get(request)
            return self._error_page(405, f"{request.method} is not supported here; use GET or POST.")
        except Refusal as refusal:
            return self._error_page(refusal.status, refusal.message)
        except Exception:  # the boundary: log it, answer plainly, keep serving
            log.exception("registry ui: %s %s failed", request.method, request.path)
            return self._error_page(500, "Something went wrong on the server; its log says what.")

    def _session(self, request: Request) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The request's session id, and the cookie to set when it is new."""
        session = self.guard.session_of(request.headers.get("Cookie"))
        if session is not None:
            return session, ()
        session = self.guard.new_session()
        return session, (("Set-Cookie", self.guard.cookie_header(session)),)

    def _get(self, request: Request) -> Response:
        path = request.path
        if path == "/":
            return Response(303, headers=(("Location", "/models"),))
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        if path == "/favicon.ico":
            return Response(204)
        session, cookie = self._session(request)
        # The script's live refreshes leave the notices for the page the user is about to see.
        notices = [] if request.headers.get("X-Registry-Refresh") else self._pop_notices(session)
        return self.render(request, session, notices, extra_headers=cookie)

    def render(
        self,
        request: Request,
        session: str,
        notices: list[Notice] | tuple[Notice, ...] = (),
        *,
        status: int | None = None,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        """The page at ``request.path`` for this session, with ``notices`` on top (``status`` overrides)."""
        reg = self.registry
        seq = reg.last_event_seq()  # before reading anything: a change after it reaches the page live
        ctx = RenderContext(self.guard.token_for(session), request.target, reg.uri, seq, tuple(notices))
        try:
            route = _route(request.path)
            if route is None:
                page = _message_page(404, "Not found", f"There is no page at {request.path}.")
            else:
                page = route(reg, ctx, request.query)
        except RegistryError as exc:
            page = _message_page(status_for(exc), _ERROR_TITLES.get(status_for(exc), "Error"), str(exc))
        headers = (*extra_headers, *_SECURITY_HEADERS.items(), ("Cache-Control", "no-store"))
        return Response(status or page.status, document(page, ctx).encode(), headers=headers)

    def _static(self, name: str) -> Response:
        if name not in _STATIC:
            return self._error_page(404, f"There is no static file {name!r}.")
        body = resources.files("registry.ui").joinpath("static", name).read_bytes()
        return Response(
            200, body, _STATIC[name], (("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"))
        )

    def _post(self, request: Request) -> Response:
        form = _parse_form(request)
        session = self.guard.check_post(request.headers, form)
        parts = [unquote(p, errors="strict") for p in request.path.strip("/").split("/")]
        # models/<name>/actions/<action> or models/<name>/versions/<n>/actions/<action>
        if len(parts) == 4 and parts[0] == "models" and parts[2] == "actions":
            scope, target = "model", Target(parts[1])
            back = url("models", parts[1])
        elif len(parts) == 6 and parts[0] == "models" and parts[2] == "versions" and parts[4] == "actions":
            try:
                number = validate_version(parts[3])
            except InvalidParameterValue as exc:
                return self._error_page(400, str(exc))
            scope, target = "version", Target(parts[1], number)
            back = url("models", parts[1], "versions", number)
        else:
            return self._error_page(404, f"There is no action at {request.path}.")
        action = find_action(scope, parts[-1])
        if action is None:
            return self._error_page(404, f"There is no {scope} action {parts[-1]!r}.")
        next_target = _local_target(form.get("next")) or back
        try:
            message = action.run(self.registry, target, form)
        except RegistryError as exc:
            # Show the refusal on the page the form came from, with the status that says what it was.
            split = urlsplit(next_target)
            again = Request("GET", split.path, parse_qs(split.query), request.headers)  # still percent-encoded
            return self.render(again, session, [Notice("error", str(exc))], status=status_for(exc))
        self._push_notice(session, Notice("ok", message))
        return Response(303, headers=(("Location", next_target),))

    def _error_page(self, status: int, message: str) -> Response:
        page = _message_page(status, _ERROR_TITLES.get(status, "Error"), message)
        ctx = RenderContext("", "/", self.registry.uri, 0)
        try:
            body = document(page, ctx).encode()
        except Exception:  # the last resort must not fail: a page with no shell
            log.exception("registry ui: rendering an error page failed")
            body = b"<!doctype html><title>Error</title><h1>Error</h1><p>The server could not render this page.</p>"
        return Response(status, body, headers=tuple(_SECURITY_HEADERS.items()))

    # -- the live stream --------------------------------------------------------------------------------------------

    def stream_events(self, since: int, write: Callable[[bytes], None]) -> None:
        """Write the registry's events after ``since`` as Server-Sent Events until the client leaves or the server
        stops; a comment every 15 s keeps idle connections open through proxies and tells us when a client left."""
        position = since
        write(b"retry: 2000\n\n")
        last_write = time.monotonic()
        while not self.stopping:
            try:
                events = self.registry.events(position)
            except RegistryError as exc:
                log.warning("registry ui: reading events after %d failed: %s", position, exc)
                events = []
            for event in events:
                payload = {
                    "seq": event.seq,
                    "type": event.type,
                    "model": event.name,
                    "actor": event.actor,
                    "what": _describe(event),
                }
                write(f"id: {event.seq}\ndata: {json.dumps(payload)}\n\n".encode())
                position = event.seq
                last_write = time.monotonic()
            if not events and time.monotonic() - last_write > 15:
                write(b": still here\n\n")
                last_write = time.monotonic()
            if self.wait(self.poll_interval):
                return


def _describe(event: Any) -> str:
    from registry.domain.history import describe_event

    return describe_event(event)


_ERROR_TITLES = {
    400: "Bad request",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    409: "Refused",
    413: "Too large",
}


def _message_page(status: int, title: str, message: str) -> Page:
    body = tag(
        "section",
        tag("h1", title),
        tag("p", message, class_="message"),
        tag("p", tag("a", "← All models", href="/models")),
        class_="card error-card",
    )
    return Page(title, Markup(body), status=status)


PageRoute = Callable[[Registry, RenderContext, Mapping[str, list[str]]], Page]


def _route(path: str) -> PageRoute | None:
    """The page for a path, or None. Path segments are percent-decoded one by one (model names may hold '?')."""
    parts = [unquote(p, errors="strict") for p in path.strip("/").split("/")]
    if parts == ["models"]:
        return models_page
    if len(parts) == 2 and parts[0] == "models" and parts[1]:
        name = parts[1]
        return lambda reg, ctx, query: model_page(reg, ctx, name)
    if len(parts) == 3 and parts[0] == "models" and parts[2] == "compare":
        name = parts[1]
        return lambda reg, ctx, query: compare_page(reg, ctx, name, query)
    if len(parts) == 4 and parts[0] == "models" and parts[2] == "versions":
        name, version = parts[1], parts[3]
        return lambda reg, ctx, query: version_page(reg, ctx, name, version)
    return None


def _local_target(value: str | None) -> str | None:
    """``value`` if it is a path on this server (never ``//host`` or a scheme: no open redirects)."""
    if not value or len(value) > 4000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(c in value for c in "\r\n\x00"):
        return None
    return value


def _parse_form(request: Request) -> dict[str, str]:
    """The urlencoded form in a POST body (first value of each field).

    Raises:
        Refusal: 415 for another content type, 400 for text that is not UTF-8 or not a form.
    """
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise Refusal(415, "Send the form as application/x-www-form-urlencoded (as a browser's form does).")
    try:
        text = request.body.decode("utf-8")
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=100, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refusal(400, f"The form cannot be read: {exc}.") from None
    return {k: v[0] for k, v in parsed.items()}


def _wire(response: Response) -> http.Response:
    return http.Response(response.status, response.body, response.content_type, response.headers)
