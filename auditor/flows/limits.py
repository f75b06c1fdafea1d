"""How many flows an inventory asks for, counted before a single flow is built.

A few KB of inventory can describe a million flows (a thousand /24 endpoints, a port list of
1-65535): the flow graph, the probes, the plan and every report grow with it. The inventory caps
what one entry can expand to (`auditor.inventory`: hosts per network, endpoints and ports per
provider); this caps the product, sources x destinations x ports, for the whole pair.
`--max-flows N` raises it for an inventory that really is that large.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from netaddr import IPAddress, valid_ipv4, valid_ipv6

from auditor.errors import InputError, Problem
from auditor.model.inventory import Inventory, KindSpec

DEFAULT_MAX_FLOWS = 20_000
MAX_FLOWS_CEILING = 10_000_000  # what --max-flows accepts at most


def _version(endpoint: str) -> int | None:
    if valid_ipv4(endpoint):
        return 4
    if valid_ipv6(endpoint):
        return 6
    return None


def provider_flows(
    inv: Inventory,
    kinds: Mapping[str, KindSpec],
    destinations: Mapping[str, Sequence[object]] | None = None,
) -> list[int]:
    """An upper bound of the flows of each provider (before flows shared by providers merge).

    `destinations` maps an endpoint to what it resolved to; without it, a hostname counts as
    one destination that every source reaches (as with --no-resolve)."""
    # a shared IP is configured on both appliances but is one source
    by_version = Counter(
        int(ip.version) for ip in {a.ip for app in inv.pair.appliances for a in app.addresses}
    )
    everyone = sum(by_version.values())
    out: list[int] = []
    for provider in inv.providers:
        spec = kinds.get(provider.kind)
        ports = (
            len(provider.ports)
            if provider.ports is not None
            else (len(spec.ports) if spec is not None else 1)
        )
        pairs = 0
        for endpoint in provider.endpoints:
            found = destinations.get(endpoint) if destinations is not None else None
            if found is None:
                version = _version(endpoint)
                pairs += everyone if version is None else by_version[version]
                continue
            for dest in found:
                pairs += by_version[int(dest.version)] if isinstance(dest, IPAddress) else everyone
        out.append(pairs * ports)
    return out


def check_flow_budget(
    inv: Inventory,
    kinds: Mapping[str, KindSpec],
    max_flows: int = DEFAULT_MAX_FLOWS,
    destinations: Mapping[str, Sequence[object]] | None = None,
) -> int:
    """The flow count bound; InputError, located at the largest provider, when it is over
    `max_flows`."""
    counts = provider_flows(inv, kinds, destinations)
    peers = len(inv.pair.primary.unique()) * len(inv.pair.backup.unique()) * 2
    total = sum(counts) + peers
    if total <= max_flows:
        return total
    i = max(range(len(counts)), key=counts.__getitem__) if counts else 0
    field = f"providers[{i}]" if counts else "providers"
    name = inv.providers[i].name if counts else ""
    raise InputError(
        [
            Problem(
                str(inv.source),
                inv.line_of(field),
                field,
                f"the inventory asks for up to {total} flows, over the limit of {max_flows} "
                f"(provider {name} alone: {counts[i] if counts else 0}; list fewer endpoints "
                "or ports, or raise the limit with --max-flows N)",
            )
        ]
    )
