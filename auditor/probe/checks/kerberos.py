"""`kerberos`: an AS-REQ without pre-authentication over UDP 88; any KRB-ERROR or AS-REP
proves the KDC answered (`kerberos-tcp` does the same over TCP)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target

NO_PRINCIPAL = (
    "no Kerberos realm and principal in the inventory (kerberos: realm, principal): an AS-REQ "
    "needs them, so the flow stays untested"
)
UDP_STATUSES = frozenset(
    {
        Status.KDC_ANSWERED,
        Status.NO_ANSWER,
        Status.REFUSED,
        Status.UNREACHABLE,
        Status.NOT_LOCAL,
        Status.BAD_REPLY,
        Status.UNTESTED,
        Status.ERROR,
    }
)


async def as_req(target: Target, *, tcp: bool) -> Observation:
    from auditor.probe.app.kerberos import probe_kerberos  # noqa: PLC0415 - lazily

    spec = target.provider.kerberos if target.provider is not None else None
    if spec is None:
        return Observation(Status.UNTESTED, NO_PRINCIPAL)
    seen = await probe_kerberos(
        target.source,
        target.address,
        target.port,
        target.timeout,
        principal=spec.principal,
        realm=spec.realm,
        tcp=tcp,
    )
    return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


@dataclass(frozen=True, slots=True)
class KerberosCheck:
    name: Check = Check.KERBEROS
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = UDP_STATUSES

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        return await as_req(target, tcp=False)


CHECK = KerberosCheck()
