"""Planner + renderer scale benchmark (issue 4): 64 sources x N endpoints x 6 ports, half of the
flows missing, planned and rendered in every format. Each measurement runs in a fresh process so
its peak RSS is its own. No traffic is sent: the addresses are data (endpoints come from the
RFC 2544 benchmarking range 198.18.0.0/15, sources from 198.51.100.64/26).

    .venv/bin/python bench/plan_scale.py                    # 4 sizes, 3 runs each, medians
    .venv/bin/python bench/plan_scale.py --endpoints 2000 --runs 5 --pattern random
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

PORTS = (88, 389, 464, 636, 3268, 3269)
SIZES = (250, 500, 1000, 2000)


def build(endpoints: int, pattern: str):
    import random

    from netaddr import IPAddress

    from auditor.model.inventory import BOTH_STATES, Check, Flow, Protocol, Role
    from auditor.model.record import ProbeRecord, Status

    sources = [IPAddress(int(IPAddress("198.51.100.64")) + i) for i in range(64)]
    dests = [IPAddress(int(IPAddress("198.18.0.0")) + i) for i in range(endpoints)]
    src_text = [str(s) for s in sources]
    dst_text = [str(d) for d in dests]
    rng = random.Random(1)
    checks = (Check.TCP,)
    appliances = frozenset({"site1"})
    flows = []
    records = []
    for di, dest in enumerate(dests):
        provider = (f"ad-{di % 50}",)
        for si, src in enumerate(sources):
            for port in PORTS:
                flows.append(
                    Flow(
                        src,
                        dest,
                        Protocol.TCP,
                        port,
                        provider,
                        "ldaps",
                        checks,
                        appliances,
                        BOTH_STATES,
                        Role.UNIQUE,
                        dst_text[di],
                    )
                )
                if pattern == "endpoints":
                    blocked = di % 2 == 0
                elif pattern == "sources":
                    blocked = si >= 32
                else:
                    blocked = rng.random() < 0.5
                records.append(
                    ProbeRecord(
                        src_text[si],
                        dst_text[di],
                        "tcp",
                        port,
                        provider[0],
                        "tcp",
                        Status.FILTERED if blocked else Status.OPEN,
                    )
                )
    return flows, records


def measure(endpoints: int, pattern: str) -> dict[str, float]:
    from auditor.plan import make_plan
    from auditor.render import OutputFormat, RenderOptions, render

    t0 = time.perf_counter()
    flows, records = build(endpoints, pattern)
    t1 = time.perf_counter()
    plan = make_plan(flows, records, site="bench.example.com")
    t2 = time.perf_counter()
    size = 0
    for fmt in OutputFormat:
        size += sum(len(t) for t in render(fmt, plan, RenderOptions()).values())
    t3 = time.perf_counter()
    return {
        "flows": len(flows),
        "missing": plan.counts.missing,
        "rules": len(plan.rules),
        "build_s": t1 - t0,
        "plan_s": t2 - t1,
        "render_s": t3 - t2,
        "plan_render_s": t3 - t1,
        "output_bytes": size,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pattern", choices=["endpoints", "sources", "random"], default="endpoints"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.pattern)))
        return
    print(f"pattern={args.pattern} runs={args.runs} (medians; each run a fresh process)")
    print(
        f"{'flows':>8} {'missing':>8} {'rules':>6} {'plan s':>7} {'render s':>8} "
        f"{'plan+render s':>13} {'us/flow':>7} {'peak MiB':>8}"
    )
    for n in args.endpoints:
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--pattern", args.pattern],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{int(med['flows']):>8} {int(med['missing']):>8} {int(med['rules']):>6} "
            f"{med['plan_s']:>7.2f} {med['render_s']:>8.2f} {med['plan_render_s']:>13.2f} "
            f"{med['plan_render_s'] / med['flows'] * 1e6:>7.2f} {med['peak_rss_mib']:>8.0f}"
        )


if __name__ == "__main__":
    main()
