"""A TLS handshake from a bound source address, validated against the provider's CA and name.

Implicit TLS (LDAPS 636/3269, or any port whose check asks for TLS) or LDAP StartTLS (389/3268
when the provider sets `starttls`). A certificate problem is an outage for the appliance, so
every verify failure is classified, never waved through.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.model.record import CertInfo, Status, TlsReason
from auditor.probe.tcp import BoundConnectError, open_bound
from auditor.tlsca import ca_context

# OpenSSL X509_V_ERR_* codes that mean something other than "no trusted chain".
_EXPIRED_CODES = frozenset({9, 10})  # not yet valid, has expired
_NAME_CODES = frozenset({62, 63, 64})  # hostname, email, IP address mismatch

# LDAPv3 ExtendedRequest, messageID 1, requestName 1.3.6.1.4.1.1466.20037 (RFC 4511 4.14.1).
_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
STARTTLS_REQUEST = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + _STARTTLS_OID


@dataclass(frozen=True, slots=True)
class TlsOutcome:
    status: Status
    reason: str = ""
    latency_ms: float | None = None
    cert: CertInfo | None = None
    tls_reason: TlsReason | None = None


def make_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the chain (provider CA file, else the system store) and the name."""
    ctx = ca_context(ca_file)  # a FIFO or a device is refused, never waited on
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _name(rdns: Any) -> str:
    parts = []
    for rdn in rdns or ():
        for key, value in rdn:
            short = {
                "commonName": "CN",
                "organizationName": "O",
                "organizationalUnitName": "OU",
                "countryName": "C",
                "localityName": "L",
                "stateOrProvinceName": "ST",
                "domainComponent": "DC",
            }.get(key, key)
            parts.append(f"{short}={value}")
    return ",".join(parts)


def cert_info(peer: dict[str, Any], now: datetime | None = None) -> CertInfo:
    """The fields a reader of the results needs from `SSLSocket.getpeercert()`."""
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    now = now or datetime.now(UTC)
    return CertInfo(
        subject=_name(peer.get("subject")),
        issuer=_name(peer.get("issuer")),
        not_after=not_after.isoformat().replace("+00:00", "Z"),
        san=tuple(str(value) for _kind, value in peer.get("subjectAltName", ())),
        days_left=int((not_after - now).total_seconds() // 86400),
    )


def classify_ssl_error(exc: ssl.SSLError) -> tuple[TlsReason, str]:
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        message = exc.verify_message or str(exc)
        if code in _EXPIRED_CODES:
            return TlsReason.EXPIRED, message
        if code in _NAME_CODES:
            return TlsReason.HOSTNAME_MISMATCH, message
        return TlsReason.UNTRUSTED, message
    return TlsReason.PROTOCOL, exc.reason or str(exc)


def _ber_length(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(length, position after the length octets), or None if `buf` is too short."""
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if pos + 1 + count > len(buf):
        return None
    return int.from_bytes(buf[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def starttls_result(message: bytes) -> int | None:
    """The resultCode of an ExtendedResponse, or None if `message` is not one."""
    try:
        outer = _ber_length(message, 1)
        if message[0] != 0x30 or outer is None:
            return None
        pos = outer[1]
        if message[pos] != 0x02:  # messageID
            return None
        msgid = _ber_length(message, pos + 1)
        if msgid is None:
            return None
        pos = msgid[1] + msgid[0]
        if message[pos] != 0x78:  # [APPLICATION 24] ExtendedResponse
            return None
        ext = _ber_length(message, pos + 1)
        if ext is None:
            return None
        pos = ext[1]
        if message[pos] != 0x0A:  # resultCode ENUMERATED
            return None
        code = _ber_length(message, pos + 1)
        if code is None:
            return None
        return int.from_bytes(message[code[1] : code[1] + code[0]], "big")
    except IndexError:
        return None


async def _read_ldap_message(reader: asyncio.StreamReader) -> bytes:
    buf = b""
    while True:
        length = _ber_length(buf, 1) if buf else None
        if length is not None and len(buf) >= length[1] + length[0]:
            return buf
        chunk = await reader.read(4096)
        if not chunk:
            return buf
        buf += chunk
        if len(buf) > 65536:
            return buf


async def probe_tls(
    source: str,
    destination: str,
    port: int,
    timeout: float,
    *,
    tls_name: str,
    ca_file: Path | None,
    starttls: bool = False,
    context: ssl.SSLContext | None = None,
) -> TlsOutcome:
    """Handshake from `source`, with `server_hostname=tls_name`; never raises for a network
    or certificate outcome. `context` (from make_context(ca_file)) saves loading the CA file
    for every probe."""
    try:
        ctx = context if context is not None else make_context(ca_file)
    except (OSError, ssl.SSLError) as exc:
        return TlsOutcome(Status.ERROR, f"cannot load CA file {ca_file}: {exc}")
    try:
        sock, _ = await open_bound(source, destination, port, timeout)
    except BoundConnectError as exc:
        o = exc.outcome
        return TlsOutcome(o.status, o.reason, o.latency_ms)
    start = time.perf_counter()
    try:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can lose a cancellation that
        # arrives as the handshake ends (an interrupted run then waits for every check).
        async with asyncio.timeout(timeout):
            return await _handshake(
                sock, ctx=ctx, tls_name=tls_name, starttls=starttls, timeout=timeout, start=start
            )
    except TimeoutError:
        return TlsOutcome(
            Status.TLS_FAILED,
            f"no TLS handshake within {timeout:g} s",
            tls_reason=TlsReason.PROTOCOL,
        )
    finally:
        # The stream transport closes it too when it took it over; closing twice is harmless.
        with contextlib.suppress(OSError):
            sock.close()


async def _handshake(
    sock: socket.socket,
    *,
    ctx: ssl.SSLContext,
    tls_name: str,
    starttls: bool,
    timeout: float,
    start: float,
) -> TlsOutcome:
    writer: asyncio.StreamWriter | None = None
    try:
        if starttls:
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(STARTTLS_REQUEST)
            await writer.drain()
            code = starttls_result(await _read_ldap_message(reader))
            if code != 0:
                what = (
                    "no StartTLS response" if code is None else f"StartTLS refused (result {code})"
                )
                return TlsOutcome(Status.TLS_FAILED, what, tls_reason=TlsReason.PROTOCOL)
            await writer.start_tls(ctx, server_hostname=tls_name, ssl_handshake_timeout=timeout)
        else:
            _reader, writer = await asyncio.open_connection(
                sock=sock, ssl=ctx, server_hostname=tls_name, ssl_handshake_timeout=timeout
            )
        latency = round((time.perf_counter() - start) * 1000.0, 3)
        ssl_object = writer.get_extra_info("ssl_object")
        peer = ssl_object.getpeercert() if ssl_object is not None else None
        cert = cert_info(peer) if peer else None
        version = ssl_object.version() if ssl_object is not None else ""
        return TlsOutcome(Status.TLS_OK, version or "", latency, cert)
    except ssl.SSLError as exc:
        reason, message = classify_ssl_error(exc)
        return TlsOutcome(Status.TLS_FAILED, f"{reason.value}: {message}", tls_reason=reason)
    except (ConnectionError, EOFError) as exc:
        return TlsOutcome(
            Status.TLS_FAILED,
            f"connection closed during the handshake ({type(exc).__name__})",
            tls_reason=TlsReason.PROTOCOL,
        )
    except OSError as exc:
        return TlsOutcome(Status.ERROR, f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(0.5):
                    await writer.wait_closed()
