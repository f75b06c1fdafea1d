"""nft sets at scale (issue 18, item 5): an `nft -j list ruleset` document whose rules look up
a named set of N elements, against F flows. Two shapes: an interval set (`ipv4_addr`,
`flags interval`: N prefixes) and a concatenation (`ipv4_addr . inet_service`,
`flags interval`: N elements, a quarter a prefix and a port, the rest an address and a port
range, so the listing stays under the 64 MiB input limit). Each measurement runs in a fresh
process (its own peak RSS, VmHWM; the listing is built before, by the parent) and times reading the
file plus evaluating every flow, wall and CPU
(user + system: the figure to compare on a shared machine), with the load average. No traffic:
the addresses are data (10.0.0.0/8 and the benchmarking range 198.18.0.0/15).

    .venv/bin/python bench/ruleset_sets.py                       # 1,000,000 elements, 3 runs
    .venv/bin/python bench/ruleset_sets.py --elements 100000 --runs 1
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


def _addr(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def build(shape: str, elements: int, seed: int = 5) -> str:
    """The document: table inet fw, forward policy drop, the set, two rules using it."""
    rng = random.Random(seed)
    step = (1 << 24) // elements  # spread over 10.0.0.0/8, no overlap
    length = 32 - max(0, (step.bit_length() - 1))
    items: list[object] = []
    if shape == "interval":
        for i in range(elements):
            items.append({"prefix": {"addr": _addr(i * step), "len": length}})
        set_type: object = "ipv4_addr"
        key: object = {"payload": {"protocol": "ip", "field": "daddr"}}
    else:
        for i in range(elements):
            low = rng.randrange(1, 60000)
            if i % 4 == 0:  # a prefix and one port; else one address and a port range
                first: object = {"prefix": {"addr": _addr(i * step), "len": length}}
                items.append({"concat": [first, low]})
            else:
                ports = {"range": [low, low + rng.randrange(0, 100)]}
                items.append({"concat": [_addr(i * step), ports]})
        set_type = ["ipv4_addr", "inet_service"]
        key = {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}},
                          {"payload": {"protocol": "th", "field": "dport"}}]}  # fmt: skip
    doc = {"nftables": [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "fw", "handle": 1}},
        {"set": {"family": "inet", "name": "big", "table": "fw", "type": set_type, "handle": 2,
                 "flags": ["interval"], "elem": items}},
        {"chain": {"family": "inet", "table": "fw", "name": "forward", "handle": 3,
                   "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "fw", "chain": "forward", "handle": 4, "expr": [
            {"match": {"op": "in", "left": {"ct": {"key": "state"}},
                       "right": ["established", "related"]}}, {"accept": None}]}},
        {"rule": {"family": "inet", "table": "fw", "chain": "forward", "handle": 5, "expr": [
            {"match": {"op": "==", "left": key, "right": "@big"}}, {"accept": None}]}},
        {"rule": {"family": "inet", "table": "fw", "chain": "forward", "handle": 6, "expr": [
            {"match": {"op": "!=", "left": key, "right": "@big"}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                       "right": 22}}, {"reject": None}]}},
    ]}  # fmt: skip
    return json.dumps(doc)  # one line, as `nft -j list ruleset` writes it


def flows(count: int, elements: int, seed: int = 9) -> list[tuple[str, str, str, int]]:
    """Half the flows go to addresses the set holds (the others may miss its port ranges)."""
    rng = random.Random(seed)
    step = (1 << 24) // elements
    out = []
    for n in range(count):
        src = f"198.18.{(n >> 8) & 255}.{n & 255}"
        dst = _addr(rng.randrange(elements) * step) if n % 2 else f"198.19.{n & 255}.1"
        out.append((src, dst, rng.choice(("tcp", "udp")), rng.randrange(1, 60100)))
    return out


def measure(shape: str, elements: int, flow_count: int, path: Path) -> dict[str, object]:
    """Read the listing at `path` and evaluate the flows (in this process: its peak RSS)."""
    from netaddr import IPAddress

    from auditor.ruleset import Hook, Packet, evaluate, read_rulesets

    packets = [
        Packet(4, int(IPAddress(s)), int(IPAddress(d)), p, port)
        for s, d, p, port in flows(flow_count, elements)
    ]
    start, cpu_start = time.perf_counter(), _cpu()
    rulesets = read_rulesets([path])
    parsed, cpu_parsed = time.perf_counter(), _cpu()
    decisions = evaluate(rulesets, packets, Hook.FORWARD)
    done, cpu_done = time.perf_counter(), _cpu()
    verdicts: dict[str, int] = {}
    for d in decisions:
        verdicts[d.verdict.value] = verdicts.get(d.verdict.value, 0) + 1
    return {
        "shape": shape,
        "elements": elements,
        "flows": flow_count,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "read_s": parsed - start,
        "evaluate_s": done - parsed,
        "total_s": done - start,
        "read_cpu_s": cpu_parsed - cpu_start,
        "total_cpu_s": cpu_done - cpu_start,
        "load": Path("/proc/loadavg").read_text().split()[0],
        "peak_rss_mb": _peak_rss_mb(),
        "verdicts": verdicts,
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started: VmHWM (ru_maxrss keeps the peak of the process
    that forked it, the parent holding the listing it built)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds (user + system) of this process: beside the wall time on a shared machine."""
    times = os.times()
    return times.user + times.system


def fresh(shape: str, elements: int, flow_count: int, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", shape, str(elements), str(flow_count), str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default="interval,concat")
    parser.add_argument("--one", nargs=4, metavar=("SHAPE", "ELEMENTS", "FLOWS", "PATH"))
    args = parser.parse_args()
    if args.one:
        shape, elements, flow_count, path = args.one
        print(json.dumps(measure(shape, int(elements), int(flow_count), Path(path))))
        return
    for shape in args.shapes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "ruleset.json")
            path.write_text(build(shape, args.elements))  # built here: not in the measured RSS
            runs = [fresh(shape, args.elements, args.flows, path) for _ in range(args.runs)]
        row = {k: statistics.median(float(r[k]) for r in runs)  # type: ignore[arg-type]
               for k in ("read_s", "evaluate_s", "total_s", "read_cpu_s", "total_cpu_s",
                         "peak_rss_mb")}  # fmt: skip
        row["loads"] = [r["load"] for r in runs]  # type: ignore[assignment]
        print(json.dumps({**runs[0], **row, "runs": args.runs}))


if __name__ == "__main__":
    main()
