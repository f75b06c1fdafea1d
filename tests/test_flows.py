"""The required flows: every address of both appliances, to every provider endpoint of its IP
version, in both failover states; plus the pair's own peer flows."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from factories import (
    EXAMPLE,
    example_inventory,
    inventory,
    pair,
    provider,
    shared,
    unique,
    with_failover,
    with_providers,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPAddress
from support.model import build_flows

from auditor.errors import InputError, ResolveError
from auditor.flows.derive import build_graph, sources, system_resolver
from auditor.inventory.lint import lint
from auditor.inventory.packs import load_packs
from auditor.model.inventory import (
    BOTH_STATES,
    PEER_KIND,
    PEER_PROVIDER,
    Check,
    Flow,
    Inventory,
    Protocol,
    Role,
    flow_sort_key,
)

KINDS = load_packs()
SHARED, U1, U2 = "198.51.100.10", "198.51.100.11", "198.51.100.12"


def flows_of(inv: Inventory, **kwargs: object) -> tuple[Flow, ...]:
    return build_flows(inv, KINDS, **kwargs)  # type: ignore[arg-type]


def keys(flows: Sequence[Flow]) -> list[tuple[str, str, str, int]]:
    return [f.key for f in flows]


class FakeDns:
    """A resolver from a table; records what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, name: str) -> Sequence[IPAddress]:
        self.asked.append(name)
        if name not in self.table:
            raise ResolveError(f"{name}: does not resolve (Name or service not known)")
        return [IPAddress(a) for a in self.table[name]]


# --- the example ----------------------------------------------------------------------------


def test_the_example_needs_14_flows() -> None:
    flows = flows_of(example_inventory())
    assert len(flows) == 14
    assert len(set(keys(flows))) == 14
    assert [f for f in flows if not f.is_peer] and len([f for f in flows if f.is_peer]) == 2


def test_every_address_of_both_appliances_reaches_every_provider_endpoint() -> None:
    flows = flows_of(example_inventory())
    needed = {
        (src, dst, proto, port)
        for src in (SHARED, U1, U2)
        for dst, proto, port in [
            ("203.0.113.10", "tcp", 636),
            ("203.0.113.11", "tcp", 636),
            ("203.0.113.20", "udp", 1812),
            ("203.0.113.30", "udp", 123),
        ]
    }
    assert {f.key for f in flows if not f.is_peer} == needed


def test_the_shared_ip_is_one_source_needed_by_both_appliances_in_both_states() -> None:
    flows = [f for f in flows_of(example_inventory()) if str(f.source) == SHARED]
    assert len(flows) == 4
    for flow in flows:
        assert flow.source_role is Role.SHARED
        assert flow.appliances == {"site1", "site2"}
        assert flow.states == BOTH_STATES


def test_a_unique_ip_is_needed_by_its_own_appliance_in_both_states() -> None:
    by_source = {str(f.source): f for f in flows_of(example_inventory()) if not f.is_peer}
    assert by_source[U1].appliances == {"site1"}
    assert by_source[U2].appliances == {"site2"}
    assert by_source[U1].states == by_source[U2].states == BOTH_STATES
    assert by_source[U1].source_role is Role.UNIQUE


def test_flows_carry_the_checks_and_provider_of_their_kind() -> None:
    flows = {f.key: f for f in flows_of(example_inventory())}
    ldaps = flows[(U1, "203.0.113.10", "tcp", 636)]
    assert (ldaps.providers, ldaps.kind, ldaps.endpoint) == (("corp-ad",), "ldaps", "203.0.113.10")
    assert ldaps.checks == (Check.TCP, Check.TLS, Check.LDAP_BIND)
    assert flows[(U1, "203.0.113.20", "udp", 1812)].checks == (Check.RADIUS,)


def test_flows_come_sorted() -> None:
    flows = flows_of(example_inventory())
    assert list(flows) == sorted(flows, key=flow_sort_key)
    assert str(flows[0].source) == SHARED


def test_the_shared_ip_counts_once_as_a_source_though_disabled_on_the_backup() -> None:
    srcs = sources(example_inventory())
    assert [(str(s.ip), s.role, sorted(s.appliances)) for s in srcs] == [
        (SHARED, Role.SHARED, ["site1", "site2"]),
        (U1, Role.UNIQUE, ["site1"]),
        (U2, Role.UNIQUE, ["site2"]),
    ]


# --- peer flows -----------------------------------------------------------------------------


def test_peer_flows_join_the_unique_ips_both_ways_on_the_peer_port() -> None:
    peers = [f for f in flows_of(example_inventory()) if f.is_peer]
    assert keys(peers) == [(U1, U2, "tcp", 443), (U2, U1, "tcp", 443)]
    for flow in peers:
        assert (flow.kind, flow.providers) == (PEER_KIND, (PEER_PROVIDER,))
        assert flow.source_role is Role.UNIQUE
        assert flow.states == BOTH_STATES
    assert peers[0].appliances == {"site1"}


def test_peer_flows_follow_the_configured_peer_port() -> None:
    inv = with_failover(example_inventory(), peer_port=8443)
    assert {f.port for f in flows_of(inv) if f.is_peer} == {8443}


# --- IPv6, several shared IPs, overrides, merging -------------------------------------------


def dual_stack() -> Inventory:
    return inventory(
        pair(
            [
                unique("198.51.100.11/24"),
                shared("198.51.100.10/24"),
                unique("2001:db8:10::11/64"),
                shared("2001:db8:10::10/64"),
            ],
            [
                unique("198.51.100.12/24"),
                shared("198.51.100.10/24", enabled=False),
                unique("2001:db8:10::12/64"),
                shared("2001:db8:10::10/64", enabled=False),
            ],
        ),
        [provider("ad", "ldaps", "203.0.113.10", "2001:db8:99::10")],
    )


def test_only_sources_of_the_destinations_ip_version_get_flows() -> None:
    flows = flows_of(dual_stack())
    for flow in flows:
        assert flow.source.version == IPAddress(str(flow.destination)).version
    # 3 sources per version x 1 endpoint per version, plus peer flows in each version
    assert len([f for f in flows if not f.is_peer]) == 6
    assert keys([f for f in flows if f.is_peer and f.source.version == 6]) == [
        ("2001:db8:10::11", "2001:db8:10::12", "tcp", 443),
        ("2001:db8:10::12", "2001:db8:10::11", "tcp", 443),
    ]


def test_ipv4_flows_sort_before_ipv6() -> None:
    versions = [f.source.version for f in flows_of(dual_stack())]
    assert versions == sorted(versions)


def test_each_of_several_shared_ips_is_a_source_in_both_states() -> None:
    inv = inventory(
        pair(
            [unique("198.51.100.11/24"), shared("198.51.100.10/24"), shared("198.51.100.20/24")],
            [
                unique("198.51.100.12/24"),
                shared("198.51.100.10/24", enabled=False),
                shared("198.51.100.20/24", enabled=False),
            ],
        )
    )
    flows = flows_of(inv)
    assert len(flows) == 4 * 4 + 2
    second = [f for f in flows if str(f.source) == "198.51.100.20"]
    assert len(second) == 4
    assert all(f.appliances == {"site1", "site2"} and f.states == BOTH_STATES for f in second)


def test_a_kind_with_two_protocols_needs_a_flow_for_each() -> None:
    inv = with_providers(example_inventory(), provider("kdc", "kerberos", "203.0.113.40"))
    flows = [f for f in flows_of(inv) if not f.is_peer]
    assert sorted({(f.protocol, f.port) for f in flows}) == [(Protocol.TCP, 88), (Protocol.UDP, 88)]
    assert len(flows) == 6


def test_an_inventory_port_override_replaces_the_packs_ports() -> None:
    inv = with_providers(example_inventory(), provider("ad", "ldaps", "203.0.113.10", ports=[1636]))
    flows = [f for f in flows_of(inv) if not f.is_peer]
    assert {(f.port, f.checks) for f in flows} == {(1636, (Check.TCP, Check.TLS, Check.LDAP_BIND))}


def test_a_starttls_provider_gets_its_tls_checked_on_the_plain_ldap_port() -> None:
    inv = with_providers(
        example_inventory(),
        provider("dir", "ldap", "203.0.113.40", starttls=True, tls_name="dir.example.com"),
        provider("gc", "gc", "203.0.113.41"),
    )
    checks = {(f.provider, f.port, f.checks) for f in flows_of(inv) if not f.is_peer}
    assert checks == {
        ("dir", 389, (Check.TCP, Check.TLS, Check.LDAP_BIND)),
        ("gc", 3268, (Check.TCP, Check.LDAP_BIND)),  # no StartTLS: nothing to check
    }


def test_providers_sharing_a_flow_are_merged_into_one() -> None:
    inv = with_providers(
        example_inventory(),
        provider("mail", "smtp", "203.0.113.10", ports=[389]),
        provider("dir", "ldap", "203.0.113.10"),
    )
    flows = [f for f in flows_of(inv) if not f.is_peer]
    assert len(flows) == 3
    flow = flows[0]
    assert flow.providers == ("dir", "mail")
    assert flow.kind == "ldap"  # of the first provider
    # every provider's checks, in run order (an SMTP provider on 389 is made up for merging)
    assert flow.checks == (Check.TCP, Check.LDAP_BIND, Check.SMTP)


def test_an_unknown_kind_stops_the_build_with_a_located_error() -> None:
    inv = with_providers(example_inventory(), provider("x", "radiuss", "203.0.113.20"))
    with pytest.raises(InputError, match=r"pair.yaml:27: providers\[0\].kind: .*'radius'"):
        flows_of(inv)


# --- hostnames ------------------------------------------------------------------------------


def named() -> Inventory:
    return with_providers(
        example_inventory(),
        provider("ad", "ldaps", "ad1.corp.example.com", "ad2.corp.example.com"),
        provider("gc", "gcs", "ad1.corp.example.com"),
    )


def test_a_hostname_resolves_to_all_its_addresses_of_the_pairs_versions() -> None:
    dns = FakeDns(
        {
            "ad1.corp.example.com": ["203.0.113.10", "203.0.113.11", "2001:db8::10"],
            "ad2.corp.example.com": ["203.0.113.12"],
        }
    )
    flows = [f for f in flows_of(named(), resolve=dns) if not f.is_peer]
    assert sorted(dns.asked) == ["ad1.corp.example.com", "ad2.corp.example.com"]  # once each
    assert {str(f.destination) for f in flows} == {"203.0.113.10", "203.0.113.11", "203.0.113.12"}
    # 3 sources x (3 addresses on 636 + 2 addresses on 3269)
    assert len(flows) == 15
    one = next(f for f in flows if str(f.destination) == "203.0.113.11")
    assert one.endpoint == "ad1.corp.example.com"


def test_every_unresolvable_name_is_reported_at_once_with_its_line() -> None:
    dns = FakeDns({"ad2.corp.example.com": []})
    with pytest.raises(ResolveError) as exc:
        flows_of(named(), resolve=dns)
    lines = str(exc.value).splitlines()
    assert lines == [
        f"{named().source}:28: providers[0].endpoints[0]: provider ad: ad1.corp.example.com "
        "does not resolve (Name or service not known) (expected a name with A/AAAA records; "
        "or use --no-resolve to keep names)",
        f"{named().source}:28: providers[0].endpoints[1]: provider ad: ad2.corp.example.com "
        "has no A or AAAA record (expected a name with A/AAAA records; or use --no-resolve "
        "to keep names)",
    ]


def test_no_resolve_keeps_names_as_destinations_for_every_source() -> None:
    flows = [f for f in flows_of(named(), resolve=None) if not f.is_peer]
    assert {f.destination for f in flows} == {"ad1.corp.example.com", "ad2.corp.example.com"}
    assert len(flows) == 3 * 3
    assert all(f.endpoint == f.destination for f in flows)


def test_names_sort_after_addresses() -> None:
    inv = with_providers(
        example_inventory(),
        provider("ad", "ldaps", "ad.corp.example.com", "203.0.113.10"),
    )
    flows = [f for f in flows_of(inv, resolve=None) if str(f.source) == U1 and not f.is_peer]
    assert [str(f.destination) for f in flows] == ["203.0.113.10", "ad.corp.example.com"]


def test_the_system_resolver_reads_local_names() -> None:
    # localhost comes from /etc/hosts: no query leaves the machine.
    found = set(system_resolver("localhost"))
    assert found & {IPAddress("127.0.0.1"), IPAddress("::1")}


def test_the_system_resolver_refuses_a_malformed_name() -> None:
    # An empty label fails in the IDNA encoder, before any query is sent.
    with pytest.raises(ResolveError, match=r"bad\.\.example\.com: not a valid host name"):
        system_resolver("bad..example.com")


# --- the graph ------------------------------------------------------------------------------


def test_the_graph_holds_appliances_addresses_providers_endpoints_and_flows() -> None:
    inv = example_inventory()
    g = build_graph(inv, flows_of(inv))
    by_type: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        by_type.setdefault(data["type"], []).append(node)
    assert sorted(by_type["appliance"]) == ["appliance:site1", "appliance:site2"]
    assert sorted(by_type["address"]) == [f"address:{ip}" for ip in (SHARED, U1, U2)]
    assert sorted(by_type["provider"]) == [
        "provider:corp-ad",
        "provider:corp-radius",
        "provider:time",
    ]
    assert len(by_type["endpoint"]) == 4
    edge_types = [d["type"] for _, _, d in g.edges(data=True)]
    assert (edge_types.count("configures"), edge_types.count("serves")) == (4, 4)
    assert edge_types.count("flow") == 14


def test_graph_addresses_keep_role_mask_and_where_they_are_enabled() -> None:
    inv = example_inventory()
    g = build_graph(inv, flows_of(inv))
    node = g.nodes[f"address:{SHARED}"]
    assert (node["role"], node["prefixlen"], node["enabled"]) == ("shared", 24, True)
    assert node["enabled_on"] == ("site1",)
    assert g.edges["appliance:site2", f"address:{SHARED}", "configures"]["enabled"] is False


def test_graph_flow_edges_carry_the_flow_and_peer_flows_join_addresses() -> None:
    inv = example_inventory()
    g = build_graph(inv, flows_of(inv))
    edge = g.edges[f"address:{SHARED}", "endpoint:203.0.113.10", "tcp/636"]
    assert edge["checks"] == ("tcp", "tls", "ldap-bind")
    assert edge["states"] == ("primary-active", "backup-active")
    assert edge["appliances"] == ("site1", "site2")
    assert edge["providers"] == ("corp-ad",)
    assert g.has_edge(f"address:{U1}", f"address:{U2}", "tcp/443")
    assert g.has_edge(f"address:{U2}", f"address:{U1}", "tcp/443")


def test_graph_endpoints_remember_the_names_they_came_from() -> None:
    inv = named()
    dns = FakeDns(
        {"ad1.corp.example.com": ["203.0.113.10"], "ad2.corp.example.com": ["203.0.113.12"]}
    )
    g = build_graph(inv, flows_of(inv, resolve=dns))
    assert g.nodes["endpoint:203.0.113.10"]["names"] == ("ad1.corp.example.com",)
    assert g.has_edge("provider:gc", "endpoint:203.0.113.10", "serves")
    unresolved = build_graph(inv, flows_of(inv, resolve=None))
    assert unresolved.nodes["endpoint:ad2.corp.example.com"]["resolved"] is False


# --- from the file --------------------------------------------------------------------------


def test_the_factory_example_is_what_the_loader_reads_from_examples_pair_yaml() -> None:
    from auditor.inventory.load import load_inventory

    assert load_inventory(EXAMPLE) == example_inventory(EXAMPLE)


def test_examples_pair_yaml_lints_clean_and_needs_14_flows() -> None:
    from auditor.inventory.load import load_inventory

    inv = load_inventory(EXAMPLE)
    assert lint(inv) == ()
    assert flows_of(inv) == flows_of(example_inventory())


# --- any pair -------------------------------------------------------------------------------


@st.composite
def pairs_and_providers(draw: st.DrawFn) -> tuple[Inventory, int]:
    """A random IPv4 pair and providers on distinct endpoints, with the flow count it needs."""
    hosts = draw(st.lists(st.integers(1, 254), min_size=6, max_size=6, unique=True))
    n_p, n_b, n_s = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    p_uniques = [unique(f"198.51.100.{h}/24") for h in hosts[:n_p]]
    b_uniques = [unique(f"198.51.100.{h}/24") for h in hosts[2 : 2 + n_b]]
    shared_ips = [f"198.51.100.{h}/24" for h in hosts[4 : 4 + n_s]]
    inv = inventory(
        pair(
            [*p_uniques, *(shared(s) for s in shared_ips)],
            [*b_uniques, *(shared(s, enabled=False) for s in shared_ips)],
            site_instance_ip=shared_ips[0].split("/")[0],
        ),
        [],
    )
    endpoints = iter(draw(st.lists(st.integers(1, 254), min_size=9, max_size=9, unique=True)))
    providers = []
    per_source = 0
    for i, kind in enumerate(
        draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3))
    ):
        eps = [f"203.0.113.{next(endpoints)}" for _ in range(draw(st.integers(1, 3)))]
        providers.append(provider(f"p{i}", kind, *eps))
        per_source += len(eps) * len(KINDS[kind].ports)
    sources_count = n_p + n_b + n_s
    return with_providers(inv, *providers), sources_count * per_source + 2 * n_p * n_b


@settings(max_examples=60, deadline=None)
@given(pairs_and_providers())
def test_any_pair_needs_every_source_times_every_port_plus_the_peer_mesh(
    case: tuple[Inventory, int],
) -> None:
    inv, expected = case
    flows = flows_of(inv)
    assert len(flows) == expected
    assert len({f.key for f in flows}) == expected
    assert list(flows) == sorted(flows, key=flow_sort_key)
    assert all(f.states == BOTH_STATES for f in flows)
    assert lint(inv) == ()
