"""Two checkouts' `fleet report` and `trend` on one PostgreSQL server, alternated: each
checkout builds and loads the year-of-a-200-pair-fleet store of its own bench/fleet_store.py
into its own database (its own schema), then their CLIs are timed in turn (wall, and the
child's CPU), so the load of a shared machine falls on both alike. As root.

    .venv/bin/python bench/fleet_store_ab.py --before /work/main --runs 5

--before and --after are checkouts with their own .venv (--after: this one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

LOADER = (
    "import sys; from pathlib import Path; root = Path(sys.argv[1]);"
    "sys.path[:0] = [str(root / 'tests'), str(root / 'bench')]; import fleet_store as fs;"
    "run = fs.template_run(Path(sys.argv[3])); runs, records = fs.build_rows(run, 200, 365);"
    "fs.load(sys.argv[2], runs, records)"
)


def timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command}: exit {done.returncode}: {done.stderr}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    from support.postgres import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fa-bench-ab-"))
    server = PostgresServer().start()
    try:
        os.environ["PGPASSWORD"] = server.password
        sides = {}
        for name, root in (("before", args.before), ("after", args.after)):
            url = server.new_database(name)
            (work / name).mkdir()
            python = str(root / ".venv" / "bin" / "python")
            subprocess.run([python, "-c", LOADER, str(root), url, str(work / name)],
                           check=True, cwd=root)  # fmt: skip
            sides[name] = (str(root / ".venv" / "bin" / "auditor"), url)
        pair = work / "pair000.yaml"
        text = (ROOT / "examples" / "pair.yaml").read_text()
        pair.write_text(text.replace("support.example.com", "pair000.example.com"))
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for name, (auditor, url) in sides.items():
                report = [auditor, "fleet", "report", "--store", url, "-o", str(work / name / "r")]
                trend = [auditor, "trend", str(pair), "--store", url, "--format", "json", "-o",
                         str(work / name / "trend.json")]  # fmt: skip
                for what, command in (("fleet report", report), ("trend", trend)):
                    wall, cpu = timed(command)
                    times.setdefault((what, name), []).append((wall, cpu))
                    print(f"{what} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        for (what, name), got in sorted(times.items()):
            wall = statistics.median(w for w, _ in got)
            cpu = statistics.median(c for _, c in got)
            print(f"{what} {name}: median {wall:.2f} s wall, {cpu:.2f} s CPU over {args.runs}")
        pairs = [json.loads((work / n / "r" / "fleet.json").read_text())["pairs"] for n in sides]
        trends = [(work / n / "trend.json").read_text() for n in sides]
        print(
            f"same fleet.json pairs: {pairs[0] == pairs[1]}; same trend: {trends[0] == trends[1]}"
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
