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

from auditor.model.record import Status
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


async def answer(request: Request, sent: Sent) -> AppOutcome:
    """The classified answer to a request `send` has sent, or why there is none."""
    got = await wait(sent, is_answer=request.is_answer, silence=request.silence)
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


@dataclass(slots=True)
class Sent:
    """A request on its way: the socket it left by (open until the wait ends) and when."""

    sock: socket.socket
    timeout: float
    deadline: float  # the event loop's clock: the send plus the timeout
    start: float  # perf_counter at the send
    sent_at: float  # time.time() at the send


def send(source: str, address: str, port: int, payload: bytes, timeout: float) -> Sent | AppOutcome:
    """Bind to `source`, connect to the server and send `payload` once, now (no await: a run
    sends every request before it waits for any answer)."""
    sock = bound_socket(source, address, port)
    if isinstance(sock, AppOutcome):
        return sock
    start = time.perf_counter()
    try:
        sock.send(payload)
    except OSError as exc:
        sock.close()
        return errno_outcome(exc, elapsed_ms(start, time.perf_counter()))
    deadline = asyncio.get_running_loop().time() + timeout
    return Sent(sock, timeout, deadline, start, time.time())


async def wait(
    sent: Sent, *, is_answer: Callable[[bytes], bool], silence: str
) -> Reply | AppOutcome:
    """The first datagram `is_answer` accepts until `sent.deadline` (counted from the send: an
    answer that came before the wait began waits in the socket); the socket is closed after."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(sent.deadline):
            while True:
                data = await loop.sock_recv(sent.sock, MAX_DATAGRAM)
                if is_answer(data):
                    latency = elapsed_ms(sent.start, time.perf_counter())
                    return Reply(data, latency, sent.sent_at, time.time())
    except TimeoutError:
        return AppOutcome(Status.NO_ANSWER, f"no answer within {sent.timeout:g} s: {silence}")
    except OSError as exc:
        return errno_outcome(exc, elapsed_ms(sent.start, time.perf_counter()))
    finally:
        sent.sock.close()


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
    sent = send(source, address, port, request, timeout)
    if isinstance(sent, AppOutcome):
        return sent
    try:
        # Let every other check of the run send before this one sets up its wait: the run
        # lasts from its last send plus one timeout.
        await asyncio.sleep(0)
    except BaseException:
        sent.sock.close()
        raise
    return await wait(sent, is_answer=is_answer, silence=silence)
