"""Flow derivation from the pair's topology graph (issue 8, item 7): every flow (`pair_topology`
then `flows_from`, as `flows.prepare` derives them), the flows of one failover state, and the
what-if-failover comparison, for a pair with 2 unique + 2 shared IPs and N providers of 5
endpoints each (kinds cycled; IPv4 data only, no traffic is sent).

    .venv/bin/python bench/flows_graph.py                 # 12, 48, 192 providers, 7 runs each
    .venv/bin/python bench/flows_graph.py --providers 96 --runs 11
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from auditor.flows.derive import pair_topology
from auditor.flows.questions import state_flows, what_if_failover
from auditor.flows.topology import flows_from
from auditor.inventory.packs import load_packs
from auditor.model.inventory import (
    Address,
    Appliance,
    FailoverState,
    Inventory,
    Pair,
    Provider,
    Role,
    Side,
    Site,
)

KINDS = ("ldaps", "radius", "kerberos", "dns", "smtp", "ntp")


def inventory(providers: int) -> Inventory:
    def app(name: str, side: Side, own: str, enabled: bool) -> Appliance:
        addresses = [Address(IPNetwork(f"198.51.100.{own}/24"), Role.UNIQUE)]
        addresses += [
            Address(IPNetwork(f"198.51.100.{ip}/24"), Role.SHARED, enabled) for ip in (10, 20)
        ]
        return Appliance(name, side, tuple(addresses))

    base = int(IPAddress("198.18.0.0"))
    return Inventory(
        source=Path("bench.yaml"),
        digest="0" * 64,
        site=Site("bench.example.com"),
        pair=Pair(app("site1", Side.PRIMARY, "11", True), app("site2", Side.BACKUP, "12", False)),
        providers=tuple(
            Provider(
                f"p{i}",
                KINDS[i % len(KINDS)],
                tuple(str(IPAddress(base + i * 5 + j)) for j in range(5)),
            )
            for i in range(providers)
        ),
    )


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, action="append")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    kinds = load_packs()
    print("| providers | flows | all flows ms | one state ms | what-if ms |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.providers or (12, 48, 192):
        inv = inventory(n)
        flows = flows_from(pair_topology(inv, kinds, resolve=None))
        g = pair_topology(inv, kinds, resolve=None)
        full = median_ms(
            lambda inv=inv: flows_from(pair_topology(inv, kinds, resolve=None)), args.runs
        )
        one = median_ms(lambda g=g: state_flows(g, FailoverState.BACKUP_ACTIVE), args.runs)
        what_if = median_ms(
            lambda g=g: what_if_failover(g, FailoverState.PRIMARY_ACTIVE), args.runs
        )
        print(f"| {n} | {len(flows)} | {full:.1f} | {one:.1f} | {what_if:.1f} |")


if __name__ == "__main__":
    main()
