"""Hostile ruleset dumps (iptables-save, ipset save, nft -j) against `auditor evaluate`: time and
peak memory of each answer, measured with `/usr/bin/time -v` around the real CLI (as
bench/hostile_bombs.py does). No traffic is sent.

    .venv/bin/python bench/hostile_ruleset_bombs.py --runs 3
    .venv/bin/python bench/hostile_ruleset_bombs.py --runs 1 --only fan-out
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_bombs import EXAMPLE, measure

HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"


def _addr(i: int) -> str:
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


def _write(path: Path, lines: list[str] | str) -> str:
    path.write_text(lines if isinstance(lines, str) else "\n".join(lines) + "\n", "utf-8")
    return str(path)


def scenarios(work: Path) -> dict[str, list[str]]:
    rules = [HEAD.rstrip()] + [f"-A FORWARD -s {_addr(i)} -p tcp --dport {i % 65535 + 1} -j DROP"
                               for i in range(1_000_000)]  # fmt: skip
    million = _write(work / "million.rules", [*rules, "COMMIT"])
    legal = _write(work / "legal.rules", [*rules[:190_001], "COMMIT"])
    ipset = _write(work / "million.ipset", ["create big hash:ip family inet hashsize 1073741824"]
                   + [f"add big {_addr(i)}" for i in range(1_000_000)])  # fmt: skip
    uses = _write(work / "uses.rules", HEAD + "-A FORWARD -m set --match-set big src -j ACCEPT\n"
                  "COMMIT\n")  # fmt: skip
    chains = [f"C{i}" for i in range(40)]
    fan = [HEAD.rstrip(), *(f":{c} - [0:0]" for c in chains), "-A FORWARD -j C0"]
    fan += [f"-A {a} -j {b}\n-A {a} -j {b}" for a, b in itertools.pairwise(chains)]
    fanout = _write(work / "fanout.rules", [*fan, "COMMIT"])
    loop = _write(work / "loop.rules", HEAD + ":A - [0:0]\n:B - [0:0]\n-A FORWARD -j A\n"
                  "-A A -j B\n-A B -j A\nCOMMIT\n")  # fmt: skip
    deep = _write(work / "deep.json", '{"nftables": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    digits = _write(work / "digits.json", '{"nftables": [{"table": {"family": "inet", "name": '
                    '"t", "handle": ' + "9" * 100_000 + "}}]}")  # fmt: skip
    ex = str(EXAMPLE)

    def evaluate(*files: str, ipsets: tuple[str, ...] = ()) -> list[str]:
        args = ["evaluate", ex, "--no-resolve", "--format", "json"]
        return (
            args
            + [a for f in files for a in ("--ruleset", f)]
            + [a for f in ipsets for a in ("--ipset", f)]
        )

    return {
        "1,000,000 rules (58 MB)": evaluate(million),
        "190,000 rules (legal, 11 MB)": evaluate(legal),
        "ipset of 1,000,000 entries": evaluate(uses, ipsets=(ipset,)),
        "fan-out: 40 chains, each jumping twice to the next": evaluate(fanout),
        "jump loop A -> B -> A": evaluate(loop),
        "nft JSON nested 100,000 deep": evaluate(deep),
        "nft JSON 100,000-digit number": evaluate(digits),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="a substring of the scenario names")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ih-ruleset-bombs-") as tmp:
        print("| dump | exit | wall (median s) | peak RSS (median MB) |")
        print("|---|---|---|---|")
        for name, args in scenarios(Path(tmp)).items():
            if opts.only and opts.only not in name:
                continue
            runs = [measure(args) for _ in range(opts.runs)]
            codes = "/".join(map(str, sorted({r[0] for r in runs})))
            wall = statistics.median(r[1] for r in runs)
            rss = statistics.median(r[2] for r in runs) / 1024
            print(f"| {name} | {codes} | {wall:.2f} | {rss:.0f} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
