"""Hostile-input bombs (issue 9): time and peak memory of each refusal, measured with
`/usr/bin/time -v` (Debian package `time`) around the real CLI. No traffic is sent.

    .venv/bin/python bench/hostile_bombs.py              # every bomb, 3 runs each, medians
    .venv/bin/python bench/hostile_bombs.py --runs 5 --only results-57mb

Each row: the command, its exit code, the median wall time and the median peak RSS.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "pair.yaml"
AUDITOR = str(Path(sys.executable).parent / "auditor")
ENDPOINTS = "    endpoints: [203.0.113.10, 203.0.113.11]"


def _networks(count: int) -> str:
    return "[" + ", ".join(f"10.{i // 256 % 256}.{i % 256}.0/24" for i in range(count)) + "]"


def _inventory(work: Path, name: str, text: str) -> Path:
    path = work / name
    path.write_text(text, encoding="utf-8")
    return path


HEAD = (
    '{\n  "format": "auditor-results/1",\n  "meta": {"tool_version": "0", "inventory": "x", '
    '"inventory_digest": "x", "probing_host": "h", "started_at": "t", "finished_at": "t", '
    '"options": {}},\n  "records": [\n'
)


def _results(work: Path, records: int, bad_at: int | None) -> Path:
    """A results document of `records` records (about 250 bytes each, indented)."""
    record = {"source": "198.51.100.11", "destination": "203.0.113.10", "protocol": "tcp",
              "port": 636, "provider": "corp-ad", "check": "tcp", "status": "filtered",
              "reason": "no answer within 3.0 s", "latency_ms": None, "attempts": 1}  # fmt: skip
    path = work / f"results-{records}.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEAD)
        for i in range(records):
            rec = dict(record, port=70000) if i == bad_at else record
            fh.write(json.dumps(rec, indent=4) + (",\n" if i < records - 1 else "\n"))
        fh.write("  ]\n}\n")
    return path


def scenarios(work: Path) -> dict[str, list[str]]:
    base = EXAMPLE.read_text(encoding="utf-8")
    many = "[" + ", ".join(f"10.{i // 256}.{i % 256}.1" for i in range(1000)) + "]"
    flows_bomb = base + "".join(
        f"  - name: p{k}\n    kind: ldap\n    endpoints: {many}\n" for k in range(10)
    )
    inv = {
        "net-1000": base.replace(ENDPOINTS, f"    endpoints: {_networks(1000)}"),
        "net-4000": base.replace(ENDPOINTS, f"    endpoints: {_networks(4000)}"),
        "ports-65535": base.replace(
            ENDPOINTS, ENDPOINTS + "\n    ports: [" + ", ".join(map(str, range(1, 65536))) + "]"
        ),
        "flows-30k": flows_bomb,
        "deep-yaml": base + "nested: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "alias-yaml": base
        + "nested:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"  {chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8)
        ),
    }
    paths = {k: str(_inventory(work, f"{k}.yaml", v)) for k, v in inv.items()}
    big = _results(work, 230_000, bad_at=229_000)
    valid = _results(work, 230_001, bad_at=None)  # the same size, valid: the cost of reading
    deep = work / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    huge = work / "huge-baseline.json"
    with huge.open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: refused by its size, never read
    store = work / "h.sqlite"
    ex = str(EXAMPLE)
    return {
        "check net-1000": ["check", paths["net-1000"]],
        "flows net-1000": ["flows", paths["net-1000"], "--no-resolve"],
        "check net-4000": ["check", paths["net-4000"]],
        "check ports-65535": ["check", paths["ports-65535"]],
        "check flows-30k": ["check", paths["flows-30k"]],
        "flows flows-30k": ["flows", paths["flows-30k"], "--no-resolve", "--format", "csv"],
        "flows flows-30k --max-flows 40000": [
            "flows",
            paths["flows-30k"],
            "--no-resolve",
            "--format",
            "csv",
            "--max-flows",
            "40000",
        ],
        "check deep-yaml": ["check", paths["deep-yaml"]],
        "check alias-yaml": ["check", paths["alias-yaml"]],
        "rules results-57mb (1 bad record)": ["rules", ex, "--results", str(big), "--no-resolve"],
        "rules results-57mb (valid, other inventory)": [
            "rules",
            ex,
            "--results",
            str(valid),
            "--no-resolve",
        ],
        "rules results-deep": ["rules", ex, "--results", str(deep), "--no-resolve"],
        "drift baseline-300mb": ["drift", ex, "--store", str(store), "--baseline", str(huge)],
    }


_WALL = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)")
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def measure(args: list[str]) -> tuple[int, float, int]:
    proc = subprocess.run(
        ["/usr/bin/time", "-v", AUDITOR, *args], capture_output=True, text=True, check=False
    )
    wall = _WALL.search(proc.stderr)
    rss = _RSS.search(proc.stderr)
    assert wall and rss, proc.stderr[-2000:]
    hours, minutes, seconds = wall.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return proc.returncode, total, int(rss.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="a substring of the scenario names")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-bombs-") as tmp:
        work = Path(tmp)
        _seed_store(work / "h.sqlite")
        print("| bomb | exit | wall (median s) | peak RSS (median MB) |")
        print("|---|---|---|---|")
        for name, args in scenarios(work).items():
            if opts.only and opts.only not in name:
                continue
            runs = [measure(args) for _ in range(opts.runs)]
            codes = {r[0] for r in runs}
            wall = statistics.median(r[1] for r in runs)
            rss = statistics.median(r[2] for r in runs) / 1024
            print(f"| `{name}` | {'/'.join(map(str, sorted(codes)))} | {wall:.2f} | {rss:.0f} |")
            sys.stdout.flush()
    return 0


def _seed_store(path: Path) -> None:
    """A store with one run of the example's site, so drift gets as far as the baseline."""
    sys.path.insert(0, str(ROOT / "tests"))
    import report_factories as rf

    from auditor.history.store import Store

    Store(path).save_run(rf.findings_run(run_id="f1"))


if __name__ == "__main__":
    raise SystemExit(main())
