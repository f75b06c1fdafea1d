"""The appliance's command API over verified TLS: an OAuth2 client-credentials token (cached
until it expires), then `GET /api/command?action=check_health` with that bearer token.

Every failure is a value (AskFailure) with its own reason; nothing here raises for a network,
TLS, HTTP or document problem. Neither the credentials nor the token ever reach a message.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from auditor.health.credentials import Credentials
from auditor.health.document import MAX_DOCUMENT, DocumentError, HealthDocument, parse_health
from auditor.inventory.secrets import Secret
from auditor.model.inventory import HealthSpec
from auditor.model.livestate import AskFailure, FailureReason
from auditor.redact import redact
from auditor.textout import printable
from auditor.tlsca import ca_context

TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
COMMAND_PATH = "/api/command?action=check_health"
MAX_TOKEN_ANSWER = 16 * 1024
DEFAULT_TOKEN_LIFETIME = 3600  # the vendor's tokens live one hour
MAX_TOKEN_LIFETIME = 366 * 86400
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,8192}=*")


@dataclass(frozen=True, slots=True)
class _Token:
    value: Secret
    expires_at: float  # on the client's monotonic clock


class _Failed(Exception):
    """Internal: carries an AskFailure out of the request helpers."""

    def __init__(self, failure: AskFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and name verification on, TLS 1.2 or newer; `ca_file` or the system store.

    Raises OSError or ssl.SSLError when the CA file cannot be loaded."""
    context = ca_context(ca_file)  # a FIFO or a device is refused, never waited on
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that verifies the certificate against `tls_name`, not the host it
    dials (an appliance is often reached by address)."""

    def __init__(
        self, host: str, port: int, *, tls_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls_name = tls_name
        self._tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._tls_name)


class HealthClient:
    """One appliance's health API. Reuse it: the token is kept until it expires."""

    def __init__(
        self,
        spec: HealthSpec,
        credentials: Credentials,
        *,
        timeout: float,
        context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(spec.url)
        self.host = parts.hostname or ""
        self.port = parts.port or 443
        self.prefix = parts.path.rstrip("/")
        self.tls_name = spec.tls_name or self.host
        self.timeout = timeout
        self._context = context if context is not None else tls_context(spec.ca_file)
        self._credentials = credentials
        self._clock = clock
        self._token: _Token | None = None

    def check_health(self) -> HealthDocument | AskFailure:
        """Ask the appliance; a document, or why it could not be asked."""
        try:
            return self._check_health()
        except _Failed as failed:
            return failed.failure

    def _check_health(self) -> HealthDocument:
        cached = self._token is not None and self._clock() < self._token.expires_at
        token = self._bearer()
        status, reason, body = self._request("GET", COMMAND_PATH, {"Authorization": token})
        if status == 401 and cached:
            # Revoked or expired early (a regenerated secret invalidates every token): once more
            # with a fresh one.
            self._token = None
            token = self._bearer()
            status, reason, body = self._request("GET", COMMAND_PATH, {"Authorization": token})
        if status in (401, 403):
            self._token = None
            raise _Failed(
                AskFailure(
                    FailureReason.AUTH,
                    f"the bearer token was refused (HTTP {status} at /api/command): the API "
                    "account needs read-only or full access to the command API",
                )
            )
        if status != 200:
            raise _Failed(
                AskFailure(FailureReason.HTTP, f"HTTP {status} {reason} from /api/command")
            )  # `reason` is the server's text: redacted, printable and short (_request)
        try:
            return parse_health(body)
        except DocumentError as exc:
            raise _Failed(AskFailure(FailureReason.MALFORMED, f"check_health: {exc}")) from None

    def _bearer(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._token.expires_at:
            self._token = self._fetch_token(now)
        return f"Bearer {self._token.value.reveal()}"

    def _fetch_token(self, now: float) -> _Token:
        pair = f"{self._credentials.client_id.reveal()}:{self._credentials.client_secret.reveal()}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        status, reason, body = self._request(
            "POST", TOKEN_PATH, headers, b"grant_type=client_credentials", MAX_TOKEN_ANSWER
        )
        if status in (400, 401, 403):
            raise _Failed(
                AskFailure(
                    FailureReason.AUTH,
                    f"the API account's client id or secret was refused (HTTP {status} at "
                    f"{TOKEN_PATH})",
                )
            )
        if status != 200:
            raise _Failed(AskFailure(FailureReason.HTTP, f"HTTP {status} {reason} at {TOKEN_PATH}"))
        value, lifetime = _token_fields(body)
        # Renew a little early, so a token never expires between the check and its use.
        margin = min(30.0, lifetime / 10)
        return _Token(Secret(value), now + lifetime - margin)

    def _request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        limit: int = MAX_DOCUMENT,
    ) -> tuple[int, str, bytes]:
        conn = _Connection(
            self.host, self.port, tls_name=self.tls_name, context=self._context,
            timeout=self.timeout,
        )  # fmt: skip
        # The vendor asks for one connection per call.
        headers = {**headers, "Connection": "close", "User-Agent": "failover-auditor"}
        # The socket timeout bounds each read; the watchdog bounds the whole request, so an
        # answer trickling in a byte at a time cannot hold the run.
        expired = threading.Event()
        watchdog = threading.Timer(self.timeout, _expire, (conn, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(limit + 1)
        except Exception as exc:  # mapped to a reason below; anything else is a bug
            failure = self._failure(exc) if not expired.is_set() else self._timed_out()
            if failure is None:
                raise
            raise _Failed(failure) from None
        finally:
            watchdog.cancel()
            conn.close()
        if expired.is_set():
            raise _Failed(self._timed_out())
        if len(data) > limit:
            raise _Failed(
                AskFailure(
                    FailureReason.MALFORMED, f"the answer at {path} is larger than {limit} bytes"
                )
            )
        # The reason phrase is the server's text: redacted before it is cut (a cut secret is no
        # longer found), then made printable and short.
        return response.status, printable(redact(response.reason))[:80], data

    def _failure(self, exc: Exception) -> AskFailure | None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return AskFailure(
                FailureReason.TLS,
                f"certificate not trusted for {self.tls_name}: {exc.verify_message}",
            )
        if isinstance(exc, ssl.SSLError):
            return AskFailure(FailureReason.TLS, f"TLS failed: {exc.reason or exc}")
        if isinstance(exc, TimeoutError | socket.timeout):
            return self._timed_out()
        if isinstance(exc, ConnectionRefusedError):
            return AskFailure(FailureReason.CONNECT, f"connection refused by {self._where()}")
        if isinstance(exc, http.client.HTTPException):
            return AskFailure(
                FailureReason.MALFORMED, f"not a valid HTTP answer ({type(exc).__name__})"
            )
        if isinstance(exc, OSError):
            return AskFailure(
                FailureReason.CONNECT, f"cannot reach {self._where()}: {exc.strerror or exc}"
            )
        return None

    def _timed_out(self) -> AskFailure:
        return AskFailure(FailureReason.TIMEOUT, f"no answer within {self.timeout:g} s")

    def _where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _expire(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The watchdog: end a request that is taking too long (a blocked read returns at once)."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown: the TLS layer is left to the reading thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _token_fields(body: bytes) -> tuple[str, float]:
    """The access token and its lifetime from the token endpoint's JSON (never echoed)."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # also a number too long to convert, deep nesting
        doc = None
    if not isinstance(doc, dict):
        raise _Failed(AskFailure(FailureReason.MALFORMED, f"{TOKEN_PATH}: the answer is not JSON"))
    token = doc.get("access_token")
    kind = doc.get("token_type", "Bearer")
    lifetime = doc.get("expires_in", DEFAULT_TOKEN_LIFETIME)
    if not isinstance(token, str) or not _B64TOKEN.fullmatch(token):
        # RFC 6750's b64token: anything else cannot go in a header (and is never echoed)
        problem = "no access_token (or one that is not an RFC 6750 token)"
    elif not isinstance(kind, str) or kind.lower() != "bearer":
        problem = "token_type is not Bearer"
    elif (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or not 0 < lifetime <= MAX_TOKEN_LIFETIME  # also NaN, Infinity
    ):
        problem = "expires_in is not a positive number"
    else:
        return token, float(lifetime)
    raise _Failed(AskFailure(FailureReason.MALFORMED, f"{TOKEN_PATH}: {problem}"))
