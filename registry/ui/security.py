"""Who may act through the UI: the session cookie, the anti-forgery token, and the host and origin checks.

Three checks stand between a web page on another site and a change to the registry:

1. **Host.** When the UI listens on a loopback address, a request must name it as ``127.0.0.1``, ``localhost``
   or ``[::1]`` (with the port) in its ``Host`` header. This defeats DNS rebinding: a hostile page whose name
   has been re-pointed at 127.0.0.1 is, to the browser, a page of ``evil.example``, and its requests say so.
2. **Origin.** A POST must come from a page of this UI: its ``Origin`` header (or, where a browser sends none,
   its ``Referer``) must be ``http://<Host>``. A POST with neither is refused.
3. **Token.** Each browser gets a random session id in a cookie (``HttpOnly``, ``SameSite=Strict``: never sent
   on a request another site starts), and every form carries a hidden token derived from it with a key only
   this server process knows (HMAC-SHA256). A POST whose token does not match its cookie is refused.

Pure apart from the random numbers: the server hands in the headers and the form.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

__all__ = [
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "Guard",
    "Refusal",
    "is_loopback",
]

SESSION_COOKIE = "registry_ui_session"
CSRF_FIELD = "csrf_token"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


class Refusal(Exception):
    """A request the checks refuse: ``status`` (400, 403 or 421) and a message saying why and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """The checks for one server: its port, whether it is loopback-only, and its secret key.

    Args:
        bind_host: the address the server listens on.
        port: the port it listens on.
        secret: the HMAC key (default: 32 random bytes, so tokens end with the process).
    """

    def __init__(self, bind_host: str, port: int, secret: bytes | None = None) -> None:
        self.port = port
        self.loopback_only = is_loopback(bind_host)
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    # -- sessions and tokens ----------------------------------------------------------------------------------------

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def session_of(cookie_header: str | None) -> str | None:
        """The session id in a ``Cookie`` header, if it holds a well-formed one."""
        if not cookie_header:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return None
        morsel = jar.get(SESSION_COOKIE)
        if morsel is None:
            return None
        value = morsel.value
        return value if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else None

    def token_for(self, session: str) -> str:
        """The anti-forgery token that forms of this session carry."""
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def cookie_header(self, session: str) -> str:
        """The ``Set-Cookie`` value for a new session."""
        return f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"

    # -- the checks -------------------------------------------------------------------------------------------------

    def check_host(self, host_header: str | None) -> None:
        """Refuse a request whose ``Host`` is not this server's loopback name (when loopback-only).

        Raises:
            Refusal: 400 without a Host header, 421 for another host name.
        """
        if not host_header:
            raise Refusal(400, "The request has no Host header.")
        if not self.loopback_only:
            return
        name, port = _split_host(host_header)
        if name.lower() not in _LOOPBACK_NAMES or port not in (self.port, None):
            raise Refusal(
                421,
                f"This registry UI answers only as http://127.0.0.1:{self.port} or http://localhost:{self.port}, "
                f"not as {host_header!r}. Open it at one of those addresses.",
            )

    def check_post(self, headers: Mapping[str, str | None], form: Mapping[str, str]) -> str:
        """Refuse a POST from another origin or without this session's token; returns the session id.

        Raises:
            Refusal: 403, saying which check failed and what to do.
        """
        host = headers.get("Host") or ""
        expected = f"http://{host}".lower()
        origin = headers.get("Origin")
        if origin is not None and origin != "null":
            if origin.rstrip("/").lower() != expected:
                raise Refusal(403, f"Refused: this form was sent from {origin}, not from this registry UI.")
        else:
            referer = headers.get("Referer")
            if not referer:
                raise Refusal(
                    403, "Refused: the request says neither where it comes from (Origin) nor which page sent it."
                )
            parts = urlsplit(referer)
            if f"{parts.scheme}://{parts.netloc}".lower() != expected:
                raise Refusal(403, "Refused: this form was sent from a page of another site.")
        session = self.session_of(headers.get("Cookie"))
        if session is None:
            raise Refusal(403, "Refused: no session cookie. Reload the page (cookies must be enabled) and try again.")
        token = form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(token.encode(), self.token_for(session).encode()):
            raise Refusal(
                403, "Refused: the form's security token is missing or out of date. Reload the page and try again."
            )
        return session


def _split_host(value: str) -> tuple[str, int | None]:
    """``('127.0.0.1', 8080)`` from ``127.0.0.1:8080``; IPv6 names keep their brackets."""
    value = value.strip()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = value.partition(":")
    if not port_text:
        return name, None
    try:
        return name, int(port_text)
    except ValueError:
        return name, -1
