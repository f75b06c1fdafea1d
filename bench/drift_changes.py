"""Drift between two runs (`history.drift.changes`): the join of their records, certificates and
addresses, in plain Python since issue 19 (it was pandas). Two synthetic runs of N flows with
three checks each, a fifth of the statuses changed; no traffic, no store.

    .venv/bin/python bench/drift_changes.py                     # 1,000, 10,000, 50,000 flows
    .venv/bin/python bench/drift_changes.py --reference OLD.py  # beside another drift.py

`--reference` loads another version of auditor/history/drift.py (for example
`git show d2e8677~1:auditor/history/drift.py > /tmp/drift_pandas.py`, the pandas one) and
measures it on the same runs, after checking that both give the same items. Medians of
`--runs` (default 5): wall and CPU (user+sys of this process) in ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from auditor.flows.prepare import prepare
from auditor.history import drift
from auditor.model.record import CertInfo, ProbeRecord, Status

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("tcp", "tls", "ldap-bind")


def records(flows: int, seed: int) -> tuple[ProbeRecord, ...]:
    rnd = random.Random(seed)
    out = []
    for n in range(flows):
        source = f"198.51.100.{10 + n % 3}"
        destination = f"203.0.{113 if n % 2 else 112}.{n % 250 + 1}"
        port = 1024 + n // 500
        for check in CHECKS:
            status = Status.OPEN if check == "tcp" else Status.TLS_OK
            if check == "ldap-bind":
                status = Status.BIND_OK
            if rnd.random() < 0.2:
                status = rnd.choice(list(Status))
            cert = None
            if check == "tls":
                days = rnd.randint(-3, 90)
                cert = CertInfo("CN=x", rnd.choice(("CN=ca1", "CN=ca2")), "2027-01-01", (), days)
            out.append(
                ProbeRecord(
                    source, destination, "tcp", port, f"p{n % 40}", check, status, cert=cert
                )
            )
    return tuple(out)


def observation(flows: int, seed: int) -> drift.Observation:
    inventory = prepare(ROOT / "examples" / "pair.yaml", resolve=False).inventory
    if seed % 2:  # the other run: the shared IP moved
        primary, backup = inventory.pair.primary, inventory.pair.backup
        flip = tuple(
            replace(a, enabled=not a.enabled) if a.role.value == "shared" else a
            for a in primary.addresses
        )
        flop = tuple(
            replace(a, enabled=not a.enabled) if a.role.value == "shared" else a
            for a in backup.addresses
        )
        pair = replace(
            inventory.pair,
            primary=replace(primary, addresses=flip),
            backup=replace(backup, addresses=flop),
        )
        inventory = replace(inventory, pair=pair)
    return drift.Observation(inventory, records(flows, seed))


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_reference"] = module
    spec.loader.exec_module(module)
    return module


def median_ms(work: Callable[[], Any], runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, action="append")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", type=Path)
    args = parser.parse_args()
    reference = load(args.reference) if args.reference else None
    head = "| flows | records | items | drift ms (cpu) |"
    print(head + (" reference ms (cpu) |" if reference else ""))
    print("|---:|---:|---:|---:|" + ("---:|" if reference else ""))
    for flows in args.flows or (1000, 10000, 50000):
        before, after = observation(flows, 0), observation(flows, 1)
        items = drift.changes(before, after)
        wall, cpu = median_ms(lambda b=before, a=after: drift.changes(b, a), args.runs)
        row = f"| {flows} | {len(after.records)} | {len(items)} | {wall:.0f} ({cpu:.0f}) |"
        if reference is not None:
            theirs = reference.changes(before, after)
            assert [i.to_json() for i in theirs] == [i.to_json() for i in items], "items differ"
            ref_wall, ref_cpu = median_ms(
                lambda b=before, a=after: reference.changes(b, a), args.runs
            )
            row += f" {ref_wall:.0f} ({ref_cpu:.0f}) |"
        print(row)


if __name__ == "__main__":
    main()
