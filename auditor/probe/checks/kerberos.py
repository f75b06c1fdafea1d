"""`kerberos`: an AS-REQ without pre-authentication over UDP 88; any KRB-ERROR or AS-REP
proves the KDC answered (`kerberos-tcp` does the same over TCP)."""

from __future__ import annotations

from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.probe.app.udp import Request
from auditor.probe.checks.base import Observation, Services, Target, UdpAppCheck

NO_PRINCIPAL = (
    "no Kerberos realm and principal in the inventory (kerberos: realm, principal): an AS-REQ "
    "needs them, so the flow stays untested"
)


def build(target: Target, services: Services) -> Request | Observation:
    from auditor.probe.app.kerberos import kerberos_request  # noqa: PLC0415 - lazily

    spec = target.provider.kerberos if target.provider is not None else None
    if spec is None:
        return Observation(Status.UNTESTED, NO_PRINCIPAL)
    return kerberos_request(spec.principal, spec.realm)


async def as_req_tcp(target: Target) -> Observation:
    """The same AS-REQ over TCP (`kerberos-tcp`)."""
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
        tcp=True,
    )
    return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = UdpAppCheck(
    Check.KERBEROS, frozenset({Status.KDC_ANSWERED, Status.BAD_REPLY, Status.UNTESTED}), build
)
UDP_STATUSES = CHECK.statuses
