"""`kerberos-tcp`: the AS-REQ of `kerberos` over TCP 88 (length-prefixed), after the connect."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target
from auditor.probe.checks.kerberos import UDP_STATUSES, as_req_tcp


@dataclass(frozen=True, slots=True)
class KerberosTcpCheck:
    name: Check = Check.KERBEROS_TCP
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = (UDP_STATUSES - {Status.NO_ANSWER}) | {Status.FILTERED}

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        return await as_req_tcp(target)


CHECK = KerberosTcpCheck()
