"""The differential test's long run: many more generated rulesets than CI runs, each loaded into
a router namespace (i10b*) and every flow sent for real; the evaluator must agree flow by flow.
Needs root, iproute2, iptables, ipset, nftables. Documentation addresses only.

    sudo .venv/bin/python bench/ruleset_differential.py --examples 2000 --kind both
    sudo .venv/bin/python bench/ruleset_differential.py --examples 500 --kind path --seconds 280

`path` runs the whole-path generators (every table and hook, conntrack before and after,
NOTRACK, marks, DNAT, addrtype, dormant tables, ingress) for iptables and nft.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, Phase, given, settings
from ruleset_diff import check_iptables, check_nft
from ruleset_gen import flows, iptables_example, nft_example
from ruleset_gen_path import (
    iptables_hook_example,
    iptables_path_example,
    nft_hook_example,
    nft_path_example,
)
from ruleset_kernel import Topology

from auditor.ruleset import Hook

STRATEGIES = {
    "iptables": (iptables_example, check_iptables),
    "nft": (nft_example, check_nft),
    "path-iptables": (iptables_path_example, check_iptables),
    "path-nft": (nft_path_example, check_nft),
    "input-iptables": (
        partial(iptables_hook_example, hook="INPUT"),
        partial(check_iptables, hook=Hook.INPUT),
    ),
    "input-nft": (partial(nft_hook_example, hook="INPUT"), partial(check_nft, hook=Hook.INPUT)),
    "output-iptables": (
        partial(iptables_hook_example, hook="OUTPUT"),
        partial(check_iptables, hook=Hook.OUTPUT),
    ),
    "output-nft": (partial(nft_hook_example, hook="OUTPUT"), partial(check_nft, hook=Hook.OUTPUT)),
}
KINDS = {
    "both": ("iptables", "nft"),
    "path": ("path-iptables", "path-nft"),
    "hooks": ("input-iptables", "input-nft", "output-iptables", "output-nft"),
}
NO_SHRINK = "--no-shrink" in sys.argv


BATCH = 25  # examples per hypothesis run: the deadline is checked between batches


def run(kind: str, examples: int, topo: Topology, deadline: float) -> tuple[int, int]:
    counts = [0, 0]
    strategy, check = STRATEGIES[kind]

    @settings(
        max_examples=BATCH,
        deadline=None,
        phases=[Phase.generate] if NO_SHRINK else [Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(example=strategy(topo.in_if, topo.out_if), the_flows=flows())
    def one(example: object, the_flows: list) -> None:
        if counts[0] >= examples or time.monotonic() > deadline:
            return  # enough, or out of time: generated but neither sent nor counted
        check(topo, example, the_flows)  # type: ignore[arg-type]
        counts[0] += 1
        counts[1] += len(the_flows)
        if counts[0] % 100 == 0:
            print(f"  {kind}: {counts[0]} rulesets agree so far", flush=True)

    while counts[0] < examples and time.monotonic() < deadline:
        one()  # each batch from a fresh random seed
    return counts[0], counts[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2000, help="rulesets per kind")
    parser.add_argument("--kind", choices=[*STRATEGIES, *KINDS], default="both")
    parser.add_argument("--seconds", type=float, default=0, help="stop each kind after this")
    parser.add_argument("--no-shrink", action="store_true", help="report the first failure as is")
    args = parser.parse_args()
    topo = Topology("b")
    topo.up()
    try:
        for kind in KINDS.get(args.kind, (args.kind,)):
            start = time.monotonic()
            deadline = start + (args.seconds or float("inf"))
            rulesets, probes = run(kind, args.examples, topo, deadline)
            took = time.monotonic() - start
            print(f"{kind}: {rulesets} rulesets, {probes} flows sent, all verdicts equal to the "
                  f"kernel's ({took:.0f} s)", flush=True)  # fmt: skip
    finally:
        topo.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
