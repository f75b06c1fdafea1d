"""Evaluator scale benchmark (issue 10, item 7): an iptables-save of R rules in 50 user chains
with 5 ipsets of 10,000 entries each, against F flows. Each measurement runs in a fresh process
so its peak RSS is its own; the time covers reading the files and evaluating every flow.
No traffic is sent: the addresses are data (RFC 2544 benchmarking range 198.18.0.0/15 and
documentation ranges).

    .venv/bin/python bench/ruleset_scale.py                       # the issue's size, 3 runs
    .venv/bin/python bench/ruleset_scale.py --sweep               # linearity in flows and rules
    .venv/bin/python bench/ruleset_scale.py --large               # 199,900 rules, 20,000 flows
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAINS = 50
SETS = 5
SET_SIZE = 10_000
PORTS = (22, 53, 88, 123, 389, 443, 636, 1812, 3268, 3269, 8080, 8443)


def _host(rng: random.Random) -> str:
    n = rng.randrange(1 << 17)
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def build(rules: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    sets = []
    for s in range(SETS):
        sets.append(f"create set{s} hash:{'ip' if s % 2 else 'net'} family inet maxelem 65536")
        for _ in range(SET_SIZE):
            host = _host(rng)
            sets.append(
                f"add set{s} {host}" if s % 2 else f"add set{s} {host[: host.rfind('.')]}.0/24"
            )
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":C{c} - [0:0]" for c in range(CHAINS)]
    lines.append("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    for c in range(CHAINS):
        lines.append(f"-A FORWARD -s 198.{18 + c % 2}.0.0/16 -j C{c}")
    per_chain = (rules - 1 - CHAINS) // CHAINS
    for c in range(CHAINS):
        for r in range(per_chain):
            lines.append(f"-A C{c} {_rule(rng, r)}")
        lines.append(f"-A C{c} -j RETURN")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", "\n".join(sets) + "\n"


def _rule(rng: random.Random, r: int) -> str:
    port, proto = rng.choice(PORTS), rng.choice(("tcp", "udp"))
    target = rng.choice(("ACCEPT",) * 6 + ("DROP", "REJECT --reject-with icmp-port-unreachable"))
    kind = r % 10
    if kind < 6:
        hosts = f"-s {_host(rng)}/32 -d {_host(rng)}/32"
        return f"{hosts} -p {proto} -m {proto} --dport {port} -j {target}"
    if kind < 8:
        ports = ",".join(str(p) for p in rng.sample(PORTS, 3))
        net = _host(rng).rsplit(".", 1)[0]
        return f"-s {net}.0/24 -p {proto} -m multiport --dports {ports} -j {target}"
    if kind < 9:
        match = f"-m set --match-set set{rng.randrange(SETS)} src"
        return f"-p {proto} {match} -m {proto} --dport {port} -j {target}"
    return f'-d {_host(rng)}/32 -p {proto} -m {proto} --dport {port} -j LOG --log-prefix "x "'


def flows(count: int, seed: int = 11) -> list[tuple[str, str, str, int]]:
    rng = random.Random(seed)
    return [
        (_host(rng), _host(rng), rng.choice(("tcp", "udp")), rng.choice(PORTS))
        for _ in range(count)
    ]


def measure(rules: int, flow_count: int) -> dict[str, float]:
    """In this process: write the files, then time read + evaluate."""
    from netaddr import IPAddress

    from auditor.ruleset import Hook, Packet, evaluate, read_rulesets

    text, sets = build(rules)
    wanted = flows(flow_count)
    with tempfile.TemporaryDirectory() as tmp:
        rules_path, sets_path = Path(tmp, "iptables.save"), Path(tmp, "ipset.save")
        rules_path.write_text(text)
        sets_path.write_text(sets)
        start, cpu_start = time.perf_counter(), time.process_time()
        rulesets = read_rulesets([rules_path], [sets_path])
        parsed, cpu_parsed = time.perf_counter(), time.process_time()
        packets = [
            Packet(4, int(IPAddress(s)), int(IPAddress(d)), p, port) for s, d, p, port in wanted
        ]
        decisions = evaluate(rulesets, packets, Hook.FORWARD)
        done, cpu_done = time.perf_counter(), time.process_time()
    verdicts: dict[str, int] = {}
    for d in decisions:
        verdicts[d.verdict.value] = verdicts.get(d.verdict.value, 0) + 1
    return {
        "rules": rules,
        "flows": flow_count,
        "read_s": parsed - start,
        "evaluate_s": done - parsed,
        "total_s": done - start,
        "read_cpu_s": cpu_parsed - cpu_start,  # user + sys of this process
        "evaluate_cpu_s": cpu_done - cpu_parsed,
        "load": float(Path("/proc/loadavg").read_text().split()[0]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "verdicts": verdicts,  # type: ignore[dict-item]
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
    parser.add_argument("--large", action="store_true", help="199,900 rules, 20,000 flows")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one)))
        return 0
    sizes = [(199_900, 20_000)] if args.large else [(20_000, 10_000)]
    if args.sweep:
        sizes = [(20_000, f) for f in (2_500, 5_000, 10_000, 20_000)]
        sizes += [(r, 10_000) for r in (5_000, 10_000, 40_000)]
    for rules, count in sizes:
        runs = [fresh(rules, count) for _ in range(args.runs)]
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("read_s", "evaluate_s", "total_s", "read_cpu_s", "evaluate_cpu_s",
                      "peak_rss_mb", "load")
        }  # fmt: skip
        print(f"rules={rules:>6} flows={count:>6} read={med['read_s']:.2f}s "
              f"evaluate={med['evaluate_s']:.2f}s total={med['total_s']:.2f}s "
              f"cpu: read={med['read_cpu_s']:.2f}s evaluate={med['evaluate_cpu_s']:.2f}s "
              f"peak_rss={med['peak_rss_mb']:.0f}MB load={med['load']:.1f} "
              f"verdicts={runs[0]['verdicts']}",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
