"""What proving a change costs at the evaluator benchmark's size: the 20,000-rule iptables-save
with 5 ipsets of 10,000 entries (bench/ruleset_scale.py builds it), F required flows, a change
of one exact ACCEPT per missing flow jumped to ahead of the first denying rule; the proof
applies it in memory and evaluates the flows before and after plus their neighbours (port,
protocol and addresses +-1). Each measurement runs in a fresh process (its own peak RSS).

    .venv/bin/python bench/ruleset_proof.py                  # 10,000 flows, 3 runs
    .venv/bin/python bench/ruleset_proof.py --flows 2500 5000 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ruleset_scale import build, flows


def measure(flow_count: int) -> dict[str, object]:
    from netaddr import IPAddress

    from auditor.model.inventory import FailoverState, Flow, Protocol, Role
    from auditor.ruleset import Verdict
    from auditor.ruleset.evidence import ruleset_evidence

    text, sets = build(20_000)
    required = [
        Flow(IPAddress(s), IPAddress(d), Protocol(p), port, ("p",), "bench", (), frozenset(),
             frozenset({FailoverState.PRIMARY_ACTIVE}), Role.UNIQUE, d)
        for s, d, p, port in flows(flow_count)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        rules_path, sets_path = Path(tmp, "iptables.save"), Path(tmp, "ipset.save")
        rules_path.write_text(text)
        sets_path.write_text(sets)
        start, cpu_start = time.perf_counter(), time.process_time()
        evidence = ruleset_evidence(required, ruleset=[rules_path], ipset=[sets_path],
                                    ruleset_hook="FORWARD", in_interface=None,
                                    out_interface=None)  # fmt: skip
        assert evidence is not None
        placed, cpu_placed = time.perf_counter(), time.process_time()
        rss_evidence = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        (placement,) = evidence.placements("filter", "FORWARD", None, None)
        missing = [e.flow for e in evidence.evaluations if e.verdict is not Verdict.ADMITTED]
        change = (
            "*filter\n:CHG - [0:0]\n"
            + "".join(
                f"-A CHG -s {f.source}/32 -d {f.destination}/32 -p {f.protocol} -m {f.protocol} "
                f"--dport {f.port} -j ACCEPT\n"
                for f in missing
            )
            + "COMMIT\n"
        )
        jump = f"*filter\n-I FORWARD {placement.position} -j CHG\nCOMMIT\n"
        cpu_change = time.process_time()
        proof = evidence.prove({"iptables.rules": change, "iptables.jump.rules": jump})
        done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "flows": flow_count,
        "missing": len(missing),
        "neighbours": proof.neighbours,
        "proven": proof.proven,
        "evidence_s": placed - start,
        "prove_s": done - placed,
        "evidence_rss_mb": rss_evidence,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_s": time.process_time(),
        "evidence_cpu_s": cpu_placed - cpu_start,  # user + sys of this process
        "prove_cpu_s": cpu_done - cpu_change,
        "load": float(Path("/proc/loadavg").read_text().split()[0]),
    }


def fresh(flow_count: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(flow_count)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flows", type=int, nargs="+", default=[10_000])
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    for count in args.flows:
        runs = [fresh(count) for _ in range(args.runs)]
        keys = ("evidence_s", "prove_s", "evidence_rss_mb", "peak_rss_mb", "cpu_s")
        keys += ("evidence_cpu_s", "prove_cpu_s", "load")
        med = {k: statistics.median(float(r[k]) for r in runs) for k in keys}  # type: ignore[arg-type]
        first = runs[0]
        print(f"flows={count:>6} missing={first['missing']} neighbours={first['neighbours']} "
              f"proven={first['proven']} read+evaluate={med['evidence_s']:.2f}s "
              f"prove={med['prove_s']:.2f}s cpu={med['cpu_s']:.2f}s "
              f"(read+evaluate {med['evidence_cpu_s']:.2f}s, prove {med['prove_cpu_s']:.2f}s) "
              f"load={med['load']:.1f} "
              f"rss_after_evaluate={med['evidence_rss_mb']:.0f}MB "
              f"peak_rss={med['peak_rss_mb']:.0f}MB",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
