"""One differential check: load a ruleset into the router, read back what the kernel holds,
evaluate every flow with the auditor, send every flow for real, compare flow by flow."""

from __future__ import annotations

from collections.abc import Sequence

from netaddr import IPAddress
from ruleset_gen import Flow
from ruleset_kernel import Probe, Topology

from auditor.ruleset import Hook, Packet, Verdict, evaluate
from auditor.ruleset.ipset import parse_ipset
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Decision, Ruleset
from auditor.ruleset.nft import parse_nft


def expected(decision: Decision) -> str:
    if decision.verdict is Verdict.ADMITTED:
        return "arrived"
    if decision.verdict is Verdict.DENIED:
        if " or " in decision.action:
            return "rejected or dropped"  # equal-priority base chains: either, as the kernel likes
        return "rejected" if decision.action.startswith("reject") else "dropped"
    return f"unknown: {decision.reason}"


def compare(topo: Topology, rulesets: Sequence[Ruleset], flows: Sequence[Flow], shown: str) -> None:
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
        )
        for p in probes
    ]
    decisions = evaluate(rulesets, packets, Hook.FORWARD)
    kernel = topo.probe(probes)
    wrong = [
        f"{p.protocol} {p.source}:{p.sport} -> {p.destination}:{p.dport}: kernel {k}, "
        f"auditor {expected(d)} ({d.rule.text if d.rule else '-'}; {' > '.join(d.path)})"
        for p, d, k in zip(probes, decisions, kernel, strict=True)
        if k not in expected(d).split(" or ")
    ]
    assert not wrong, "\n".join([*wrong, "--- ruleset as the kernel holds it:", shown])


def check_iptables(topo: Topology, example: tuple[str, str, str], flows: Sequence[Flow]) -> None:
    v4, v6, sets_text = topo.load_iptables(*example)
    sets = parse_ipset(sets_text, "ipset")
    rulesets = (*parse_iptables(v4, "v4", sets), *parse_iptables(v6, "v6", sets))
    compare(topo, rulesets, flows, f"{sets_text}{v4}{v6}")


def check_nft(topo: Topology, script: str, flows: Sequence[Flow]) -> None:
    listed = topo.load_nft(script)
    compare(topo, (parse_nft(listed, "nft.json"),), flows, script)
