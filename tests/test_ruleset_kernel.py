"""The evaluator against the kernel itself: hypothesis generates rulesets, the router
namespace runs them, every flow is sent for real, and the two must agree flow by flow
(admitted = its first packet reached the server; denied = rejected or dropped, as said)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruleset_diff import check_iptables, check_nft, compare
from ruleset_gen import Flow, flows, iptables_example, nft_example
from ruleset_gen_path import (
    iptables_hook_example,
    iptables_path_example,
    nft_hook_example,
    nft_path_example,
)
from ruleset_kernel import Probe, Topology, probe_input, probe_output, topology_fixture

from auditor.lab.customer import load_customer_ruleset
from auditor.ruleset import Hook, read_rulesets

pytestmark = pytest.mark.lab
# pid-based: two checkouts running this module at once must not share (or delete) namespaces
TOPO = Topology(f"t{os.getpid() % 1000}")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)


topo = topology_fixture(TOPO)


@SETTINGS
@given(example=iptables_example(TOPO.in_if, TOPO.out_if), the_flows=flows())
def test_iptables_ip6tables_and_ipset_verdicts_equal_the_kernels(
    topo: Topology, example: tuple[str, str, str], the_flows: list
) -> None:
    check_iptables(topo, example, the_flows)


@SETTINGS
@given(script=nft_example(TOPO.in_if, TOPO.out_if), the_flows=flows())
def test_nft_verdicts_equal_the_kernels(topo: Topology, script: str, the_flows: list) -> None:
    check_nft(topo, script, the_flows)


@SETTINGS
@given(example=iptables_path_example(TOPO.in_if, TOPO.out_if), the_flows=flows())
def test_the_whole_path_raw_mangle_nat_filter_security_equals_the_kernels(
    topo: Topology, example: tuple[str, str, str], the_flows: list
) -> None:
    check_iptables(topo, example, the_flows)


@SETTINGS
@given(script=nft_path_example(TOPO.in_if, TOPO.out_if), the_flows=flows())
def test_the_whole_nft_path_every_hook_and_priority_equals_the_kernels(
    topo: Topology, script: str, the_flows: list
) -> None:
    check_nft(topo, script, the_flows)


@pytest.mark.parametrize("hook", [Hook.INPUT, Hook.OUTPUT])
@settings(SETTINGS, max_examples=15)
@given(data=st.data(), the_flows=flows())
def test_the_input_and_output_paths_equal_the_kernels(
    topo: Topology, hook: Hook, data: st.DataObject, the_flows: list
) -> None:
    """The whole-path rulesets moved onto INPUT (flows to the router's own address, a
    listener on each port) and OUTPUT (flows the router sends itself), iptables and nft."""
    name = hook.value
    example = data.draw(iptables_hook_example(TOPO.in_if, TOPO.out_if, name))
    check_iptables(topo, example, the_flows, hook)
    check_nft(topo, data.draw(nft_hook_example(TOPO.in_if, TOPO.out_if, name)), the_flows, hook)


def test_the_input_and_output_probes_tell_arrived_rejected_and_dropped_apart(
    topo: Topology,
) -> None:
    """The referee of INPUT and OUTPUT: a listener's connection or datagram is arrival."""
    topo.load_iptables(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p tcp --dport 22 -j DROP\n-A INPUT -p tcp --dport 53 -j REJECT\n"
        "-A OUTPUT -p udp --dport 53 -j DROP\n"
        "-A OUTPUT -p tcp --dport 53 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
        "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "",
    )  # fmt: skip
    port = topo.next_sport
    into = probe_input(topo, [Probe("192.0.2.10", "192.0.2.1", "tcp", 22, port()),
                              Probe("192.0.2.10", "192.0.2.1", "tcp", 53, port()),
                              Probe("192.0.2.10", "192.0.2.1", "tcp", 80, port()),
                              Probe("192.0.2.10", "192.0.2.1", "udp", 53, port())])  # fmt: skip
    assert into == ["dropped", "rejected", "arrived", "arrived"]
    server = "198.51.100.10"
    out = probe_output(topo, [Probe("198.51.100.1", server, "udp", 53, port()),
                              Probe("198.51.100.1", server, "tcp", 53, port()),
                              Probe("198.51.100.1", server, "tcp", 80, port())])  # fmt: skip
    assert out == ["dropped", "rejected", "arrived"]


def test_each_step_of_the_path_as_the_kernel_takes_it(topo: Topology) -> None:
    """Pinned: a mangle POSTROUTING drop, raw-table conntrack (INVALID before conntrack),
    NOTRACK then UNTRACKED, a DNAT the filter sees, marks and connmarks, addrtype."""
    v4 = (
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A PREROUTING -p udp --dport 53 -m conntrack --ctstate INVALID -j DROP\n"
        "-A PREROUTING -p tcp --dport 22 -m conntrack --ctstate NEW -j DROP\n"
        "-A PREROUTING -p udp --dport 1812 -j CT --notrack\nCOMMIT\n"
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
        ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -p tcp --dport 443 -j MARK --set-xmark 0x2/0xff\n"
        "-A PREROUTING -j CONNMARK --save-mark\n"
        f"-A POSTROUTING -o {topo.out_if} -p tcp --dport 80 -j DROP\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -d 203.0.113.11 -p tcp -j DNAT --to-destination 203.0.113.10:636\n"
        "COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -m addrtype --dst-type LOCAL -j REJECT\n"
        "-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT\n"
        "-A FORWARD -m connmark --mark 0x2/0xff -j ACCEPT\n"
        "-A FORWARD -d 203.0.113.10 -p tcp --dport 636 -j ACCEPT\n"
        "-A FORWARD -p tcp --dport 80 -j ACCEPT\n"
        "-A FORWARD -p udp -j ACCEPT\nCOMMIT\n"
    )
    flows = [
        Flow("192.0.2.10", "198.51.100.10", *pf)
        for pf in (("udp", 53), ("tcp", 22), ("udp", 1812), ("tcp", 443), ("tcp", 80), ("tcp", 53))
    ]
    flows.append(Flow("192.0.2.10", "203.0.113.11", "tcp", 22))  # DNAT to .10:636
    check_iptables(topo, (v4, "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n", ""), flows)
    nft = (
        "table ip quiet {\n  flags dormant;\n  chain f {\n    type filter hook forward "
        "priority 0; policy drop;\n  }\n}\n"
        "table inet t {\n  chain raw {\n    type filter hook prerouting priority -300; policy "
        "accept;\n    udp dport 53 ct state new drop\n    udp dport 1812 notrack\n  }\n"
        "  chain f {\n    type filter hook forward priority 0; policy accept;\n"
        "    icmp type echo-request drop\n    fib daddr type local drop\n"
        "    udp dport 1812 ct state != untracked drop\n  }\n"
        "  chain post {\n    type filter hook postrouting priority 0; policy drop;\n"
        f'    oifname "{topo.in_if}" accept\n    tcp dport != 80 accept\n    udp dport 1812 '
        "accept\n  }\n}\n"
        f"table netdev nd {{\n  chain in {{\n    type filter hook ingress device {topo.in_if} "
        "priority 0; policy accept;\n    tcp dport 443 drop\n  }\n}\n"
    )
    check_nft(topo, nft, flows[:6])


def test_the_probe_tells_arrived_rejected_and_dropped_apart(topo: Topology) -> None:
    """The referee itself: one flow of each kind, with rules whose outcome is not in doubt."""
    doc4 = (
        "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp --dport 22 -j DROP\n"
        "-A FORWARD -p tcp --dport 53 -j REJECT --reject-with tcp-reset\nCOMMIT\n"
    )
    doc6 = "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n"
    topo.load_iptables(doc4, doc6, "")

    kinds = topo.probe(
        [
            Probe("192.0.2.10", "198.51.100.10", "tcp", 22, topo.next_sport()),
            Probe("192.0.2.10", "198.51.100.10", "tcp", 53, topo.next_sport()),
            Probe("192.0.2.10", "198.51.100.10", "tcp", 80, topo.next_sport()),
            Probe("2001:db8:c::10", "2001:db8:5::10", "udp", 53, topo.next_sport()),
        ]
    )
    assert kinds == ["dropped", "rejected", "arrived", "dropped"]
    check_iptables(topo, (doc4, doc6, ""), [Flow("192.0.2.11", "203.0.113.10", "tcp", 22)])


def test_a_customer_ruleset_loads_into_the_router_as_the_evaluator_reads_it(
    topo: Topology, tmp_path: Path
) -> None:
    """`auditor lab up --ruleset` loads files as given: iptables-save with ip6tables-save in one
    file plus an ipset save, then an nft -j document; the kernel then does what we evaluate."""
    both = tmp_path / "saved.rules"
    both.write_text(
        "# Generated by iptables-save v1.8.9\n*filter\n:FORWARD DROP [0:0]\n"
        "-A FORWARD -m set --match-set ldap dst -p tcp --dport 636 -j ACCEPT\nCOMMIT\n"
        "# Generated by ip6tables-save v1.8.9\n*filter\n:FORWARD ACCEPT [0:0]\n"
        "-A FORWARD -p udp -j REJECT --reject-with icmp6-adm-prohibited\nCOMMIT\n"
    )
    sets = tmp_path / "ipset.save"
    sets.write_text("create ldap hash:ip family inet\nadd ldap 198.51.100.10\n")
    loaded = load_customer_ruleset(topo.router, [both], [sets])
    assert loaded == [f"{sets}: ipset", f"{both}: iptables", f"{both}: ip6tables"]
    flows = [
        Flow("192.0.2.10", "198.51.100.10", "tcp", 636),
        Flow("192.0.2.10", "198.51.100.11", "tcp", 636),
        Flow("2001:db8:c::10", "2001:db8:5::10", "udp", 53),
        Flow("2001:db8:c::10", "2001:db8:5::10", "tcp", 53),
    ]
    compare(topo, read_rulesets([both], [sets]), flows, both.read_text())
    nft = tmp_path / "ruleset.json"
    nft.write_text((Path(__file__).parent / "ruleset_data" / "two_tables.json").read_text())
    assert load_customer_ruleset(topo.router, [nft], []) == [f"{nft}: nft"]
    compare(topo, read_rulesets([nft]), [Flow("192.0.2.10", "203.0.113.10", "tcp", 636)], "")


def test_before_routing_there_is_no_output_interface(topo: Topology) -> None:
    """nft reads oifname as "" in prerouting: a drop keyed on the real output interface there
    drops nothing, while the same rule in forward drops."""
    out = topo.out_if
    script = (
        "table inet pre {\n  chain p {\n    type filter hook prerouting priority -150; "
        f'policy accept;\n    oifname "{out}" tcp dport 22 drop\n  }}\n'
        "  chain f {\n    type filter hook forward priority 0; policy accept;\n"
        f'    oifname "{out}" tcp dport 53 drop\n  }}\n}}\n'
    )
    check_nft(
        topo,
        script,
        [
            Flow("192.0.2.10", "198.51.100.10", "tcp", 22),
            Flow("192.0.2.10", "198.51.100.10", "tcp", 53),
        ],
    )
