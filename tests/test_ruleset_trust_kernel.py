"""Dumps that do not show what decides (issue 18), with the kernel as the judge: a partial
dump without the filter table, an nft listing without a filter chain on the hook, a built-in
chain without its policy line. The kernel drops what such a dump would have admitted, so the
evaluator must say unknown (with the reason), never admitted; where the dump is complete it
must equal the kernel."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from netaddr import IPAddress
from ruleset_diff import ROUTER_SITE, check_iptables, check_nft
from ruleset_gen import Flow
from ruleset_kernel import Probe, Topology, sh, topology_fixture

from auditor.ruleset import Hook, Packet, Verdict, evaluate
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Decision, Ruleset
from auditor.ruleset.nft import parse_nft

pytestmark = pytest.mark.lab
TOPO = Topology(f"u{os.getpid() % 1000}")
FLOWS = [
    Flow("192.0.2.10", "198.51.100.10", "tcp", 22),
    Flow("192.0.2.10", "198.51.100.11", "tcp", 636),
    Flow("192.0.2.11", "203.0.113.10", "udp", 53),
]
# a nat table whose one rule none of FLOWS meets
NAT = (
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\n"
    "-A PREROUTING -d 192.0.2.99/32 -p tcp -j DNAT --to-destination 198.51.100.99\nCOMMIT\n"
)
V6 = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


topo = topology_fixture(TOPO)


def _judge(
    topo: Topology, rulesets: Sequence[Ruleset], flows: Sequence[Flow] = FLOWS
) -> tuple[list[Decision], list[str]]:
    """The evaluator's decisions and the kernel's outcome for `flows`, with the ruleset loaded."""
    probes = [Probe(f.source, f.destination, f.protocol, f.dport, topo.next_sport()) for f in flows]
    packets = [
        Packet(
            version=IPAddress(p.source).version,
            source=int(IPAddress(p.source)),
            destination=int(IPAddress(p.destination)),
            protocol=p.protocol,
            dport=p.dport,
            sport=p.sport,
            in_interface=topo.in_if,
            out_interface=topo.out_if,
            site=ROUTER_SITE,
        )
        for p in probes
    ]
    return evaluate(rulesets, packets, Hook.FORWARD), topo.probe(probes)


def test_a_dump_without_the_filter_table_is_unknown_never_admitted(topo: Topology) -> None:
    full = NAT + (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    )
    topo.load_iptables(full, V6, "")
    partial = sh(["iptables-save", "-t", "nat"], netns=topo.router)
    assert "*filter" not in partial and "DNAT" in partial
    decisions, kernel = _judge(topo, parse_iptables(partial, "nat.rules", {}))
    assert kernel == ["arrived", "dropped", "dropped"]
    for d in decisions:  # the kernel drops two of them: admitted would be a wrong answer
        assert d.verdict is Verdict.UNKNOWN
        assert d.reason == (
            "nat.rules: the dump has no filter table: a partial dump (iptables-save -t nat) "
            "cannot be told from a host without one"
        )
    # The whole dump, as iptables-save writes it, is decided as the kernel decides.
    check_iptables(topo, (full, V6, ""), FLOWS)
    # A filter table whose chains accept everything: a complete dump, admitted as the kernel.
    accepting = NAT + V6
    decisions, kernel = _judge(topo, parse_iptables(topo.load_iptables(accepting, V6, "")[0],
                                                    "v4", {}))  # fmt: skip
    assert kernel == ["arrived"] * 3
    assert [d.verdict for d in decisions] == [Verdict.ADMITTED] * 3


def test_an_nft_listing_without_a_filter_chain_on_the_hook_is_unknown(topo: Topology) -> None:
    script = (
        "table ip nat {\n  chain pre {\n    type nat hook prerouting priority -100; "
        "policy accept;\n    ip daddr 192.0.2.99 tcp dport 22 dnat to 198.51.100.99\n  }\n}\n"
        "table inet f {\n  chain fw {\n    type filter hook forward priority 0; policy drop;\n"
        "    tcp dport 22 accept\n  }\n}\n"
    )
    topo.load_nft(script)
    listed = sh(["nft", "-j", "list", "table", "ip", "nat"], netns=topo.router)
    decisions, kernel = _judge(topo, (parse_nft(listed, "nat.json"),))
    assert kernel == ["arrived", "dropped", "dropped"]
    assert {d.verdict for d in decisions} == {Verdict.UNKNOWN}
    assert "no base chain of type filter on the forward hook" in decisions[1].reason
    check_nft(topo, script, FLOWS)  # the whole ruleset: the kernel's answers
    topo.clear()  # an empty ruleset: the kernel accepts, but it reads as a partial listing
    empty = sh(["nft", "-j", "list", "ruleset"], netns=topo.router)
    decisions, kernel = _judge(topo, (parse_nft(empty, "empty.json"),))
    assert kernel == ["arrived"] * 3 and {d.verdict for d in decisions} == {Verdict.UNKNOWN}
    # An explicit filter chain that accepts: complete, admitted as the kernel admits.
    check_nft(topo, "table inet f {\n  chain fw {\n    type filter hook forward priority 0; "
              "policy accept;\n  }\n}\n", FLOWS)  # fmt: skip


def test_a_built_in_chain_without_its_policy_line_has_no_invented_policy(topo: Topology) -> None:
    doc = (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -p tcp --dport 22 -j ACCEPT\n"
        "-A FORWARD -p udp --dport 53 -j REJECT\nCOMMIT\n"
    )
    saved = topo.load_iptables(doc, V6, "")[0]
    assert ":FORWARD DROP" in saved
    cut = "".join(line for line in saved.splitlines(True) if not line.startswith(":FORWARD"))
    decisions, kernel = _judge(topo, parse_iptables(cut, "cut.rules", {}))
    assert kernel == ["arrived", "dropped", "rejected"]
    # The rules still decide what they decide; the end of the chain is not known.
    assert [d.verdict for d in decisions] == [Verdict.ADMITTED, Verdict.UNKNOWN, Verdict.DENIED]
    assert decisions[1].reason == (
        "table filter chain FORWARD: the dump has no `:FORWARD POLICY` line (iptables-save "
        "always writes it), so the chain's policy is not known"
    )
    assert decisions[1].rule is not None and decisions[1].rule.text == "(no :FORWARD line)"
    check_iptables(topo, (doc, V6, ""), FLOWS)  # with the line: the kernel's answers


def test_an_nft_listing_of_the_other_family_s_filter_is_unknown_never_admitted(
    topo: Topology,
) -> None:
    """`nft list table ip filter` of a host whose ip6 filter drops: the listing shows a filter
    chain on the hook, but none of the IPv6 flow's family. The kernel drops the flow; the
    evaluator says unknown (it said admitted: the `ip` chain was taken as the host's filter)."""
    script = (
        "table ip filter {\n  chain fw {\n    type filter hook forward priority 0; "
        "policy accept;\n  }\n}\n"
        "table ip6 filter {\n  chain fw {\n    type filter hook forward priority 0; "
        "policy drop;\n  }\n}\n"
    )
    topo.load_nft(script)
    listed = sh(["nft", "-j", "list", "table", "ip", "filter"], netns=topo.router)
    flows = [FLOWS[0], Flow("2001:db8:c::10", "2001:db8:5::10", "tcp", 22)]
    decisions, kernel = _judge(topo, (parse_nft(listed, "ip.json"),), flows)
    assert kernel == ["arrived", "dropped"]
    assert decisions[0].verdict is Verdict.ADMITTED  # its own family's filter is shown
    assert decisions[1].verdict is Verdict.UNKNOWN
    assert "no base chain of type filter on the forward hook for IPv6" in decisions[1].reason
    check_nft(topo, script, flows)  # the whole ruleset: the kernel's answers
