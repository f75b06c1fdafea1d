"""PAN-OS evaluator scale benchmark (issue 22, item 6): a firewall configuration of R security
rules and 20,000 objects (address objects, static address groups, services) in one vsys with
six layer-3 zones, against F flows. Each measurement runs in a fresh process so its peak RSS
is its own; the time covers reading the XML (defusedxml), building the policy and judging
every flow. No traffic is sent: the addresses are data (RFC 2544 range 198.18.0.0/15).

    .venv/bin/python bench/panos_scale.py                 # the issue's size, 3 runs
    .venv/bin/python bench/panos_scale.py --sweep         # flows and rules halved and doubled
    .venv/bin/python bench/panos_scale.py --proof 10000 1000   # the change proven (rules)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZONES = 6
PORTS = (22, 53, 88, 123, 389, 443, 636, 1812, 3268, 3269, 8080, 8443)
ADDRESSES, GROUPS, SERVICES = 18_000, 1_500, 500  # 20,000 objects


def _host(rng: random.Random) -> str:
    n = rng.randrange(1 << 17)
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def _members(tag: str, items: list[str]) -> str:
    return f"<{tag}>" + "".join(f"<member>{i}</member>" for i in items) + f"</{tag}>"


def build(rules: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = ['<config version="10.1.0"><devices><entry name="localhost.localdomain"><network>']
    out.append("<interface><ethernet>")
    for z in range(ZONES):
        # zone z: 198.18.0.0/15 cut in six, by the third octet
        address = f"198.{18 + z % 2}.{z * 40}.1/19"
        out.append(f'<entry name="ethernet1/{z + 1}"><layer3><ip><entry name="{address}"/>'
                   "</ip></layer3></entry>")  # fmt: skip
    out.append('</ethernet></interface><virtual-router><entry name="default"><interface>')
    out += [f"<member>ethernet1/{z + 1}</member>" for z in range(ZONES)]
    out.append("</interface><routing-table><ip><static-route>")
    out.append('<entry name="default"><nexthop><ip-address>198.18.0.254</ip-address></nexthop>'
               "<destination>0.0.0.0/0</destination></entry>")  # fmt: skip
    out.append("</static-route></ip></routing-table></entry></virtual-router></network>")
    out.append('<vsys><entry name="vsys1"><zone>')
    for z in range(ZONES):
        out.append(f'<entry name="z{z}"><network><layer3><member>ethernet1/{z + 1}</member>'
                   "</layer3></network></entry>")  # fmt: skip
    out.append("</zone><address>")
    for a in range(ADDRESSES):
        value = _host(rng) if a % 5 else _host(rng).rsplit(".", 1)[0] + ".0/24"
        out.append(f'<entry name="a{a}"><ip-netmask>{value}</ip-netmask></entry>')
    out.append("</address><address-group>")
    for g in range(GROUPS):
        members = [f"a{rng.randrange(ADDRESSES)}" for _ in range(8)]
        out.append(f'<entry name="g{g}">{_members("static", members)}</entry>')
    out.append("</address-group><service>")
    for s in range(SERVICES):
        proto, port = rng.choice(("tcp", "udp")), rng.choice(PORTS)
        out.append(f'<entry name="s{s}"><protocol><{proto}><port>{port},{port + s % 7}</port>'
                   f"</{proto}></protocol></entry>")  # fmt: skip
    out.append("</service><rulebase><security><rules>")
    for r in range(rules):
        out.append(_rule(rng, r))
    out.append("</rules></security></rulebase></entry></vsys></entry></devices></config>")
    return "\n".join(out) + "\n"


def _rule(rng: random.Random, r: int) -> str:
    def addresses() -> list[str]:
        kind = rng.randrange(10)
        if kind == 0:
            return ["any"]
        if kind < 4:
            return [f"g{rng.randrange(GROUPS)}"]
        return [f"a{rng.randrange(ADDRESSES)}" for _ in range(rng.randrange(1, 4))]

    zones = lambda: [rng.choice([f"z{z}" for z in range(ZONES)] + ["any"])]  # noqa: E731
    app, service = ["any"], [f"s{rng.randrange(SERVICES)}"]
    if r % 10 == 0:
        app, service = [rng.choice(("ldap", "dns", "ssl", "ntp"))], ["application-default"]
    action = rng.choice(("allow",) * 6 + ("deny", "drop", "reset-client"))
    extra = "<disabled>yes</disabled>" if r % 37 == 0 else ""
    extra += "<negate-source>yes</negate-source>" if r % 53 == 0 else ""
    return (
        f'<entry name="rule-{r}">{_members("from", zones())}{_members("to", zones())}'
        f"{_members('source', addresses())}{_members('destination', addresses())}"
        f"{_members('application', app)}{_members('service', service)}"
        f"<action>{action}</action>{extra}</entry>"
    )


def flows(count: int, seed: int = 11) -> list[object]:
    from netaddr import IPAddress

    from auditor.model.inventory import Check, FailoverState, Flow, Protocol, Role

    rng = random.Random(seed)
    out: list[object] = []
    for _ in range(count):
        proto = rng.choice(("tcp", "udp"))
        out.append(Flow(IPAddress(_host(rng)), IPAddress(_host(rng)), Protocol(proto),
                        rng.choice(PORTS), ("p",), "ldaps", (Check(proto),),
                        frozenset({"a"}), frozenset({FailoverState.PRIMARY_ACTIVE}),
                        Role.UNIQUE, "x"))  # fmt: skip
    return out


def measure(rules: int, flow_count: int) -> dict[str, object]:
    """In this process: write the file, then time read + build + judge every flow."""
    from auditor.policy.panos.flows import judge_flows, read_policy
    from auditor.policy.panos.read import Selection

    text = build(rules)
    wanted = flows(flow_count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "running-config.xml")
        path.write_text(text)
        start, cpu0 = time.perf_counter(), time.process_time()
        _, policy = read_policy([path], Selection())
        parsed, cpu1 = time.perf_counter(), time.process_time()
        evaluations = judge_flows(policy, wanted)  # type: ignore[arg-type]
        done, cpu2 = time.perf_counter(), time.process_time()
    verdicts: dict[str, int] = {}
    for e in evaluations:
        verdicts[e.verdict.value] = verdicts.get(e.verdict.value, 0) + 1
    return {
        "rules": rules,
        "flows": flow_count,
        "bytes": len(text),
        "read_s": parsed - start,
        "judge_s": done - parsed,
        "total_s": done - start,
        "read_cpu_s": cpu1 - cpu0,
        "judge_cpu_s": cpu2 - cpu1,
        "cpu_s": cpu2 - cpu0,
        "load": os.getloadavg()[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "verdicts": verdicts,
    }


def measure_proof(rules: int, flow_count: int) -> dict[str, object]:
    """The proof `rules` makes: a 10-rule change (set/move commands) applied to a copy of the
    parsed configuration, the policy built again, every flow and its neighbours judged."""
    from auditor.policy.evidence import firewall_evidence
    from auditor.policy.panos.proof import PanosEvidence

    text = build(rules)
    wanted = flows(flow_count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "running-config.xml")
        path.write_text(text)
        evidence = firewall_evidence(
            wanted, ruleset=[path], ipset=[], ruleset_hook="FORWARD",  # type: ignore[arg-type]
            in_interface=None, out_interface=None,
        )  # fmt: skip
        assert isinstance(evidence, PanosEvidence)
        placement = evidence.placement()
        before = f" before {placement.rule.ref}" if placement.rule else " top"
        change = "\n".join(
            f"set rulebase security rules change-{n} from any to any source a{n} destination "
            f"a{n + 1} application any service s{n} action allow\n"
            f"move rulebase security rules change-{n}{before}"
            for n in range(10)
        )
        start, cpu0 = time.perf_counter(), time.process_time()
        proof = evidence.prove(change, placement)
        done, cpu1 = time.perf_counter(), time.process_time()
    return {
        "rules": rules,
        "flows": flow_count,
        "neighbours": proof.neighbours,
        "prove_s": done - start,
        "prove_cpu_s": cpu1 - cpu0,
        "load": os.getloadavg()[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh(rules: int, flow_count: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(rules), str(flow_count)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--proof", nargs=2, type=int, metavar=("RULES", "FLOWS"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one)))
        return 0
    if args.proof:
        print(json.dumps(measure_proof(*args.proof)))
        return 0
    sizes = [(10_000, 10_000)]
    if args.sweep:
        sizes = [(10_000, f) for f in (5_000, 10_000, 20_000)] + [(5_000, 10_000), (20_000, 10_000)]
    for rules, count in sizes:
        runs = [fresh(rules, count) for _ in range(args.runs)]
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("read_s", "judge_s", "total_s", "cpu_s", "peak_rss_mb", "load")
        }
        print(f"rules={rules:>6} flows={count:>6} bytes={runs[0]['bytes']} "
              f"read={med['read_s']:.2f}s judge={med['judge_s']:.2f}s total={med['total_s']:.2f}s "
              f"cpu={med['cpu_s']:.2f}s load={med['load']:.1f} "
              f"peak_rss={med['peak_rss_mb']:.0f}MB verdicts={runs[0]['verdicts']}",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
