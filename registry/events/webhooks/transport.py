"""Sending one delivery: an HTTP POST (urllib, standard library) or a local command, and the retry policy.

Each attempt returns an `Attempt` saying whether it worked and, if not, whether trying again may help:
HTTP 408, 429 and 5xx, connection errors and timeouts may; other 4xx and 3xx do not (redirects are not
followed). A command succeeds with exit status 0; a timeout, a failure to
start, or exit status 75 (``EX_TEMPFAIL``) is retried; any other status is final, because a deploy script that
failed for a reason of its own should not be run again eight times.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse

import attrs

__all__ = ["Attempt", "RetryPolicy", "parse_retry_after", "post", "run_command"]

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
EX_TEMPFAIL = 75
_BODY_LIMIT = 4096


@attrs.frozen
class RetryPolicy:
    """How deliveries are retried.

    Attributes:
        max_attempts: attempts per event and hook before giving up (the log then says ``failed``).
        base_delay: seconds before the first retry; each further retry waits twice as long ...
        max_delay: ... up to this many seconds (a ``Retry-After`` header may ask for longer, up to
            ``max_retry_after``).
        max_retry_after: the longest ``Retry-After`` honoured, in seconds.
        request_timeout: seconds an HTTP request may take.
    """

    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0
    max_retry_after: float = 3600.0
    request_timeout: float = 10.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        backoff = min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after))
        return backoff


@attrs.frozen
class Attempt:
    ok: bool
    retryable: bool = False
    status: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date (None when absent or unreadable)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        import email.utils  # only for the rare HTTP-date form of Retry-After

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Attempt:
    """POST ``body`` to ``url``; never raises for network or HTTP errors (they are in the Attempt).

    ``http.client`` (under urllib) sends header names exactly as given (``X-MLflow-Signature``; urllib's
    ``Request`` would re-case them) and does not follow redirects (urllib would turn the POST into a GET).
    """
    import http.client  # here, not at the top: it pulls in ssl, and most processes never send a webhook

    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
        try:
            connection.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
            response = connection.getresponse()
            text = response.read(_BODY_LIMIT).decode("utf-8", "replace")
            status, reason, retry_after_header = response.status, response.reason, response.getheader("Retry-After")
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Attempt(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return Attempt(ok=True, status=status, body=text)
    return Attempt(
        ok=False,
        retryable=status in RETRYABLE_STATUS,
        status=status,
        body=text,
        error=f"HTTP {status} {reason}",
        retry_after=parse_retry_after(retry_after_header),
    )


def run_command(argv: tuple[str, ...], stdin: bytes, timeout: float, env: dict[str, str]) -> Attempt:
    """Run ``argv`` (no shell) with ``stdin``; never raises for the command's own failures."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **env},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Attempt(ok=False, retryable=True, error=f"timed out after {timeout:g} s")
    except OSError as exc:
        return Attempt(ok=False, retryable=True, error=f"could not start {argv[0]!r}: {exc}")
    output = (done.stdout + done.stderr)[-_BODY_LIMIT:].decode("utf-8", "replace")
    if done.returncode == 0:
        return Attempt(ok=True, status=0, body=output)
    return Attempt(
        ok=False,
        retryable=done.returncode == EX_TEMPFAIL,
        status=done.returncode,
        body=output,
        error=f"exit status {done.returncode}: {output.strip()[-500:]}",
    )
