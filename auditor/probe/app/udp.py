"""One UDP request/answer exchange on a socket bound to the source address and connected to
the server, so an ICMP port unreachable surfaces as ECONNREFUSED (`refused`) and silence is
`no-answer`. Datagrams that are not the answer (another id) are ignored until the timeout.

Every UDP application probe is a `Request` (its datagram, how to recognise the answer, how to
read it, what silence may mean) given to `ask`: the send, the wait and the network outcomes
are here once."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.probe.app.outcome import AppOutcome, elapsed_ms

_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})
MAX_DATAGRAM = 65535


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes
    latency_ms: float
    sent_at: float  # time.time() when the request left (NTP needs wall-clock times)
    received_at: float


@dataclass(frozen=True, slots=True)
class Request:
    """What a UDP application probe supplies; `ask` does the rest."""

    payload: bytes
    is_answer: Callable[[bytes], bool]  # this datagram answers the request (id, nonce)
    classify: Callable[[Reply], AppOutcome]  # what the answer says
    silence: str  # what no answer may mean, for the `no-answer` reason


async def ask(source: str, address: str, port: int, timeout: float, request: Request) -> AppOutcome:
    """Send `request` from `source` once and classify its answer, or say why there is none."""
    got = await exchange(
        source,
        address,
        port,
        request.payload,
        timeout,
        is_answer=request.is_answer,
        silence=request.silence,
    )
    return got if isinstance(got, AppOutcome) else request.classify(got)


def family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def errno_outcome(exc: OSError, latency_ms: float | None = None) -> AppOutcome:
    """An OSError from a bound UDP or TCP socket, in the status vocabulary."""
    code = exc.errno
    if code == errno.ECONNREFUSED:
        return AppOutcome(
            Status.REFUSED,
            "ICMP port unreachable: nothing listens there, or a firewall rejects it",
            latency_ms,
        )
    if code in _UNREACHABLE:
        name = errno.errorcode.get(code, str(code))
        return AppOutcome(Status.UNREACHABLE, f"{name}: {exc.strerror}", latency_ms)
    name = errno.errorcode.get(code or 0, str(code))
    return AppOutcome(Status.ERROR, f"{name}: {exc.strerror or exc}", latency_ms)


def bound_socket(source: str, address: str, port: int) -> socket.socket | AppOutcome:
    """A non-blocking UDP socket bound to `source` and connected to `address`:`port`."""
    if family(source) != family(address):
        return AppOutcome(Status.ERROR, "source and destination are different IP versions")
    sock = socket.socket(family(address), socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        sock.bind((source, 0))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            return AppOutcome(Status.NOT_LOCAL, f"{source} is not an address of this host")
        return errno_outcome(exc)
    try:
        sock.connect((address, port))
    except OSError as exc:
        sock.close()
        return errno_outcome(exc)
    return sock


async def exchange(
    source: str,
    address: str,
    port: int,
    request: bytes,
    timeout: float,
    *,
    is_answer: Callable[[bytes], bool],
    silence: str,
) -> Reply | AppOutcome:
    """Send `request` once and wait up to `timeout` for a datagram that `is_answer` accepts.

    Returns the Reply, or an AppOutcome: `no-answer` (reason `silence`), `refused`,
    `unreachable`, `not-local` or `error`.
    """
    sock = bound_socket(source, address, port)
    if isinstance(sock, AppOutcome):
        return sock
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    sent_at = time.time()
    try:
        sock.send(request)
        deadline = loop.time() + timeout
        # Let every other check of the run send before this one sets up its wait: the run
        # lasts from its last send plus one timeout, and each wait still counts from its own
        # send (an answer that came meanwhile waits in the socket).
        await asyncio.sleep(0)
        async with asyncio.timeout_at(deadline):
            while True:
                data = await loop.sock_recv(sock, MAX_DATAGRAM)
                if is_answer(data):
                    return Reply(data, elapsed_ms(start, time.perf_counter()), sent_at, time.time())
    except TimeoutError:
        return AppOutcome(Status.NO_ANSWER, f"no answer within {timeout:g} s: {silence}")
    except OSError as exc:
        return errno_outcome(exc, elapsed_ms(start, time.perf_counter()))
    finally:
        sock.close()
