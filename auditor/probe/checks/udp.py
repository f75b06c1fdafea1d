"""`udp`: the placeholder for a UDP port with no application probe. A datagram sent proves
nothing without an answer, so the flow stays `untested` (and unverified) with that reason."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target

REASON = "no UDP application probe for this port: a UDP send proves nothing without a reply"


@dataclass(frozen=True, slots=True)
class UdpCheck:
    name: Check = Check.UDP
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset({Status.UNTESTED})

    async def run(self, target: Target, services: Services) -> Observation:
        return Observation(Status.UNTESTED, REASON)


CHECK = UdpCheck()
