"""`dns`: a query from the bound source over UDP 53; any answer, whatever its rcode, proves
the path (`dns-tcp` does the same over TCP). Without `dns: query_name` the query is `. NS`,
which every resolver answers (possibly REFUSED: still an answer)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target

UDP_STATUSES = frozenset(
    {
        Status.DNS_ANSWERED,
        Status.NO_ANSWER,
        Status.REFUSED,
        Status.UNREACHABLE,
        Status.NOT_LOCAL,
        Status.BAD_REPLY,
        Status.ERROR,
    }
)


async def query(target: Target, *, tcp: bool) -> Observation:
    from auditor.probe.app.dns import probe_dns  # noqa: PLC0415 - lazily

    spec = target.provider.dns if target.provider is not None else None
    name, qtype = (spec.query_name, spec.query_type) if spec is not None else (".", "NS")
    seen = await probe_dns(
        target.source,
        target.address,
        target.port,
        target.timeout,
        query_name=name,
        query_type=qtype,
        tcp=tcp,
    )
    return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


@dataclass(frozen=True, slots=True)
class DnsCheck:
    name: Check = Check.DNS
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = UDP_STATUSES

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        return await query(target, tcp=False)


CHECK = DnsCheck()
