"""SMTP proof of life from a bound source: the 220 banner, EHLO, then STARTTLS where the
server offers it on 25/587, or implicit TLS on 465; the certificate is checked like LDAPS
(provider CA, tls_name), because the appliance treats a bad certificate as an outage."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from pathlib import Path

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome, elapsed_ms
from auditor.probe.app.stream import close
from auditor.probe.tcp import BoundConnectError, open_bound
from auditor.probe.tls import classify_ssl_error, make_context

IMPLICIT_TLS_PORTS = frozenset({465})
EHLO_NAME = "failover-auditor.invalid"
MAX_LINES = 100


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    """One SMTP reply: its code and text lines (multi-line replies joined)."""
    lines: list[str] = []
    while len(lines) < MAX_LINES:
        raw = await reader.readline()
        if not raw:
            raise ConnectionError("connection closed")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if len(line) < 3 or not line[:3].isdigit():
            raise ValueError(f"not an SMTP reply: {line[:60]!r}")
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines
    raise ValueError("reply too long")


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, text: str
) -> tuple[int, list[str]]:
    writer.write(text.encode("ascii") + b"\r\n")
    await writer.drain()
    return await read_reply(reader)


async def probe_smtp(
    source: str,
    address: str,
    port: int,
    timeout: float,
    *,
    tls_name: str,
    ca_file: Path | None = None,
    context: ssl.SSLContext | None = None,
) -> AppOutcome:
    """Banner, EHLO and TLS from `source`; never raises for a network or TLS outcome."""
    try:
        ctx = context if context is not None else make_context(ca_file)
    except (OSError, ssl.SSLError) as exc:
        return AppOutcome(Status.ERROR, f"cannot load CA file {ca_file}: {exc}")
    start = time.perf_counter()
    try:
        sock, _ = await open_bound(source, address, port, timeout)
    except BoundConnectError as exc:
        o = exc.outcome
        return AppOutcome(o.status, o.reason, o.latency_ms)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout * 2):
            if port in IMPLICIT_TLS_PORTS:
                reader, writer = await asyncio.open_connection(
                    sock=sock, ssl=ctx, server_hostname=tls_name, ssl_handshake_timeout=timeout
                )
            else:
                reader, writer = await asyncio.open_connection(sock=sock)
            return await _dialogue(
                reader, writer, ctx=ctx, tls_name=tls_name, port=port, timeout=timeout, start=start
            )
    except TimeoutError:
        return AppOutcome(
            Status.SMTP_FAILED, f"connected, but the dialogue stalled ({timeout:g} s)"
        )
    except ssl.SSLError as exc:
        reason, message = classify_ssl_error(exc)
        return AppOutcome(
            Status.TLS_FAILED, f"{reason.value}: {message}", detail={"tls_reason": reason.value}
        )
    except (ConnectionError, ValueError) as exc:
        return AppOutcome(Status.SMTP_FAILED, f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return AppOutcome(Status.ERROR, f"{type(exc).__name__}: {exc}")
    finally:
        await close(writer, sock)


async def _dialogue(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    ctx: ssl.SSLContext,
    tls_name: str,
    port: int,
    timeout: float,
    start: float,
) -> AppOutcome:
    code, banner = await read_reply(reader)
    detail = {"banner": (banner[0] if banner else "")[:120]}
    if code != 220:
        return AppOutcome(
            Status.SMTP_FAILED, f"banner {code} (expected 220): {detail['banner']}", detail=detail
        )
    code, ehlo = await _command(reader, writer, f"EHLO {EHLO_NAME}")
    if code != 250:
        return AppOutcome(Status.SMTP_FAILED, f"EHLO answered {code}", detail=detail)
    extensions = {line.split(" ", 1)[0].upper() for line in ehlo[1:]}
    tls = "implicit" if port in IMPLICIT_TLS_PORTS else "none"
    if tls == "none" and "STARTTLS" in extensions:
        code, _ = await _command(reader, writer, "STARTTLS")
        if code != 220:
            return AppOutcome(Status.TLS_FAILED, f"STARTTLS answered {code}", detail=detail)
        await writer.start_tls(ctx, server_hostname=tls_name, ssl_handshake_timeout=timeout)
        tls = "starttls"
        code, _ = await _command(reader, writer, f"EHLO {EHLO_NAME}")
        if code != 250:
            return AppOutcome(Status.SMTP_FAILED, f"EHLO after STARTTLS answered {code}")
    latency = elapsed_ms(start, time.perf_counter())
    ssl_object = writer.get_extra_info("ssl_object")
    detail["tls"] = tls
    if ssl_object is not None:
        detail["tls_version"] = ssl_object.version() or ""
    with contextlib.suppress(Exception):
        writer.write(b"QUIT\r\n")
        await writer.drain()
    reason = (
        "banner 220, EHLO 250"
        + {
            "implicit": ", TLS certificate valid",
            "starttls": ", STARTTLS certificate valid",
            "none": ", no STARTTLS offered (mail would leave in clear text)",
        }[tls]
    )
    return AppOutcome(Status.SMTP_OK, reason, latency, detail)
