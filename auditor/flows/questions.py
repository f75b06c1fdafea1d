"""What the topology graph answers: the flows of one failover state, what a failover changes,
and which providers an address needs. Pure: a graph in, plain data out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from netaddr import IPAddress

from auditor.flows.topology import address_node, flows_from, holders
from auditor.model.inventory import (
    BOTH_STATES,
    FailoverState,
    Flow,
    Inventory,
    Role,
    flow_sort_key,
)

if TYPE_CHECKING:
    import networkx as nx


def other_state(state: FailoverState) -> FailoverState:
    """The state a failover leads to."""
    return next(s for s in FailoverState if s is not state)


def current_state(inv: Inventory) -> FailoverState:
    """The state the inventory's `enabled` flags describe: backup-active when the backup has a
    shared IP enabled and the primary has none; primary-active otherwise."""
    if any(a.enabled for a in inv.pair.backup.shared()) and not any(
        a.enabled for a in inv.pair.primary.shared()
    ):
        return FailoverState.BACKUP_ACTIVE
    return FailoverState.PRIMARY_ACTIVE


def state_flows(g: nx.MultiDiGraph, state: FailoverState) -> tuple[Flow, ...]:
    """The flows needed while the pair is in `state`, each with the appliances that need it then."""
    return flows_from(g, (state,))


class Change(StrEnum):
    """How a failover changes a flow."""

    STARTS = "starts"  # needed after, not before: breaks if only the old state's rules exist
    STOPS = "stops"  # needed before, not after
    MOVES = "moves"  # needed in both, sent by another appliance (same addresses)


@dataclass(frozen=True, slots=True)
class FailoverChange:
    change: Change
    flow: Flow  # as needed after the failover (before it, for a flow that stops)
    before: frozenset[str]  # the appliances that need it before the failover
    after: frozenset[str]


@dataclass(frozen=True, slots=True)
class FailoverImpact:
    """What changes when the pair fails over from `before` to `after`."""

    before: FailoverState
    after: FailoverState
    changes: tuple[FailoverChange, ...]  # in flow order
    unchanged: int  # flows needed in both states, by the same appliances

    def of(self, change: Change) -> tuple[FailoverChange, ...]:
        return tuple(c for c in self.changes if c.change is change)

    def only_source(self, ip: IPAddress) -> FailoverImpact:
        kept = tuple(c for c in self.changes if c.flow.source == ip)
        return FailoverImpact(self.before, self.after, kept, self.unchanged)


def what_if_failover(g: nx.MultiDiGraph, start: FailoverState) -> FailoverImpact:
    """Compare the flows of `start` with those of the other state, flow by flow."""
    end = other_state(start)
    before = {f.key: f for f in state_flows(g, start)}
    after = {f.key: f for f in state_flows(g, end)}
    changes: list[FailoverChange] = []
    unchanged = 0
    keys = sorted(
        before.keys() | after.keys(), key=lambda k: flow_sort_key(after.get(k) or before[k])
    )
    for key in keys:
        old, new = before.get(key), after.get(key)
        if new is None and old is not None:
            changes.append(FailoverChange(Change.STOPS, old, old.appliances, frozenset()))
        elif old is None and new is not None:
            changes.append(FailoverChange(Change.STARTS, new, frozenset(), new.appliances))
        elif old is not None and new is not None and old.appliances != new.appliances:
            changes.append(FailoverChange(Change.MOVES, new, old.appliances, new.appliances))
        else:
            unchanged += 1
    return FailoverImpact(start, end, tuple(changes), unchanged)


@dataclass(frozen=True, slots=True)
class SourceNeeds:
    """Which providers one address of the pair needs, and who holds it in each state."""

    ip: IPAddress
    role: Role
    held_by: Mapping[FailoverState, tuple[str, ...]]
    providers: tuple[str, ...]  # sorted; the failover peer counts as one
    flows: tuple[Flow, ...]


def pair_addresses(g: nx.MultiDiGraph) -> tuple[IPAddress, ...]:
    """Every address of the pair, in flow order (IPv4 first)."""
    ips = [d["ip"] for _, d in g.nodes(data=True) if d["type"] == "address"]
    return tuple(sorted(ips, key=lambda ip: (int(ip.version), int(ip))))


def source_needs(
    g: nx.MultiDiGraph, ip: IPAddress, states: Iterable[FailoverState] = BOTH_STATES
) -> SourceNeeds | None:
    """What `ip` needs in `states`; None when it is not an address of the pair."""
    node = address_node(ip)
    if node not in g:
        return None
    wanted = tuple(s for s in FailoverState if s in set(states))
    flows = tuple(f for f in flows_from(g, wanted) if f.source == ip)
    providers = sorted({p for f in flows for p in f.providers})
    return SourceNeeds(
        ip=ip,
        role=g.nodes[node]["role"],
        held_by={s: holders(g, ip, s) for s in wanted},
        providers=tuple(providers),
        flows=flows,
    )
