"""What to claim on, from the options or a fleet file: the interface, the child type, the
gateways; and which addresses of a pair a claim borrows. One check per value, so
`--claim eth0` and a fleet file's `claim: {interface: eth0}` refuse the same things."""

from __future__ import annotations

from collections.abc import Sequence

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.claim.detect import ClaimMode
from auditor.claim.namespace import ClaimRequest
from auditor.errors import UsageError
from auditor.model.inventory import Flow, Inventory
from auditor.textout import quoted
from auditor.values import address_problem, interface_problem

MODES = [m.value for m in ClaimMode]


def claim_request(
    iface: str | None, mode: str | None, gateways: Sequence[str]
) -> ClaimRequest | None:
    """The claim options as a request (None without --claim); UsageError on a bad value."""
    if iface is None:
        if mode or gateways:
            raise UsageError("--claim-mode and --claim-gateway need --claim IFACE")
        return None
    problem = interface_problem(iface)
    if problem is not None:
        raise UsageError(f"--claim {quoted(iface)}: {problem}")
    parsed = []
    for text in gateways:
        gateway, why = parse_gateway(text)
        if gateway is None:
            raise UsageError(f"--claim-gateway {quoted(text)}: {why}")
        parsed.append(gateway)
    twice = gateways_problem(parsed)
    if twice is not None:
        raise UsageError(f"--claim-gateway: {twice}")
    return ClaimRequest(
        parent=iface, mode=ClaimMode(mode) if mode else None, gateways=tuple(parsed)
    )


def parse_gateway(text: str) -> tuple[IPAddress | None, str]:
    """A next hop: a unicast address (never 0.0.0.0, loopback, multicast or broadcast); or
    None and why not."""
    try:
        gateway = IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        return None, address_problem(text) or "is not an IP address"
    if (
        gateway.is_loopback()
        or gateway.is_multicast()
        or int(gateway) == 0
        or str(gateway) == "255.255.255.255"
    ):
        return None, "not a unicast address a router can hold"
    return gateway, ""


def gateways_problem(gateways: Sequence[IPAddress]) -> str | None:
    """At most one gateway per address family."""
    for version in (4, 6):
        mine = [g for g in gateways if g.version == version]
        if len(mine) > 1:
            more = f" and {len(mine) - 3} more" if len(mine) > 3 else ""
            return f"one per address family ({', '.join(map(str, mine[:3]))}{more} given)"
    return None


def claim_addresses(inventory: Inventory, flows: Sequence[Flow]) -> list[IPNetwork]:
    """The source addresses of `flows`, with the prefix the inventory gives them."""
    sources = {f.source for f in flows}
    found: dict[IPAddress, IPNetwork] = {}
    for appliance in inventory.pair.appliances:
        for address in appliance.addresses:
            if address.ip in sources:
                found.setdefault(address.ip, address.interface)
    return list(found.values())
