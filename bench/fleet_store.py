"""A year of nightly runs of a 200-pair fleet in the history store (issue 23, item 7): how long
`auditor fleet report` and `auditor trend` take on it, and how large it is, on SQLite and on
PostgreSQL (a throwaway cluster: tests/support/postgres.py, as root).

    .venv/bin/python bench/fleet_store.py --backend sqlite
    .venv/bin/python bench/fleet_store.py --backend postgresql
    .venv/bin/python bench/fleet_store.py --pairs 20 --nights 30   # a quick look
    .venv/bin/python bench/fleet_store.py --keep DIR --only trend   # re-time a kept store

The store is built fast (bulk inserts, COPY on PostgreSQL) from one real run: the audit of
examples/pair.yaml on evidence with the classic gap, every snippet rendered (its document is
what `auditor audit` stores), copied per pair under the pair's own site name; each night each
flow is open, or (one night in ten, per pair and flow) filtered. The commands are then timed
as a user runs them (the CLI in a subprocess, wall clock, median of --runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
AUDITOR = str(Path(sys.executable).parent / "auditor")
PAIR = ROOT / "examples" / "pair.yaml"
TEMPLATE_SITE = "support.example.com"


def template_run(work: Path) -> Any:
    """One real audit run of examples/pair.yaml (the classic gap), with every snippet."""
    import report_factories as rf
    from fleet_support import results_for

    from auditor.run import AuditRequest, ready_audit, run_audit

    evidence = results_for(PAIR, work / "evidence.json", rf.classic_gap)
    ready = ready_audit(AuditRequest(inventory=PAIR, evidence=(evidence,), resolve=False))
    return run_audit(ready).run


def flaky(pair: int, key: str, night: int) -> bool:
    digest = hashlib.blake2b(f"{pair}/{key}/{night}".encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % 10 == 0


def build_rows(run: Any, pairs: int, nights: int) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Every run row and every record row of the data set."""
    from auditor.history.digest import RUN_DIGESTED, records_digest, run_digest
    from auditor.history.store import record_rows
    from auditor.model.rundoc import run_to_json

    # What varies from night to night goes last in each document's JSON (key order does not
    # matter to a reader), so the pair's compressor state after the rest is computed once and
    # copied per night: the bytes are those of compressing each whole document.
    template = run_to_json(run, with_records=False)
    vary = ("run_id", "started_at", "finished_at", "verdict")
    static_text = json.dumps({k: v for k, v in template.items() if k not in vary}, sort_keys=True)
    base_records = record_rows("X", run.records)
    filtered_doc = {}
    for row in base_records:
        bad = json.loads(row["document"])
        bad.update(status="filtered", reason="no answer within 3.0 s")
        filtered_doc[row["seq"]] = json.dumps(bad, sort_keys=True)
    runs: list[dict[str, Any]] = []
    records: list[tuple] = []
    # the nights end last night (01:00 UTC), so the fleet report finds no pair stale
    first = (int(time.time()) // 86400 - nights) * 86400
    for p in range(pairs):
        site = f"pair{p:03d}.example.com"
        prefix = static_text.replace(TEMPLATE_SITE, site)[:-1] + ", "
        packer = zlib.compressobj(6)
        head = packer.compress(prefix.encode())
        for n in range(nights):
            night = first + n * 86400
            day = time.strftime("%Y%m%d", time.gmtime(night))
            started = time.strftime("%Y-%m-%dT01:00:00Z", time.gmtime(night))
            run_id = f"{site}-{day}T010000Z-{p:04x}"
            blocked = 0
            keys_blocked = set()
            for row in base_records:
                key = f"{row['source']}>{row['destination']}:{row['port']}"
                if row["check"] in ("tcp", "udp") and flaky(p, key, n):
                    keys_blocked.add(key)
            for row in base_records:
                key = f"{row['source']}>{row['destination']}:{row['port']}"
                bad = key in keys_blocked and row["check"] in ("tcp", "udp")
                records.append((
                    run_id, row["seq"], row["source"], row["destination"], row["protocol"],
                    row["port"], row["provider"], row["check"],
                    "filtered" if bad else row["status"],
                    "no answer within 3.0 s" if bad else row["reason"],
                    filtered_doc[row["seq"]] if bad else row["document"],
                ))  # fmt: skip
            blocked = len(keys_blocked)
            flows = len(run.flows)
            counts = {"flows": flows, "ok": flows - blocked, "blocked": blocked, "failed": 0,
                      "error": 0, "unverified": 0, "lint_errors": 0}  # fmt: skip
            verdict = "findings" if blocked else "compliant"
            tail = json.dumps(
                {
                    "run_id": run_id,
                    "started_at": started,
                    "finished_at": started,
                    "verdict": verdict,
                }
            )[1:]
            night_packer = packer.copy()
            packed = head + night_packer.compress(tail.encode()) + night_packer.flush()
            runs.append({
                "run_id": run_id, "site": site, "started_at": started, "finished_at": started,
                "inventory_digest": run.inventory_digest,
                "verdict": verdict,
                "counts": json.dumps(counts, sort_keys=True), "document": "",
                "document_z": packed, "complete": 1,
                "drift": None, "report": None, "seq": len(runs) + 1,
                "record_count": len(base_records),
            })  # fmt: skip
            runs[-1]["record_digest"] = run_digest(
                tuple(runs[-1][c] for c in RUN_DIGESTED),
                records_digest(r[1:] for r in records[-len(base_records) :]),
            )
    return runs, records


RECORD_COLUMNS = ("run_id", "seq", "source", "destination", "protocol", "port", "provider",
                  "check", "status", "reason", "document")  # fmt: skip


def load(url: str, runs: list[dict[str, Any]], records: list[tuple]) -> None:
    """The rows into the store: the schema through the store's own migrations, then bulk
    inserts (sqlite3's executemany on SQLite, COPY on PostgreSQL)."""
    from auditor.history.location import parse_store
    from auditor.history.store import Store

    where = parse_store(url)
    Store(where).ensure()
    run_columns = list(runs[0])
    if where.path is not None:
        import sqlite3

        conn = sqlite3.connect(where.path)
        try:
            conn.execute("PRAGMA synchronous = OFF")
            marks = ", ".join("?" for _ in run_columns)
            names = ", ".join(f'"{c}"' for c in run_columns)
            with conn:
                conn.executemany(
                    f"INSERT INTO runs ({names}) VALUES ({marks})",
                    [tuple(r[c] for c in run_columns) for r in runs],
                )
                marks = ", ".join("?" for _ in RECORD_COLUMNS)
                names = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
                conn.executemany(f"INSERT INTO records ({names}) VALUES ({marks})", records)
        finally:
            conn.close()
        return
    import psycopg

    dsn = where.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        names = ", ".join(f'"{c}"' for c in run_columns)
        with cur.copy(f"COPY runs ({names}) FROM STDIN") as copy:
            for r in runs:
                copy.write_row(tuple(r[c] for c in run_columns))
        names = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
        with cur.copy(f"COPY records ({names}) FROM STDIN") as copy:
            for row in records:
                copy.write_row(row)
        cur.execute("SELECT setval('auditor_runs_seq', (SELECT max(seq) FROM runs))")
        conn.commit()
        # what autovacuum does within a minute of a bulk load (the planner's row counts)
        cur.execute("ANALYZE runs")
        cur.execute("ANALYZE records")


def timed(
    command: list[str], runs: int, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Median wall time and median CPU time (user + system of the child) over `runs`: on a
    shared, loaded machine the CPU time is the steadier figure."""
    import resource

    walls, cpus = [], []
    code = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        code = done.returncode
        if code not in (0, 1):
            raise RuntimeError(f"{command}: exit {code}: {done.stderr}")
    return statistics.median(walls), statistics.median(cpus), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, default=None, metavar="DIR",
        help="SQLite only: build the store in DIR and keep it; reuse it when it is there",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=["report", "trend"], default=None,
        help="time only this command (default: both)",
    )  # fmt: skip
    args = parser.parse_args()
    import os

    work = args.keep or Path(tempfile.mkdtemp(prefix="fa-bench-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    reuse = args.keep is not None and (work / "history.sqlite").is_file()
    server = None
    env = dict(os.environ)
    try:
        started = time.perf_counter()
        run = template_run(work)
        runs, records = ([], []) if reuse else build_rows(run, args.pairs, args.nights)
        built = time.perf_counter() - started
        print(f"built {len(runs)} runs, {len(records)} records in {built:.1f} s", flush=True)
        if args.backend == "postgresql":
            from support.postgres import PostgresServer

            server = PostgresServer().start()
            env["PGPASSWORD"] = os.environ["PGPASSWORD"] = server.password
            url = server.new_database("fleet")
        else:
            url = f"sqlite:///{work / 'history.sqlite'}"
        started = time.perf_counter()
        if not reuse:
            load(url, runs, records)
        loaded = time.perf_counter() - started
        print(f"loaded in {loaded:.1f} s", flush=True)
        if server is not None:
            size = int(server.psql("SELECT pg_database_size('fleet')", "fleet").strip())
        else:
            size = (work / "history.sqlite").stat().st_size
        inventory = work / "pair000.yaml"
        inventory.write_text(PAIR.read_text().replace(TEMPLATE_SITE, "pair000.example.com"))
        print(f"backend {args.backend}: {len(runs)} runs, {len(records)} records "
              f"(data built in {built:.1f} s, loaded in {loaded:.1f} s)")  # fmt: skip
        print(f"store size: {size / 2**20:.0f} MiB")
        print(f"load average before timing: {os.getloadavg()[0]:.1f}")
        if args.only != "trend":
            report, report_cpu, code = timed(
                [AUDITOR, "fleet", "report", "--store", url, "-o", str(work / "report")],
                args.runs, env,
            )  # fmt: skip
            summary = json.loads((work / "report" / "fleet.json").read_text())
            print(f"fleet report: median {report:.2f} s wall, {report_cpu:.2f} s CPU over "
                  f"{args.runs} runs (exit {code}, {len(summary['pairs'])} pairs)")  # fmt: skip
        if args.only != "report":
            trend, trend_cpu, _ = timed(
                [AUDITOR, "trend", str(inventory), "--store", url, "--format", "json", "-o",
                 str(work / "trend.json")], args.runs, env,
            )  # fmt: skip
            print(f"trend of one pair ({args.nights} runs): median {trend:.2f} s wall, "
                  f"{trend_cpu:.2f} s CPU over {args.runs} runs")  # fmt: skip
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if server is not None:
            server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
