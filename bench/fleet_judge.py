"""The fleet host's own CPU per pair (issue 23, item 7), without SSH or probe hosts: PAIRS
copies of examples/pair.yaml at one site with a probe host, read and checked (`ready_fleet`),
then each judged on a probe host's answer made here (`not-local`: none of its addresses is on
this host) by `judge_pair`, as a fleet's worker does: the report folder written, the run
recorded in a new SQLite store through one kept connection. CPU time (user+sys of this
process; the reading's also of the helper processes that read pairs with it), medians of
ROUNDS; and what creating one file costs here, before and after (see bench/file_cost.py: on
this VM it is most of the spread between runs).

    .venv/bin/python bench/fleet_judge.py --pairs 40 --rounds 5
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIR = ROOT / "examples" / "pair.yaml"


def fleet_file(work: Path, pairs: int) -> Path:
    (work / "pairs").mkdir()
    (work / "key").write_text("unused: nothing connects\n")
    (work / "known_hosts").write_text("")
    text = PAIR.read_text()
    lines = ["sites:", "  - name: site00", "    probe_host: ssh://root@127.0.0.1:1",
             f"    ssh_key: {work / 'key'}", f"    known_hosts: {work / 'known_hosts'}",
             "    pairs:"]  # fmt: skip
    for p in range(pairs):
        name = f"site00-pair{p:02d}.example.com"
        (work / "pairs" / f"p{p:02d}.yaml").write_text(
            text.replace("name: support.example.com", f"name: {name}")
        )
        lines.append(f"      - inventory: pairs/p{p:02d}.yaml")
    path = work / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu() -> float:
    """CPU (user + system, s) of this process and of its ended children (the helpers that
    read a fleet's pairs with it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AUDITOR_BIND_PASSWORD", "unused-nothing-is-local")
    from file_cost import file_creation_ms

    from auditor.fleet import run as fleet_run
    from auditor.fleet.ssh import RemoteAnswer
    from auditor.history.location import sqlite_location
    from auditor.model.results import results_to_json
    from auditor.probe.bundle import probe_pair, read_bundle, site_bundle

    work = Path(tempfile.mkdtemp(prefix="fa-bench-judge-"))
    load = os.getloadavg()[0]
    ready_ms: list[float] = []
    judge_ms: list[float] = []
    try:
        fleet = fleet_file(work, args.pairs)
        files_before = file_creation_ms(work)
        for r in range(args.rounds + 1):  # the first round warms up (imports, templates)
            request = fleet_run.FleetRequest(
                fleet, output_dir=work / f"out{r}", store=sqlite_location(work / f"h{r}.sqlite"),
                probe=fleet_run.ProbeOptions(timeout=1),
            )  # fmt: skip
            started = cpu()
            ready = fleet_run.ready_fleet(request)  # 64 pairs or more: with helper processes
            readied = cpu() - started
            fleet_run.worker_store(ready.store)  # as a worker: one connection for its pairs
            parts = [p.bundle for p in ready.pairs if p.bundle is not None]
            bundle = read_bundle(io.BytesIO(site_bundle(parts)))
            answers = {
                b.name: RemoteAnswer(
                    json.dumps(results_to_json(probe_pair(b)), indent=2) + "\n", 1, ""
                )
                for b in bundle.pairs
            }
            started = time.process_time()
            for pair in ready.pairs:
                fleet_run.judge_pair(ready, pair, answers[pair.name], lambda: datetime.now(UTC))
            judged = time.process_time() - started
            ready.store.dispose()
            if r:
                ready_ms.append(readied / args.pairs * 1000)
                judge_ms.append(judged / args.pairs * 1000)
        print(f"{args.pairs} pairs, {args.rounds} rounds: ready_fleet "
              f"{statistics.median(ready_ms):.1f} ms CPU a pair, judge_pair "
              f"{statistics.median(judge_ms):.1f} ms CPU a pair; load average {load:.1f} at the "
              f"start, {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
        after = file_creation_ms(work / "out1")
        print(f"creating a file here: {files_before:.2f} ms CPU before the rounds, "
              f"{after:.2f} ms after (a pair's folder has 31)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
