"""`tcp`: a connect from the bound source address: open, refused, filtered, unreachable."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class TcpCheck:
    name: Check = Check.TCP
    transport: Transport = Transport.TCP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset(
        {
            Status.OPEN,
            Status.REFUSED,
            Status.FILTERED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.ERROR,
        }
    )

    async def run(self, target: Target, services: Services) -> Observation:
        from auditor.probe.tcp import probe_tcp  # noqa: PLC0415 - asyncio sockets, lazily

        attempts = 0
        while True:
            attempts += 1
            tcp = await probe_tcp(target.source, target.address, target.port, target.timeout)
            # Only silence is worth another try: a refusal or an ICMP error is an answer.
            if tcp.status is not Status.FILTERED or attempts > services.retries:
                break
        return Observation(tcp.status, tcp.reason, tcp.latency_ms, attempts=attempts)


CHECK = TcpCheck()
