"""`radius`: Status-Server (or an Access-Request for the provider's probe user) from the bound
source; any verified answer proves the path and the shared secret. Silence is a firewall or a
client list that leaves this address out."""

from __future__ import annotations

from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.probe.app.udp import Request
from auditor.probe.checks.base import Observation, Services, Target, UdpAppCheck

NO_SECRET = (
    "no RADIUS shared secret in the inventory (radius: secret_env or secret_file): without it "  # noqa: S105
    "no request can be built, so the flow stays untested"
)


def build(target: Target, services: Services) -> Request | Observation:
    from auditor.probe.app.radius import radius_request  # noqa: PLC0415 - lazily

    provider = target.provider
    secret = services.secret(provider.name) if provider is not None else None
    if provider is None or provider.radius is None or secret is None:
        return Observation(Status.UNTESTED, NO_SECRET)
    return radius_request(target.source, secret.reveal().encode(), provider.radius.user)


CHECK = UdpAppCheck(
    Check.RADIUS,
    frozenset(
        {Status.RADIUS_ANSWERED, Status.RADIUS_BAD_SECRET, Status.BAD_REPLY, Status.UNTESTED}
    ),
    build,
)
