"""`dns-tcp`: the query of `dns` over TCP 53 (length-prefixed), after the connect."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target
from auditor.probe.checks.dns import UDP_STATUSES, query_tcp


@dataclass(frozen=True, slots=True)
class DnsTcpCheck:
    name: Check = Check.DNS_TCP
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = (UDP_STATUSES - {Status.NO_ANSWER}) | {Status.FILTERED}

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        return await query_tcp(target)


CHECK = DnsTcpCheck()
