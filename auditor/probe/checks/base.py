"""The interface every check implements (the sslyze `ScanCommand` / pip-audit pattern).

A check is one module in this package with one `CHECK` object: its registry name, the
transport it runs on, the check that must pass first, the statuses it can return, and how it
runs from the flow's bound source address. The engine owns caps, ordering, skipping and
records; a check only observes. A failed check is an `Observation`, never an exception.

Every UDP application check has the same shape (one request from the bound source, sent once,
its answer awaited and classified): `UdpAppCheck` is that shape, so a new UDP check is one
small module with its `Check` name, the statuses its answers add, and a function that builds
its request (auditor.probe.app.udp.Request) from the target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from auditor.model.inventory import Check, Flow, Provider
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import CertInfo, Status
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.udp import Request, Sent, answer, send

if TYPE_CHECKING:
    import ssl

    from auditor.inventory.secrets import Secret

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Observation:
    """What one check saw."""

    status: Status
    reason: str = ""
    latency_ms: float | None = None
    cert: CertInfo | None = None
    attempts: int = 1
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Target:
    """One flow to check, its provider and its resolved destination address."""

    flow: Flow
    provider: Provider | None
    address: str
    timeout: float
    source: str = ""  # the flow's source address as text (the engine makes it once per flow)

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", str(self.flow.source))

    @property
    def port(self) -> int:
        return self.flow.port

    @property
    def tls_name(self) -> str:
        """The name the provider's certificate must carry."""
        if self.provider is not None and self.provider.tls_name:
            return self.provider.tls_name
        return self.flow.endpoint or str(self.flow.destination)


class Services(Protocol):
    """What the engine lends a check: cached TLS contexts, secrets, a thread for blocking
    libraries, and the run's options."""

    @property
    def retries(self) -> int: ...

    def ssl_context(self, ca_file: Path | None) -> ssl.SSLContext | None: ...

    def secret(self, provider: str) -> Secret | None: ...

    def in_thread(self, fn: Callable[..., T], *args: object) -> Awaitable[T]: ...


class CheckSpec(Protocol):
    """One check of the registry."""

    @property
    def name(self) -> Check: ...

    @property
    def transport(self) -> Transport: ...

    @property
    def requires(self) -> Check | None:
        """The check that must have passed on the same flow first (None: it goes first)."""

    @property
    def statuses(self) -> frozenset[Status]:
        """Every status `run` can return (the README's table is checked against these)."""

    async def run(self, target: Target, services: Services) -> Observation: ...


# What any UDP exchange can end in before an answer is read (auditor.probe.app.udp).
NETWORK_STATUSES = frozenset(
    {Status.NO_ANSWER, Status.REFUSED, Status.UNREACHABLE, Status.NOT_LOCAL, Status.ERROR}
)

# The request, or the observation that says why none can be built (`untested`, with why).
Build = Callable[[Target, Services], Request | Observation]


@dataclass(frozen=True, slots=True)
class UdpAppCheck:
    """A UDP application check of the registry (see base.CheckSpec)."""

    name: Check
    answers: frozenset[Status]  # what its answers (or a missing setting) add to the network's
    build: Build
    transport: Transport = Transport.UDP
    requires: Check | None = None

    @property
    def statuses(self) -> frozenset[Status]:
        return NETWORK_STATUSES | self.answers

    def start(self, target: Target, services: Services) -> Pending | Observation:
        """Build the request and send it, now: the engine sends the first UDP check of every
        flow this way before any task starts. An Observation when it could not be sent."""
        request = self.build(target, services)
        if isinstance(request, Observation):
            return request
        sent = send(target.source, target.address, target.port, request.payload, target.timeout)
        if isinstance(sent, AppOutcome):
            return Observation(sent.status, sent.reason, sent.latency_ms, detail=sent.detail)
        return Pending(request, sent)

    async def finish(self, pending: Pending) -> Observation:
        """Wait for the answer to a started request (its socket is closed after)."""
        seen = await answer(pending.request, pending.sent)
        return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)

    async def run(self, target: Target, services: Services) -> Observation:
        started = self.start(target, services)
        if isinstance(started, Observation):
            return started
        try:
            # Let every other check of the run send before this one waits: the run lasts from
            # its last send plus one timeout.
            await asyncio.sleep(0)
        except BaseException:
            started.close()
            raise
        return await self.finish(started)


@dataclass(frozen=True, slots=True)
class Pending:
    """A UDP check whose request has left: what to wait for, and on which socket."""

    request: Request
    sent: Sent

    def close(self) -> None:
        self.sent.sock.close()
