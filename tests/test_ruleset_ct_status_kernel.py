"""nft `ct status` against the kernel (issue 18): on a new connection's first packet `dnat` is
set where a DNAT changed its destination earlier on the path (not a DNAT to the address and port
it already had), `snat` after a SNAT, `confirmed` only once the packet has left its last hook (a
chain at the confirm hook's own priority may run on either side of it), and the bits a first
packet never has are clear; before conntrack there is no connection and the rule breaks off.
Every form `nft -j` lists (`in`, `!`, `==`, `!=`, `&`, sets, verdict maps) must give the
kernel's verdict, or unknown where the kernel's other status bits (the *-done bits every NAT
hook sets) decide."""

from __future__ import annotations

import os

import pytest
from ruleset_diff import compare_decided
from ruleset_gen import Flow
from ruleset_kernel import Topology, topology_fixture

from auditor.ruleset import Verdict
from auditor.ruleset.nft import parse_nft

pytestmark = pytest.mark.lab
TOPO = Topology(f"s{os.getpid() % 1000}")
FLOWS = [
    Flow("192.0.2.10", "198.51.100.10", "tcp", 636),  # DNAT to .11: dnat set
    Flow("192.0.2.11", "198.51.100.11", "tcp", 636),  # DNAT to where it goes: not set
    Flow("192.0.2.12", "203.0.113.10", "tcp", 22),  # SNAT in postrouting
    Flow("192.0.2.13", "198.51.100.10", "udp", 53),
    Flow("2001:db8:c::10", "2001:db8:5::10", "tcp", 636),
]
NAT = """table ip nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 636 dnat to 198.51.100.11
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr 203.0.113.10 snat to 198.51.100.1
  }
}
"""


def forward(rule: str, policy: str) -> str:
    return f"""table inet f {{
  chain fw {{
    type filter hook forward priority 0; policy {policy};
    ct state new counter
    {rule}
  }}
}}
"""


# (ruleset, the flows the evaluator decides); the kernel says which verdict is right
CASES = [
    (forward("ct status dnat accept", "drop"), 5),
    (forward("ct status dnat,snat accept", "drop"), 5),
    (forward("ct status & dnat == dnat accept", "drop"), 5),
    (forward("ct status & (dnat|snat) != 0 accept", "drop"), 5),
    (forward("ct status & dnat == 0 accept", "drop"), 5),  # listed as `ct status ! dnat`
    (forward("ct status == dnat accept", "drop"), 4),  # DNAT'd: dnat-done may be set too
    (forward("ct status != dnat accept", "drop"), 4),
    (forward("ct status { dnat, snat } accept", "drop"), 4),
    (forward("ct status vmap { dnat : drop }", "accept"), 4),
    (forward("ct status expected,seen-reply,assured,confirmed accept", "drop"), 5),
    (forward("ct status dying accept", "drop"), 0),  # not modelled: unknown both ways
    (forward("", "accept") + "table inet r {\n  chain raw {\n    type filter hook prerouting "
     "priority -300; policy accept;\n    ct status != dnat drop\n  }\n}\n", 5),  # no connection
    (forward("", "accept") + "table inet p {\n  chain late {\n    type filter hook postrouting "
     "priority 200; policy accept;\n    ct status snat drop\n  }\n}\n", 5),
    # beside conntrack's confirm hook: whether it ran first is not in the ruleset
    (forward("", "accept") + "table inet p {\n  chain last {\n    type filter hook postrouting "
     "priority 2147483647; policy accept;\n    ct status confirmed drop\n  }\n}\n", 0),
]  # fmt: skip


topo = topology_fixture(TOPO)


@pytest.mark.parametrize(("script", "decided"), CASES)
def test_ct_status_is_the_kernels(topo: Topology, script: str, decided: int) -> None:
    listed = topo.load_nft(NAT + script)
    decisions = compare_decided(topo, (parse_nft(listed, "nft.json"),), FLOWS, script)
    assert sum(d.verdict is not Verdict.UNKNOWN for d in decisions) == decided, [
        (d.verdict.value, d.reason) for d in decisions
    ]
