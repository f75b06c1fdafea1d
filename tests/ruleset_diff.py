"""One differential check: load a ruleset into the router, read back what the kernel holds,
evaluate every flow with the auditor, send every flow for real, compare flow by flow."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from netaddr import IPAddress
from ruleset_gen import Flow
from ruleset_kernel import ROUTER_IN, ROUTER_OUT, Probe, Topology, probe_input, probe_output

from auditor.ruleset import Hook, Packet, Verdict, evaluate
from auditor.ruleset.ipset import parse_ipset
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Decision, Ruleset, Site
from auditor.ruleset.nft import parse_nft
from auditor.ruleset.site import read_site

# The router's own addresses with their prefixes (as `ip -j addr` would say): addrtype.
ROUTER_SITE = read_site(
    ["192.0.2.1/24", "198.51.100.1/24", "203.0.113.1/24", "2001:db8:c::1/64", "2001:db8:5::1/64",
     "127.0.0.1/8", "::1/128"], None
)  # fmt: skip


def expected(decision: Decision) -> str:
    if decision.verdict is Verdict.ADMITTED:
        return "arrived"
    if decision.verdict is Verdict.DENIED:
        if " or " in decision.action:
            return "rejected or dropped"  # equal-priority base chains: either, as the kernel likes
        return "rejected" if decision.action.startswith("reject") else "dropped"
    return f"unknown: {decision.reason}"


def compare(topo: Topology, rulesets: Sequence[Ruleset], flows: Sequence[Flow], shown: str,
            hook: Hook = Hook.FORWARD) -> None:  # fmt: skip
    flows = [on_hook(f, hook) for f in flows]
    probes = [Probe(f.source, f.destination, f.protocol, f.dport, topo.next_sport()) for f in flows]
    packets = [
        Packet(
            version=IPAddress(p.source).version,
            source=int(IPAddress(p.source)),
            destination=int(IPAddress(p.destination)),
            protocol=p.protocol,
            dport=p.dport,
            sport=p.sport,
            in_interface=topo.in_if if hook is not Hook.OUTPUT else None,
            out_interface=topo.out_if if hook is not Hook.INPUT else None,
            site=ROUTER_SITE,
        )
        for p in probes
    ]
    decisions = evaluate(rulesets, packets, hook)
    sender = {Hook.FORWARD: topo.probe, Hook.INPUT: lambda ps: probe_input(topo, ps),
              Hook.OUTPUT: lambda ps: probe_output(topo, ps)}[hook]  # fmt: skip
    kernel = sender(probes)
    wrong = [
        f"{p.protocol} {p.source}:{p.sport} -> {p.destination}:{p.dport}: kernel {k}, "
        f"auditor {expected(d)} ({d.rule.text if d.rule else '-'}; {' > '.join(d.path)})"
        for p, d, k in zip(probes, decisions, kernel, strict=True)
        if k not in expected(d).split(" or ")
        # a listing with no filter chain of the flow's family on the hook: the kernel lets the
        # flow pass, but a partial listing reads the same, so unknown is the honest answer
        and not (k == "arrived" and "no base chain of type filter on the" in d.reason)
        # the router's own reject reply goes back through its own OUTPUT chains, which may
        # drop it: on OUTPUT a reject is denied either way
        and not (hook is Hook.OUTPUT and expected(d) == "rejected" and k == "dropped")
    ]
    assert not wrong, "\n".join([*wrong, "--- ruleset as the kernel holds it:", shown])


def on_hook(flow: Flow, hook: Hook) -> Flow:
    """The flow as the hook sees it: INPUT to the router's own address, OUTPUT from it."""
    version = 6 if ":" in flow.source else 4
    if hook is Hook.INPUT:
        return Flow(flow.source, ROUTER_IN[version], flow.protocol, flow.dport)
    if hook is Hook.OUTPUT:
        return Flow(ROUTER_OUT[version], flow.destination, flow.protocol, flow.dport)
    return flow


def check_iptables(topo: Topology, example: tuple[str, str, str], flows: Sequence[Flow],
                   hook: Hook = Hook.FORWARD) -> None:  # fmt: skip
    v4, v6, sets_text = topo.load_iptables(*example)
    sets = parse_ipset(sets_text, "ipset")
    rulesets = (*parse_iptables(v4, "v4", sets), *parse_iptables(v6, "v6", sets))
    compare(topo, rulesets, flows, f"{sets_text}{v4}{v6}", hook)


def check_nft(
    topo: Topology, script: str, flows: Sequence[Flow], hook: Hook = Hook.FORWARD
) -> None:
    plain = script.replace("  flags dormant;\n", "")
    if plain != script:  # nft 1.0.6 may cut its listing short at a dormant table's flags
        listed = topo.load_nft(plain)
        topo.load_nft(script)
    else:
        listed = topo.load_nft(script)
    listed = as_later_nft_lists(listed, script)
    compare(topo, (parse_nft(listed, "nft.json"),), flows, script, hook)


def as_later_nft_lists(listed: str, script: str) -> str:
    """nft 1.0.6 (this machine's, Debian 12's) lists a table's single flag as garbage (a
    use-after-free in table_flags_json; the listing may end there) and leaves out the device
    of a netdev chain; later versions list both. The listing is taken without the flag and
    what later versions list is put back from the script that was loaded (the evaluator
    reads a garbled flag as `may be dormant`, unknown: test_ruleset_path.py)."""
    dormant = set(re.findall(r"table (\w+) (\w+) \{\n  flags dormant;", script))
    devices = dict(re.findall(r"chain (\w+) \{\n    type filter hook ingress device (\w+)", script))
    document = json.loads(listed)
    for item in document["nftables"]:
        table, chain = item.get("table"), item.get("chain")
        if table and (table["family"], table["name"]) in dormant:
            table["flags"] = "dormant"
        if chain and chain.get("hook") == "ingress" and "dev" not in chain:
            chain["dev"] = devices[chain["name"]]
    return json.dumps(document)


def compare_decided(topo: Topology, rulesets: Sequence[Ruleset], flows: Sequence[Flow],
                    shown: str, hook: Hook = Hook.FORWARD,
                    site: Site | None = ROUTER_SITE) -> list[Decision]:  # fmt: skip
    """Send every flow (to the router's own address on INPUT) and compare the verdicts the
    evaluator gives; an unknown claims nothing and is left out. The decisions, in order."""
    flows = [on_hook(f, hook) for f in flows]
    probes = [Probe(f.source, f.destination, f.protocol, f.dport, topo.next_sport()) for f in flows]
    out_if = topo.out_if if hook is Hook.FORWARD else None
    packets = [Packet(IPAddress(p.source).version, int(IPAddress(p.source)),
                      int(IPAddress(p.destination)), p.protocol, p.dport, p.sport, topo.in_if,
                      out_if, site=site) for p in probes]  # fmt: skip
    decisions = evaluate(rulesets, packets, hook)
    kernel = topo.probe(probes) if hook is Hook.FORWARD else probe_input(topo, probes)
    wrong = [
        f"{p.protocol} {p.source} -> {p.destination}:{p.dport}: kernel {k}, auditor "
        f"{expected(d)} ({d.rule.text if d.rule else '-'})"
        for p, d, k in zip(probes, decisions, kernel, strict=True)
        if d.verdict is not Verdict.UNKNOWN and k not in expected(d).split(" or ")
    ]
    assert not wrong, "\n".join([*wrong, "--- ruleset as the kernel holds it:", shown])
    return decisions
