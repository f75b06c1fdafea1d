"""`radius`: Status-Server (or an Access-Request for the provider's probe user) from the bound
source; any verified answer proves the path and the shared secret. Silence is a firewall or a
client list that leaves this address out."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence.record import Status
from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks.base import Observation, Services, Target

NO_SECRET = (
    "no RADIUS shared secret in the inventory (radius: secret_env or secret_file): without it "  # noqa: S105
    "no request can be built, so the flow stays untested"
)


@dataclass(frozen=True, slots=True)
class RadiusCheck:
    name: Check = Check.RADIUS
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset(
        {
            Status.RADIUS_ANSWERED,
            Status.RADIUS_BAD_SECRET,
            Status.NO_ANSWER,
            Status.REFUSED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.BAD_REPLY,
            Status.UNTESTED,
            Status.ERROR,
        }
    )

    def implied(self, provider: Provider, spec: PortSpec) -> bool:
        return False

    async def run(self, target: Target, services: Services) -> Observation:
        from auditor.probe.app.radius import probe_radius  # noqa: PLC0415 - lazily

        provider = target.provider
        secret = services.secret(provider.name) if provider is not None else None
        if provider is None or provider.radius is None or secret is None:
            return Observation(Status.UNTESTED, NO_SECRET)
        seen = await probe_radius(
            target.source,
            target.address,
            target.port,
            target.timeout,
            secret=secret.reveal().encode(),
            user=provider.radius.user,
        )
        return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = RadiusCheck()
