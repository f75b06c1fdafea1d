"""`kerberos-tcp`: the AS-REQ of `kerberos` over TCP 88 (length-prefixed), after the connect."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target
from auditor.probe.checks.kerberos import UDP_STATUSES, as_req_tcp


@dataclass(frozen=True, slots=True)
class KerberosTcpCheck:
    name: Check = Check.KERBEROS_TCP
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = (UDP_STATUSES - {Status.NO_ANSWER}) | {Status.FILTERED}

    async def run(self, target: Target, services: Services) -> Observation:
        return await as_req_tcp(target)


CHECK = KerberosTcpCheck()
