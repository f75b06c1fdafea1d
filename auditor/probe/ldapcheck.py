"""An LDAP bind (or an anonymous RootDSE read) from a bound source address, with ldap3.

ldap3 is blocking; the engine runs this in a bounded thread pool.
"""

from __future__ import annotations

import contextlib
import errno
import math
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from ldap3 import BASE, NONE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPException,
    LDAPSocketOpenError,
    LDAPStartTLSError,
)

from auditor.model.record import Status, TlsReason
from auditor.probe.tls import classify_ssl_error

INVALID_CREDENTIALS = 49
_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\]")


@dataclass(frozen=True, slots=True)
class LdapTarget:
    source: str
    destination: str
    port: int
    tls_name: str
    ca_file: Path | None
    implicit_tls: bool
    starttls: bool
    bind_dn: str | None


@dataclass(frozen=True, slots=True)
class LdapOutcome:
    status: Status
    reason: str = ""
    latency_ms: float | None = None


def _socket_failure(exc: LDAPException, target: LdapTarget, timeout: float) -> LdapOutcome:
    """ldap3 mixes the cause's class into LDAPSocketOpenError: classify by isinstance."""
    if isinstance(exc, ssl.SSLError):
        tls_reason, message = classify_ssl_error(exc)
        return LdapOutcome(Status.TLS_FAILED, f"{tls_reason.value}: {message}")
    if isinstance(exc, LDAPCertificateError):
        return LdapOutcome(Status.TLS_FAILED, f"{TlsReason.HOSTNAME_MISMATCH.value}: {exc}")
    if isinstance(exc, ConnectionRefusedError):
        return LdapOutcome(Status.REFUSED, "connection refused (RST)")
    if isinstance(exc, TimeoutError):
        return LdapOutcome(Status.FILTERED, f"no answer within {timeout:g} s")
    code = _errno(exc)
    if code == errno.EADDRNOTAVAIL:
        return LdapOutcome(Status.NOT_LOCAL, f"{target.source} is not an address of this host")
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return LdapOutcome(Status.UNREACHABLE, str(exc))
    return LdapOutcome(Status.ERROR, f"{type(exc).__name__}: {exc}")


def _errno(exc: BaseException) -> int | None:
    """ldap3 re-creates the cause as `type(e)(str(e))`, which drops `errno`; recover it."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    found = _ERRNO_TEXT.search(str(exc))
    return int(found.group(1)) if found else None


def _server_message(result: dict[str, object] | None) -> str:
    if not result:
        return "no result from the server"
    code = result.get("result")
    description = result.get("description") or ""
    message = result.get("message") or ""
    text = f"result {code} {description}".strip()
    return f"{text}: {message}" if message else text


def _connection(target: LdapTarget, password: str | None, timeout: float) -> Connection:
    """A validating connection bound to the flow's source address (not opened yet)."""
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(target.ca_file) if target.ca_file is not None else None,
        valid_names=[target.tls_name],
        sni=target.tls_name,
    )
    server = Server(
        target.destination,
        port=target.port,
        use_ssl=target.implicit_tls,
        tls=tls,
        connect_timeout=timeout,
        get_info=NONE,
    )
    return Connection(
        server,
        user=target.bind_dn,
        password=password if target.bind_dn else None,
        source_address=target.source,
        # ldap3 packs this into SO_RCVTIMEO as whole seconds.
        receive_timeout=max(1, math.ceil(timeout)),
        auto_bind=False,
        raise_exceptions=False,
        read_only=True,
    )


def _start_tls(conn: Connection, target: LdapTarget, timeout: float) -> LdapOutcome | None:
    """Upgrade a plain connection; an outcome when that failed, None when it worked."""
    try:
        started = conn.start_tls()
    except (LDAPSocketOpenError, LDAPStartTLSError, LDAPCertificateError) as exc:
        return _socket_failure(exc, target, timeout)
    if started:
        return None
    refused = _server_message(conn.result)
    return LdapOutcome(
        Status.TLS_FAILED, f"{TlsReason.PROTOCOL.value}: StartTLS refused ({refused})"
    )


def _bind(conn: Connection, target: LdapTarget, start: float) -> LdapOutcome:
    """The bind (or the anonymous RootDSE read) on an open connection."""
    if not conn.bind():
        result = conn.result or {}
        if result.get("result") == INVALID_CREDENTIALS:
            return LdapOutcome(
                Status.BIND_INVALID_CREDENTIALS,
                f"{_server_message(result)} (bind DN {target.bind_dn})",
                _ms(start),
            )
        return LdapOutcome(Status.BIND_FAILED, _server_message(result), _ms(start))
    if target.bind_dn:
        return LdapOutcome(Status.BIND_OK, f"bound as {target.bind_dn}", _ms(start))
    if not conn.search("", "(objectClass=*)", search_scope=BASE, attributes=["+"]):
        return LdapOutcome(
            Status.BIND_FAILED,
            f"anonymous RootDSE read failed: {_server_message(conn.result)}",
            _ms(start),
        )
    return LdapOutcome(Status.BIND_OK, "anonymous RootDSE read", _ms(start))


def ldap_check(target: LdapTarget, password: str | None, timeout: float) -> LdapOutcome:
    """Bind as `bind_dn` with `password`, or read the RootDSE anonymously when no DN is set.

    Never raises for a network, TLS or LDAP outcome; the password never enters a reason.
    """
    conn = _connection(target, password, timeout)
    start = time.perf_counter()
    try:
        conn.open()
        if target.starttls and not target.implicit_tls:
            failed = _start_tls(conn, target, timeout)
            if failed is not None:
                return failed
        return _bind(conn, target, start)
    except LDAPSocketOpenError as exc:
        return _socket_failure(exc, target, timeout)
    except LDAPException as exc:
        if isinstance(exc, OSError | ssl.SSLError):
            return _socket_failure(exc, target, timeout)
        return LdapOutcome(Status.BIND_FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(LDAPException):
            conn.unbind()


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)
