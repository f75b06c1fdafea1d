"""TCP connect from a bound source address, classified into the status vocabulary."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import time
from dataclasses import dataclass

from auditor.model.record import Status

_IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})


@dataclass(frozen=True, slots=True)
class TcpOutcome:
    status: Status
    reason: str = ""
    latency_ms: float | None = None


class BoundConnectError(Exception):
    """A bound connect that did not succeed; `outcome` says how, for the status vocabulary."""

    def __init__(self, outcome: TcpOutcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _errno_outcome(exc: OSError, latency_ms: float | None) -> TcpOutcome:
    code = exc.errno
    if code == errno.ECONNREFUSED:
        return TcpOutcome(Status.REFUSED, "connection refused (RST)", latency_ms)
    if code in _UNREACHABLE:
        name = errno.errorcode.get(code, str(code))
        return TcpOutcome(Status.UNREACHABLE, f"{name}: {exc.strerror}", latency_ms)
    if code == errno.ETIMEDOUT:
        return TcpOutcome(Status.FILTERED, "no answer (kernel connect timeout)")
    name = errno.errorcode.get(code or 0, str(code))
    return TcpOutcome(Status.ERROR, f"{name}: {exc.strerror or exc}", latency_ms)


def _wake(ready: asyncio.Future[None]) -> None:
    # The descriptor stays writable until the task resumes and unregisters it.
    if not ready.done():
        ready.set_result(None)


async def _connect(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, address: tuple[str, int]
) -> None:
    """A non-blocking connect: what loop.sock_connect does, minus its per-call checks (this
    runs thousands of times per run and its cost adds to the wall time past the timeout)."""
    code = sock.connect_ex(address)
    if code == 0:
        return
    if code != errno.EINPROGRESS:
        raise OSError(code, os.strerror(code))
    fd = sock.fileno()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_writer(fd, _wake, ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code != 0:
        raise OSError(code, os.strerror(code))


def _answered(sock: socket.socket) -> bool:
    """True if the connect finished; raises OSError if it failed (refused, unreachable)."""
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code != 0:
        raise OSError(code, os.strerror(code))
    try:
        sock.getpeername()
    except OSError:
        return False  # still in SYN-SENT
    return True


async def open_bound(
    source: str, destination: str, port: int, timeout: float
) -> tuple[socket.socket, float]:
    """Connect `source` -> `destination`:`port` with the socket bound to `source`.

    Returns the connected non-blocking socket and the connect latency in ms; raises
    BoundConnectError carrying the classified outcome otherwise.
    """
    family = _family(destination)
    if family != _family(source):
        raise BoundConnectError(
            TcpOutcome(Status.ERROR, "source and destination are different IP versions")
        )
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        # Bind the address now but pick the port at connect time, so thousands of probes from
        # one source share the ephemeral range per destination instead of exhausting it.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
        try:
            sock.bind((source, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise BoundConnectError(
                    TcpOutcome(Status.NOT_LOCAL, f"{source} is not an address of this host")
                ) from None
            raise BoundConnectError(_errno_outcome(exc, None)) from None
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            # asyncio.timeout, not wait_for: no extra task per probe, which counts at thousands.
            async with asyncio.timeout(timeout):
                await _connect(loop, sock, (destination, port))
        except TimeoutError:
            # A busy event loop can run the timer before the readiness callback of an answer
            # that arrived in time: ask the kernel before calling it filtered.
            try:
                answered = _answered(sock)
            except OSError as exc:
                elapsed = (time.perf_counter() - start) * 1000.0
                raise BoundConnectError(_errno_outcome(exc, round(elapsed, 3))) from None
            if not answered:
                raise BoundConnectError(
                    TcpOutcome(Status.FILTERED, f"no answer within {timeout:g} s")
                ) from None
        except OSError as exc:
            elapsed = (time.perf_counter() - start) * 1000.0
            raise BoundConnectError(_errno_outcome(exc, round(elapsed, 3))) from None
        elapsed = (time.perf_counter() - start) * 1000.0
    except BaseException:
        sock.close()
        raise
    return sock, round(elapsed, 3)


async def probe_tcp(source: str, destination: str, port: int, timeout: float) -> TcpOutcome:
    """One TCP connect attempt, classified; never raises for a network outcome."""
    try:
        sock, latency = await open_bound(source, destination, port, timeout)
    except BoundConnectError as exc:
        return exc.outcome
    sock.close()
    return TcpOutcome(Status.OPEN, "", latency)
