"""The pair as a graph, and the required flows read off it.

Nodes: appliances, their addresses, providers (with their ports and checks) and the provider
endpoints. Edges: an appliance "configures" an address, live in the failover states listed on
the edge (a unique IP in both; a shared IP on the side that is active); an appliance "uses" every
provider; a provider "serves" its endpoints; the appliances are each other's "peer". A flow is
needed in a state when an appliance holds its source address live in that state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netaddr import IPAddress

from auditor.model.checks import ORDER as CHECK_ORDER
from auditor.model.inventory import (
    BOTH_STATES,
    PEER_KIND,
    PEER_PROVIDER,
    Appliance,
    Check,
    Destination,
    FailoverState,
    Flow,
    Inventory,
    PortSpec,
    Protocol,
    Role,
    Side,
    flow_sort_key,
)

if TYPE_CHECKING:
    import networkx as nx

# Reachability of the peer's TLS port is what the firewall must allow; the peer's certificate is
# the appliance's own and not the auditor's business.
PEER_CHECKS: tuple[Check, ...] = (Check.TCP,)

# The side whose appliance holds the shared IPs in each state.
ACTIVE_SIDE: Mapping[FailoverState, Side] = {
    FailoverState.PRIMARY_ACTIVE: Side.PRIMARY,
    FailoverState.BACKUP_ACTIVE: Side.BACKUP,
}


def appliance_node(name: str) -> str:
    return f"appliance:{name}"


def address_node(ip: IPAddress) -> str:
    return f"address:{ip}"


def provider_node(name: str) -> str:
    return f"provider:{name}"


def endpoint_node(destination: Destination) -> str:
    return f"endpoint:{destination}"


def live_in(app: Appliance, role: Role) -> frozenset[FailoverState]:
    """The states in which `app` has an address of `role` live: a unique IP always, a shared IP
    while its side is the active one (configured but disabled on the other side)."""
    if role is Role.UNIQUE:
        return BOTH_STATES
    return frozenset(s for s, side in ACTIVE_SIDE.items() if side is app.side)


def build_topology(
    inv: Inventory,
    ports: Mapping[str, Sequence[PortSpec]],
    destinations: Mapping[str, Sequence[Destination]],
) -> nx.MultiDiGraph:
    """The pair's graph. `ports` maps a provider name to its ports (with their checks);
    `destinations` maps each endpoint as written to the addresses (or kept names) it stands for.
    """
    import networkx as nx  # noqa: PLC0415  (start-up: only commands that build flows need it)

    g: nx.MultiDiGraph = nx.MultiDiGraph(site=inv.site.name)
    for app in inv.pair.appliances:
        g.add_node(appliance_node(app.name), type="appliance", name=app.name, side=app.side)
    for app in inv.pair.appliances:
        for addr in app.addresses:
            _configure(g, app, addr.ip, addr.role)
            g.nodes[address_node(addr.ip)].setdefault("subnets", set()).add(addr.interface.cidr)
    port = inv.pair.failover.peer_port
    for app, other in (
        (inv.pair.primary, inv.pair.backup),
        (inv.pair.backup, inv.pair.primary),
    ):
        g.add_edge(appliance_node(app.name), appliance_node(other.name), "peer", port=port)
    for provider in inv.providers:
        node = provider_node(provider.name)
        g.add_node(
            node,
            type="provider",
            name=provider.name,
            kind=provider.kind,
            ports=tuple(ports[provider.name]),
        )
        for app in inv.pair.appliances:
            g.add_edge(appliance_node(app.name), node, "uses")
        for endpoint in provider.endpoints:
            for dest in destinations[endpoint]:
                if endpoint_node(dest) not in g:
                    g.add_node(endpoint_node(dest), type="endpoint", destination=dest)
                # Keyed by the endpoint as written: a name and a literal may meet on one address.
                g.add_edge(node, endpoint_node(dest), f"serves {endpoint}", endpoint=endpoint)
    return g


def _configure(g: nx.MultiDiGraph, app: Appliance, ip: IPAddress, role: Role) -> None:
    node = address_node(ip)
    if node not in g:
        g.add_node(node, type="address", ip=ip, role=role)
    elif role is Role.SHARED:
        g.nodes[node]["role"] = Role.SHARED  # an IP shared anywhere is the shared IP
    states = live_in(app, role)
    edge = g.get_edge_data(appliance_node(app.name), node, "configures")
    if edge is not None:  # configured twice on one appliance (a lint error): merge
        states |= edge["live_in"]
        role = Role.SHARED if Role.SHARED in (role, edge["role"]) else role
    g.add_edge(appliance_node(app.name), node, "configures", role=role, live_in=states)


def _out(g: nx.MultiDiGraph, node: str, relation: str) -> Iterator[tuple[str, dict[str, object]]]:
    """Targets of `node` by edges whose key is `relation` (or starts with it), in insertion
    order (networkx keeps it; the endpoint written first must win, as in the inventory)."""
    for _, target, key, data in g.out_edges(node, keys=True, data=True):
        if key == relation or key.startswith(relation + " "):
            yield target, data


def appliances(g: nx.MultiDiGraph) -> tuple[str, ...]:
    """Appliance names, primary first."""
    return tuple(d["name"] for _, d in g.nodes(data=True) if d["type"] == "appliance")


def held(g: nx.MultiDiGraph, appliance: str, state: FailoverState) -> tuple[tuple[str, Role], ...]:
    """The address nodes `appliance` holds live in `state`, with the role it configures them in."""
    return tuple(
        (target, data["role"])  # type: ignore[misc]
        for target, data in _out(g, appliance_node(appliance), "configures")
        if state in data["live_in"]  # type: ignore[operator]
    )


def holders(g: nx.MultiDiGraph, ip: IPAddress, state: FailoverState) -> tuple[str, ...]:
    """Which appliances hold `ip` live in `state` (none, one, or two for a conflict)."""
    return tuple(
        a for a in appliances(g) if any(n == address_node(ip) for n, _ in held(g, a, state))
    )


def flows_from(
    g: nx.MultiDiGraph, states: Iterable[FailoverState] = BOTH_STATES
) -> tuple[Flow, ...]:
    """The flows needed in any of `states`, sorted by `model.flow_sort_key`. Each flow's
    `appliances` and `states` say who needs it, and when, within `states`."""
    merger = _Merger(_subnets(g))
    wanted = set(states)
    for state in (s for s in FailoverState if s in wanted):
        for app in appliances(g):
            mine = held(g, app, state)
            for provider, _ in _out(g, appliance_node(app), "uses"):
                _provider_flows(g, merger, provider=provider, app=app, mine=mine, state=state)
            for other, data in _out(g, appliance_node(app), "peer"):
                theirs = held(g, g.nodes[other]["name"], state)
                port = int(data["port"])  # type: ignore[call-overload]
                _peer_flows(g, merger, app=app, mine=mine, theirs=theirs, port=port, state=state)
    return merger.flows()


def _provider_flows(
    g: nx.MultiDiGraph,
    merger: _Merger,
    *,
    provider: str,
    app: str,
    mine: Sequence[tuple[str, Role]],
    state: FailoverState,
) -> None:
    p = g.nodes[provider]
    for endpoint, serves in _out(g, provider, "serves"):
        dest = g.nodes[endpoint]["destination"]
        for address, _role in mine:
            ip, role = g.nodes[address]["ip"], g.nodes[address]["role"]
            if isinstance(dest, IPAddress) and dest.version != ip.version:
                continue
            for spec in p["ports"]:
                merger.add(
                    source=ip,
                    destination=dest,
                    protocol=spec.protocol,
                    port=spec.port,
                    provider=p["name"],
                    kind=p["kind"],
                    checks=spec.checks,
                    appliances=(app,),
                    role=role,
                    endpoint=str(serves["endpoint"]),
                    states=(state,),
                )


def _peer_flows(
    g: nx.MultiDiGraph,
    merger: _Merger,
    *,
    app: str,
    mine: Sequence[tuple[str, Role]],
    theirs: Sequence[tuple[str, Role]],
    port: int,
    state: FailoverState,
) -> None:
    """Each unique IP of `app` to each of the peer's, same IP version, on the peer TLS port."""
    for src_node, src_role in mine:
        for dst_node, dst_role in theirs:
            src, dst = g.nodes[src_node]["ip"], g.nodes[dst_node]["ip"]
            if Role.SHARED in (src_role, dst_role) or src.version != dst.version or src == dst:
                continue
            merger.add(
                source=src,
                destination=dst,
                protocol=Protocol.TCP,
                port=port,
                provider=PEER_PROVIDER,
                kind=PEER_KIND,
                checks=PEER_CHECKS,
                appliances=(app,),
                role=Role.UNIQUE,
                endpoint=str(dst),
                states=(state,),
            )


@dataclass(slots=True)
class _Pending:
    providers: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, endpoint)
    checks: set[Check] = field(default_factory=set)
    appliances: set[str] = field(default_factory=set)
    states: set[FailoverState] = field(default_factory=set)
    roles: set[Role] = field(default_factory=set)


_Range = tuple[int, int, int, str]  # (version, first, last, the subnet as text)


def _subnets(g: nx.MultiDiGraph) -> dict[IPAddress, tuple[_Range, ...]]:
    """Each address of the pair and the connected subnets it is configured in."""
    return {
        data["ip"]: tuple(
            (net.version, net.first, net.last, str(net)) for net in sorted(data.get("subnets", ()))
        )
        for _, data in g.nodes(data=True)
        if data.get("type") == "address"
    }


def _link(ranges: tuple[_Range, ...], destination: Destination) -> str:
    """The connected subnet of the source that holds `destination` ("": none, or a name)."""
    if not ranges or not isinstance(destination, IPAddress):
        return ""
    version, value = destination.version, destination.value
    return next(
        (text for v, first, last, text in ranges if v == version and first <= value <= last), ""
    )


class _Merger:
    """Collects flows by key and merges who needs them."""

    def __init__(self, subnets: Mapping[IPAddress, tuple[_Range, ...]]) -> None:
        self._by_key: dict[tuple[IPAddress, Destination, Protocol, int], _Pending] = {}
        self._subnets = subnets

    def add(
        self,
        *,
        source: IPAddress,
        destination: Destination,
        protocol: Protocol,
        port: int,
        provider: str,
        kind: str,
        checks: Iterable[Check],
        appliances: Iterable[str],
        role: Role,
        endpoint: str,
        states: Iterable[FailoverState],
    ) -> None:
        pending = self._by_key.setdefault((source, destination, protocol, port), _Pending())
        pending.providers.setdefault(provider, (kind, endpoint))
        pending.checks.update(checks)
        pending.appliances.update(appliances)
        pending.states.update(states)
        pending.roles.add(role)

    def flows(self) -> tuple[Flow, ...]:
        out = []
        for (source, destination, protocol, port), p in self._by_key.items():
            providers = tuple(sorted(p.providers))
            # kind and endpoint follow the first provider, so flow.provider/kind/endpoint agree.
            kind, endpoint = p.providers[providers[0]]
            out.append(
                Flow(
                    source=source,
                    destination=destination,
                    protocol=protocol,
                    port=port,
                    providers=providers,
                    kind=kind,
                    checks=tuple(sorted(p.checks, key=CHECK_ORDER.__getitem__)),
                    appliances=frozenset(p.appliances),
                    states=frozenset(p.states),
                    source_role=Role.SHARED if Role.SHARED in p.roles else Role.UNIQUE,
                    endpoint=endpoint,
                    link=_link(self._subnets.get(source, ()), destination),
                )
            )
        return tuple(sorted(out, key=flow_sort_key))
