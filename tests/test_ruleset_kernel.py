"""The evaluator against the kernel itself: hypothesis generates rulesets, the router
namespace runs them, every flow is sent for real, and the two must agree flow by flow
(admitted = its first packet reached the server; denied = rejected or dropped, as said)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from ruleset_diff import check_iptables, check_nft
from ruleset_gen import Flow, flows, iptables_example, nft_example
from ruleset_kernel import Probe, Topology

pytestmark = pytest.mark.lab
TOPO = Topology("t")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)


@pytest.fixture(scope="module")
def topo() -> Iterator[Topology]:
    TOPO.up()
    try:
        yield TOPO
    finally:
        TOPO.down()


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
