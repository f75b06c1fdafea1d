"""`dns-tcp`: the query of `dns` over TCP 53 (length-prefixed), after the connect."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target
from auditor.probe.checks.dns import UDP_STATUSES, query_tcp


@dataclass(frozen=True, slots=True)
class DnsTcpCheck:
    name: Check = Check.DNS_TCP
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = (UDP_STATUSES - {Status.NO_ANSWER}) | {Status.FILTERED}

    async def run(self, target: Target, services: Services) -> Observation:
        return await query_tcp(target)


CHECK = DnsTcpCheck()
