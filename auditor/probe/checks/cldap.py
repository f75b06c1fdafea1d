"""`cldap`: the LDAP ping over UDP 389 that Active Directory domain controllers answer.
OpenLDAP serves no CLDAP: name this check only for domain controllers."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class CldapCheck:
    name: Check = Check.CLDAP
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset(
        {
            Status.CLDAP_ANSWERED,
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
        from auditor.probe.app.cldap import probe_cldap  # noqa: PLC0415 - lazily

        seen = await probe_cldap(target.source, target.address, target.port, target.timeout)
        return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = CldapCheck()
