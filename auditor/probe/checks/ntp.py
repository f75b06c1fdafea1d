"""`ntp`: a mode-3 client request from the bound source; an answer gives stratum and offset,
a server without time (stratum 0 kiss-o'-death, stratum 16, leap 3) is `ntp-unsynchronized`."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class NtpCheck:
    name: Check = Check.NTP
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset(
        {
            Status.NTP_ANSWERED,
            Status.NTP_UNSYNCHRONIZED,
            Status.NO_ANSWER,
            Status.REFUSED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.ERROR,
        }
    )

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        from auditor.probe.app.ntp import probe_ntp  # noqa: PLC0415 - lazily

        seen = await probe_ntp(target.source, target.address, target.port, target.timeout)
        return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = NtpCheck()
