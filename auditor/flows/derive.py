"""The required flows of a pair, derived from its topology graph, and the exported flow graph.

Every configured address of either appliance is a source, enabled or not: traffic to providers
can leave from any of them, and the shared IP lives on the primary in one failover state and on
the backup in the other (`flows.topology` holds which address is live where). A flow is unique
per (source, destination, protocol, port); who needs it (providers, appliances, failover states)
is merged into its attributes.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netaddr import AddrFormatError, IPAddress, valid_ipv4, valid_ipv6

from auditor.errors import Problem, ResolveError
from auditor.flows.limits import DEFAULT_MAX_FLOWS, check_flow_budget
from auditor.flows.topology import (
    address_node,
    appliance_node,
    build_topology,
    endpoint_node,
    provider_node,
)
from auditor.inventory.packs import check_kinds, ports_for
from auditor.model.checks import required_checks
from auditor.model.inventory import (
    Destination,
    FailoverState,
    Flow,
    Inventory,
    KindSpec,
    Role,
)

if TYPE_CHECKING:
    import networkx as nx

Resolver = Callable[[str], Sequence[IPAddress]]


def system_resolver(name: str) -> Sequence[IPAddress]:
    """Every A and AAAA address of `name`, from the system resolver."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ResolveError(f"{name}: does not resolve ({exc.strerror})") from None
    except UnicodeError:
        raise ResolveError(f"{name}: not a valid host name") from None
    out: dict[IPAddress, None] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            out[IPAddress(str(sockaddr[0]).split("%", 1)[0])] = None
    if not out:
        raise ResolveError(f"{name}: has no A or AAAA record")
    return tuple(sorted(out))


@dataclass(frozen=True, slots=True)
class Source:
    """One distinct source address and who holds it."""

    ip: IPAddress
    role: Role
    appliances: frozenset[str]


def sources(inv: Inventory) -> tuple[Source, ...]:
    """Each configured address once. A shared IP counts once and belongs to every appliance that
    carries it; a unique IP to its own appliance."""
    roles: dict[IPAddress, Role] = {}
    owners: dict[IPAddress, set[str]] = {}
    for app in inv.pair.appliances:
        for addr in app.addresses:
            owners.setdefault(addr.ip, set()).add(app.name)
            if addr.role is Role.SHARED or addr.ip not in roles:
                roles[addr.ip] = addr.role
    return tuple(
        Source(ip, roles[ip], frozenset(owners[ip])) for ip in sorted(owners, key=_ip_order)
    )


def pair_topology(
    inv: Inventory,
    kinds: Mapping[str, KindSpec],
    *,
    resolve: Resolver | None = system_resolver,
    max_flows: int = DEFAULT_MAX_FLOWS,
) -> nx.MultiDiGraph:
    """The pair's graph (`flows.topology`) the flows are derived from (`topology.flows_from`:
    every required flow, in both failover states, sorted by `model.flow_sort_key`).

    `resolve=None` keeps hostname endpoints as names (every source then gets a flow to them).
    Raises InputError for a kind in no pack or more than `max_flows` flows (counted before any
    is built), ResolveError listing every name that did not resolve.
    """
    check_kinds(inv, kinds)
    check_flow_budget(inv, kinds, max_flows)  # before resolving: a bomb costs no DNS either
    destinations = _destinations(inv, resolve)
    check_flow_budget(inv, kinds, max_flows, destinations)
    ports = {
        provider.name: tuple(
            replace(spec, checks=required_checks(provider, spec))
            for spec in ports_for(provider, kinds)
        )
        for provider in inv.providers
    }
    return build_topology(inv, ports, destinations)


def _ip_order(ip: IPAddress) -> tuple[int, int]:
    return (int(ip.version), int(ip))


def _literal(endpoint: str) -> IPAddress | None:
    if valid_ipv4(endpoint) or valid_ipv6(endpoint):
        try:
            return IPAddress(endpoint)
        except (AddrFormatError, ValueError):
            return None
    return None


def _destinations(inv: Inventory, resolve: Resolver | None) -> dict[str, tuple[Destination, ...]]:
    """Each endpoint as written -> where flows to it go. Each name is resolved once."""
    out: dict[str, tuple[Destination, ...]] = {}
    problems: list[Problem] = []
    for i, provider in enumerate(inv.providers):
        for j, endpoint in enumerate(provider.endpoints):
            if endpoint in out:
                continue
            literal = _literal(endpoint)
            if literal is not None:
                out[endpoint] = (literal,)
            elif resolve is None:
                out[endpoint] = (endpoint,)
            else:
                field_path = f"providers[{i}].endpoints[{j}]"
                found: tuple[IPAddress, ...]
                try:
                    found = tuple(dict.fromkeys(resolve(endpoint)))
                except ResolveError as exc:
                    reason = str(exc).removeprefix(f"{endpoint}: ")
                    found = ()
                else:
                    reason = "has no A or AAAA record"
                if not found:
                    problems.append(
                        Problem(
                            str(inv.source),
                            inv.line_of(field_path),
                            field_path,
                            f"provider {provider.name}: {endpoint} {reason} (expected a name "
                            "with A/AAAA records; or use --no-resolve to keep names)",
                        )
                    )
                out[endpoint] = tuple(sorted(found, key=_ip_order))
    if problems:
        raise ResolveError("\n".join(str(p) for p in problems))
    return out


# --- the graph -------------------------------------------------------------------------------


def _ordered_states(states: Iterable[FailoverState]) -> tuple[str, ...]:
    return tuple(s.value for s in FailoverState if s in set(states))


def build_graph(inv: Inventory, flows: Sequence[Flow]) -> nx.MultiDiGraph:
    """Nodes: appliances, addresses, providers, endpoints. Edges: appliance -> address
    ("configures"), provider -> endpoint ("serves"), and one "flow" edge per flow from its
    source address to its destination (an endpoint node, or the peer's address node).

    Node ids are "<type>:<name>" ("address:198.51.100.11"); attribute values are str, int,
    bool, or tuples of str.
    """
    import networkx as nx  # noqa: PLC0415  (start-up: only graph exports need it)

    g: nx.MultiDiGraph = nx.MultiDiGraph(name=inv.site.name)
    for app in inv.pair.appliances:
        g.add_node(
            appliance_node(app.name),
            type="appliance",
            name=app.name,
            side=app.side.value,
            hostname=app.hostname or "",
        )
    for src in sources(inv):
        _add_address(g, inv, src)
    for provider in inv.providers:
        g.add_node(
            provider_node(provider.name),
            type="provider",
            name=provider.name,
            kind=provider.kind,
            endpoints=provider.endpoints,
        )
    pair_ips = {a.ip for app in inv.pair.appliances for a in app.addresses}
    for flow in flows:
        _add_flow(g, flow, pair_ips)
    return g


def _add_address(g: nx.MultiDiGraph, inv: Inventory, src: Source) -> None:
    """An address node and a "configures" edge from every appliance that configures it."""
    configs = [(app, a) for app in inv.pair.appliances for a in app.addresses if a.ip == src.ip]
    g.add_node(
        address_node(src.ip),
        type="address",
        ip=str(src.ip),
        version=int(src.ip.version),
        role=src.role.value,
        prefixlen=int(configs[0][1].interface.prefixlen),
        enabled=any(a.enabled for _, a in configs),
        enabled_on=tuple(sorted({app.name for app, a in configs if a.enabled})),
        appliances=tuple(sorted(src.appliances)),
    )
    for app, addr in configs:
        g.add_edge(
            appliance_node(app.name),
            address_node(src.ip),
            key="configures",
            type="configures",
            role=addr.role.value,
            enabled=addr.enabled,
            prefixlen=int(addr.interface.prefixlen),
        )


def _add_flow(g: nx.MultiDiGraph, flow: Flow, pair_ips: set[IPAddress]) -> None:
    """One "flow" edge to the destination: the peer's address node, or an endpoint node (made
    on first sight, with a "serves" edge from each provider)."""
    if isinstance(flow.destination, IPAddress) and flow.destination in pair_ips:
        target = address_node(flow.destination)
    else:
        target = _endpoint(g, flow)
    g.add_edge(
        address_node(flow.source),
        target,
        key=f"{flow.protocol.value}/{flow.port}",
        type="flow",
        protocol=flow.protocol.value,
        port=flow.port,
        checks=tuple(c.value for c in flow.checks),
        providers=flow.providers,
        kind=flow.kind,
        states=_ordered_states(flow.states),
        appliances=tuple(sorted(flow.appliances)),
        source_role=flow.source_role.value,
        endpoint=flow.endpoint,
    )


def _endpoint(g: nx.MultiDiGraph, flow: Flow) -> str:
    target = endpoint_node(flow.destination)
    if target not in g:
        dest = flow.destination
        g.add_node(
            target,
            type="endpoint",
            address=str(dest),
            version=int(dest.version) if isinstance(dest, IPAddress) else 0,
            resolved=isinstance(dest, IPAddress),
            names=(),
        )
    if flow.endpoint != str(flow.destination):
        names = set(g.nodes[target]["names"]) | {flow.endpoint}
        g.nodes[target]["names"] = tuple(sorted(names))
    for name in flow.providers:
        if provider_node(name) in g and not g.has_edge(provider_node(name), target, key="serves"):
            g.add_edge(provider_node(name), target, key="serves", type="serves")
    return target
