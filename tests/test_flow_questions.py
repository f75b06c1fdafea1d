"""The questions the pair's graph answers: which flows a failover state needs and who needs
them, what changes when the pair fails over, and which providers an address needs."""

from __future__ import annotations

import json

import networkx as nx
from factories import EXAMPLE, example_inventory, inventory, pair, shared, unique
from golden_support import assert_golden
from netaddr import IPAddress
from support.cli import Result, auditor
from support.model import build_flows

from auditor.flows.answers import impact_to_csv, impact_to_json, needs_to_json
from auditor.flows.derive import pair_topology
from auditor.flows.questions import (
    Change,
    current_state,
    source_needs,
    state_flows,
    what_if_failover,
)
from auditor.flows.topology import address_node, holders
from auditor.inventory.packs import load_packs
from auditor.model.inventory import BOTH_STATES, FailoverState, Inventory

KINDS = load_packs()
SHARED, U1, U2 = "198.51.100.10", "198.51.100.11", "198.51.100.12"
PA, BA = FailoverState.PRIMARY_ACTIVE, FailoverState.BACKUP_ACTIVE


def topology(inv: Inventory | None = None) -> nx.MultiDiGraph:
    return pair_topology(inv or example_inventory(), KINDS, resolve=None)


def cli(*args: str) -> Result:
    return auditor("flows", EXAMPLE, *args)


# --- the graph ------------------------------------------------------------------------------


def test_the_shared_ip_is_live_on_the_active_side_and_unique_ips_always() -> None:
    g = topology()
    assert holders(g, IPAddress(SHARED), PA) == ("site1",)
    assert holders(g, IPAddress(SHARED), BA) == ("site2",)
    for state in (PA, BA):
        assert holders(g, IPAddress(U1), state) == ("site1",)
        assert holders(g, IPAddress(U2), state) == ("site2",)
    edge = g.edges["appliance:site2", address_node(IPAddress(SHARED)), "configures"]
    assert edge["live_in"] == {BA}


def test_the_graph_holds_providers_with_their_ports_endpoints_and_the_peer_link() -> None:
    g = topology()
    ad = g.nodes["provider:corp-ad"]
    assert [(p.port, p.protocol.value) for p in ad["ports"]] == [(636, "tcp")]
    assert list(g.successors("provider:corp-ad")) == [
        "endpoint:203.0.113.10",
        "endpoint:203.0.113.11",
    ]
    assert g.edges["appliance:site1", "appliance:site2", "peer"]["port"] == 443
    assert g.has_edge("appliance:site2", "provider:time", "uses")


def test_the_flows_derived_from_the_graph_are_both_states_merged() -> None:
    flows = build_flows(example_inventory(), KINDS, resolve=None)
    assert len(flows) == 14
    assert all(f.states == BOTH_STATES for f in flows)


# --- one state ------------------------------------------------------------------------------


def test_each_state_needs_all_14_flows_but_the_shared_ip_only_from_the_active_side() -> None:
    g = topology()
    for state, holder in ((PA, "site1"), (BA, "site2")):
        flows = state_flows(g, state)
        assert len(flows) == 14
        assert all(f.states == {state} for f in flows)
        assert {a for f in flows if str(f.source) == SHARED for a in f.appliances} == {holder}
        assert {a for f in flows if str(f.source) == U2 for a in f.appliances} == {"site2"}


# --- what if the pair fails over ------------------------------------------------------------


def test_failing_over_the_example_pair_breaks_nothing_the_shared_ip_moves_to_site2() -> None:
    impact = what_if_failover(topology(), PA)
    assert (impact.before, impact.after) == (PA, BA)
    assert impact.of(Change.STARTS) == impact.of(Change.STOPS) == ()
    moves = impact.of(Change.MOVES)
    assert [(str(c.flow.source), str(c.flow.destination), c.flow.port) for c in moves] == [
        (SHARED, "203.0.113.10", 636),
        (SHARED, "203.0.113.11", 636),
        (SHARED, "203.0.113.20", 1812),
        (SHARED, "203.0.113.30", 123),
    ]
    assert all(c.before == {"site1"} and c.after == {"site2"} for c in moves)
    assert impact.unchanged == 10


def site_ip_forgotten_and_a_backup_only_address() -> Inventory:
    """The primary's shared IP is missing on the backup; the backup carries a shared IP the
    primary lacks (two lint errors the what-if makes concrete)."""
    return inventory(
        pair(
            [unique("198.51.100.11/24"), shared("198.51.100.10/24")],
            [unique("198.51.100.12/24"), shared("198.51.100.20/24", enabled=False)],
        )
    )


def test_a_failover_starts_the_flows_only_the_backup_state_needs() -> None:
    """The flows that break when site1 fails over and only the primary-active rules exist."""
    g = topology(site_ip_forgotten_and_a_backup_only_address())
    impact = what_if_failover(g, PA)
    starts = impact.of(Change.STARTS)
    assert {str(c.flow.source) for c in starts} == {"198.51.100.20"}
    assert len(starts) == 4
    assert all(c.before == frozenset() and c.after == {"site2"} for c in starts)
    stops = impact.of(Change.STOPS)
    assert {str(c.flow.source) for c in stops} == {SHARED}
    assert len(stops) == 4
    assert impact.of(Change.MOVES) == ()


def test_an_address_held_in_one_state_only_is_needed_in_that_state_only() -> None:
    flows = build_flows(site_ip_forgotten_and_a_backup_only_address(), KINDS, resolve=None)
    states = {str(f.source): f.states for f in flows}
    assert states[SHARED] == {PA}
    assert states["198.51.100.20"] == {BA}
    assert states[U1] == BOTH_STATES


def test_the_inventory_says_which_state_the_pair_is_in() -> None:
    assert current_state(example_inventory()) is PA
    swapped = inventory(
        pair(
            [unique("198.51.100.11/24"), shared("198.51.100.10/24", enabled=False)],
            [unique("198.51.100.12/24"), shared("198.51.100.10/24")],
        )
    )
    assert current_state(swapped) is BA
    assert what_if_failover(topology(swapped), current_state(swapped)).after is PA


# --- which providers does this address need -------------------------------------------------


def test_the_backups_unique_ip_needs_every_provider_and_the_peer_in_both_states() -> None:
    needs = source_needs(topology(), IPAddress(U2))
    assert needs is not None
    assert needs.providers == ("corp-ad", "corp-radius", "failover-peer", "time")
    assert needs.held_by == {PA: ("site2",), BA: ("site2",)}
    assert len(needs.flows) == 5


def test_the_shared_ip_in_backup_active_is_site2s_and_needs_the_providers_not_the_peer() -> None:
    needs = source_needs(topology(), IPAddress(SHARED), (BA,))
    assert needs is not None
    assert needs.providers == ("corp-ad", "corp-radius", "time")
    assert needs.held_by == {BA: ("site2",)}
    assert {a for f in needs.flows for a in f.appliances} == {"site2"}


def test_an_address_outside_the_pair_needs_nothing_it_is_not_ours() -> None:
    assert source_needs(topology(), IPAddress("192.0.2.1")) is None


# --- formats and the command ----------------------------------------------------------------


def test_what_if_failover_csv_and_json_match_their_golden_files() -> None:
    impact = what_if_failover(topology(site_ip_forgotten_and_a_backup_only_address()), PA)
    assert_golden("flows-what-if.csv", impact_to_csv(impact))
    assert_golden("flows-what-if.json", impact_to_json(impact))


def test_source_json_matches_its_golden_file() -> None:
    needs = source_needs(topology(), IPAddress(SHARED))
    assert needs is not None
    assert_golden("flows-source.json", needs_to_json(needs))


def test_flows_state_backup_active_lists_site2_as_the_shared_ips_holder() -> None:
    result = cli("--state", "backup-active", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"] == 14
    shared_flows = [f for f in doc["flows"] if f["source"] == SHARED]
    assert {tuple(f["appliances"]) for f in shared_flows} == {("site2",)}
    assert {tuple(f["states"]) for f in doc["flows"]} == {("backup-active",)}


def test_flows_what_if_failover_says_nothing_starts_or_stops_for_the_example() -> None:
    result = cli("--what-if-failover")
    assert result.returncode == 0, result.stderr
    assert "0 flow(s) start, 0 stop, 4 move to another appliance, 10 unchanged" in " ".join(
        result.stdout.split()
    )
    doc = json.loads(cli("--what-if-failover", "--format", "json").stdout)
    assert (doc["starts"], doc["stops"], doc["moves"]) == (0, 0, 4)


def test_flows_source_answers_which_providers_an_address_needs() -> None:
    result = cli("--source", U1, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["providers"] == ["corp-ad", "corp-radius", "failover-peer", "time"]
    assert {f["source"] for f in doc["flows"]} == {U1}
    text = cli("--source", SHARED).stdout
    assert "needs corp-ad, corp-radius, time: 4 flow(s)" in " ".join(text.split())


def test_flows_source_outside_the_pair_is_a_usage_error() -> None:
    result = cli("--source", "192.0.2.1")
    assert result.returncode == 2
    assert "not an address of the pair" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
