"""A small HTTP client for the UI's tests: real sockets (http.client), no redirects followed, a cookie jar of
one cookie, and the form token read from the page like a browser would."""

from __future__ import annotations

import http.client
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import attrs

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@attrs.frozen
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    def text(self) -> str:
        """The body with tags removed and entities decoded (what a reader sees)."""
        return unescape(re.sub(r"<[^>]+>", " ", self.body))


class Client:
    """One browser's worth of state against the UI at ``127.0.0.1:<port>``."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.cookie: str | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"Host": f"{self.host}:{self.port}"}
            if self.cookie:
                sent["Cookie"] = self.cookie
            sent.update(headers or {})
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for key, value in sent.items():
                conn.putheader(key, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            raw = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
            cookie = got.get("set-cookie")
            if cookie:
                self.cookie = cookie.split(";", 1)[0]
            return Reply(response.status, got, raw.decode("utf-8", "replace"))
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, headers=headers)

    def token(self, path: str = "/models/fraud-detector") -> str:
        """Open a page (getting a session cookie) and read its forms' token."""
        reply = self.get(path)
        match = TOKEN.search(reply.body)
        assert match, f"no form token on {path}"
        return match.group(1)

    def post(self, path: str, fields: dict[str, Any], *, token: str | None = None, **headers: str) -> Reply:
        data = dict(fields)
        if token is not None:
            data["csrf_token"] = token
        sent = {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin, **headers}
        sent = {k: v for k, v in sent.items() if v != ""}
        return self.request("POST", path, urlencode(data).encode(), sent)
