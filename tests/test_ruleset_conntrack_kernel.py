"""iptables `-m conntrack` beyond the plain states against the kernel (issue 18): the virtual
states DNAT and SNAT (a NAT binding on the path that changed the tuple: not a DNAT to the
address and port the packet already has, and SNAT only after nat POSTROUTING, past every filter
chain), `--ctstatus` (a new connection's first packet has none of EXPECTED, SEEN_REPLY,
ASSURED, CONFIRMED, and NONE never matches), `--ctdir` (the first packet goes the ORIGINAL
way) and the tuples' addresses (`--ctorigdst` is the destination before DNAT, `--ctreplsrc`
after it). Before conntrack (raw) xt_conntrack answers only its --ctstate test: with one the
rule can match, without one it cannot. Loaded with iptables-restore, read back with
iptables-save, each flow sent through the router namespace."""

from __future__ import annotations

import os

import pytest
from ruleset_diff import compare_decided
from ruleset_gen import Flow
from ruleset_kernel import Topology, topology_fixture

from auditor.ruleset import Verdict
from auditor.ruleset.iptables import parse_iptables

pytestmark = pytest.mark.lab
TOPO = Topology(f"x{os.getpid() % 1000}")
FLOWS = [
    Flow("192.0.2.10", "198.51.100.10", "tcp", 636),  # DNAT to .11: the tuple changes
    Flow("192.0.2.11", "198.51.100.11", "tcp", 636),  # DNAT to where it goes: no binding
    Flow("192.0.2.12", "203.0.113.10", "tcp", 22),  # SNAT in POSTROUTING, after FORWARD
    Flow("192.0.2.13", "198.51.100.10", "udp", 53),
]
V6 = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


def doc(rule: str, policy: str = "DROP", raw: str = "") -> str:
    return f"""*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
{raw}
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 636 -j DNAT --to-destination 198.51.100.11
-A POSTROUTING -d 203.0.113.10/32 -j SNAT --to-source 198.51.100.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD {policy} [0:0]
:OUTPUT ACCEPT [0:0]
{rule}
COMMIT
"""


CT = "-A FORWARD -m conntrack"
# (ruleset, the flows the evaluator decides); the kernel says which verdict is right
CASES = [
    (doc(f"{CT} --ctstate DNAT -j ACCEPT"), 4),
    (doc(f"{CT} ! --ctstate SNAT,DNAT -j ACCEPT"), 4),
    (doc(f"{CT} --ctstate SNAT -j ACCEPT"), 4),  # SNAT happens after FORWARD
    (doc(f"{CT} --ctstate RELATED,DNAT -j ACCEPT"), 4),
    (doc(f"{CT} --ctstatus NONE -j ACCEPT"), 4),  # the empty mask: never
    (doc(f"{CT} ! --ctstatus NONE -j ACCEPT"), 4),
    (doc(f"{CT} --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED -j ACCEPT"), 4),
    (doc(f"{CT} ! --ctstatus CONFIRMED -j DROP", "ACCEPT"), 4),
    (doc(f"{CT} --ctdir ORIGINAL -j ACCEPT"), 4),
    (doc(f"{CT} --ctdir REPLY -j ACCEPT"), 4),
    (doc(f"{CT} --ctorigdst 198.51.100.10 -j ACCEPT"), 4),  # before the DNAT
    (doc(f"{CT} --ctreplsrc 198.51.100.11 -j ACCEPT"), 4),  # after it
    (doc(f"{CT} ! --ctorigsrc 192.0.2.10/31 -j ACCEPT"), 4),
    (doc(f"{CT} --ctorigdst 198.51.100.10/255.255.255.253 -j ACCEPT"), 4),  # a mask, no prefix
    (doc(f"{CT} --ctrepldst 192.0.2.12 -j ACCEPT"), 4),  # no SNAT yet at FORWARD
    (doc(f"{CT} --ctstate NEW --ctstatus SEEN_REPLY -j DROP", "ACCEPT"), 4),
    # raw: no connection yet; --ctstatus alone never matches, beside --ctstate INVALID it does
    (doc("", "ACCEPT", "-A PREROUTING -m conntrack ! --ctstatus CONFIRMED -j DROP"), 4),
    (doc("", "ACCEPT", "-A PREROUTING -m conntrack --ctdir ORIGINAL -j DROP"), 4),
    (doc("", "ACCEPT", "-A PREROUTING -m conntrack --ctstate INVALID --ctstatus CONFIRMED "
         "-j DROP"), 4),
]  # fmt: skip


topo = topology_fixture(TOPO)


@pytest.mark.parametrize(("script", "decided"), CASES)
def test_conntrack_match_is_the_kernels(topo: Topology, script: str, decided: int) -> None:
    saved4, saved6, _ = topo.load_iptables(script, V6, "")
    rulesets = (*parse_iptables(saved4, "v4", {}), *parse_iptables(saved6, "v6", {}))
    decisions = compare_decided(topo, rulesets, FLOWS, saved4)
    assert sum(d.verdict is not Verdict.UNKNOWN for d in decisions) == decided, [
        (d.verdict.value, d.reason) for d in decisions
    ]
