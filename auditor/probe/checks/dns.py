"""`dns`: a query from the bound source over UDP 53; any answer, whatever its rcode, proves
the path (`dns-tcp` does the same over TCP). Without `dns: query_name` the query is `. NS`,
which every resolver answers (possibly REFUSED: still an answer)."""

from __future__ import annotations

from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.probe.app.udp import Request
from auditor.probe.checks.base import Observation, Services, Target, UdpAppCheck


def question(target: Target) -> tuple[str, str]:
    spec = target.provider.dns if target.provider is not None else None
    return (spec.query_name, spec.query_type) if spec is not None else (".", "NS")


def build(target: Target, services: Services) -> Request:
    from auditor.probe.app.dns import dns_request  # noqa: PLC0415 - lazily

    return dns_request(*question(target))


async def query_tcp(target: Target) -> Observation:
    """The same query over TCP (`dns-tcp`)."""
    from auditor.probe.app.dns import probe_dns  # noqa: PLC0415 - lazily

    name, qtype = question(target)
    seen = await probe_dns(
        target.source,
        target.address,
        target.port,
        target.timeout,
        query_name=name,
        query_type=qtype,
        tcp=True,
    )
    return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = UdpAppCheck(Check.DNS, frozenset({Status.DNS_ANSWERED, Status.BAD_REPLY}), build)
UDP_STATUSES = CHECK.statuses
