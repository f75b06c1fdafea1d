"""A year of nightly runs of a 200-pair fleet in the history store (issue 23, item 7): how long
`auditor fleet report` and `auditor trend` take on it, and how large it is, on SQLite and on
PostgreSQL (a throwaway cluster: tests/support/postgres.py, as root).

    .venv/bin/python bench/fleet_store.py --backend sqlite
    .venv/bin/python bench/fleet_store.py --backend postgresql
    .venv/bin/python bench/fleet_store.py --pairs 20 --nights 30   # a quick look

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
    from auditor.history.store import record_rows
    from auditor.model.rundoc import run_to_json

    doc_text = json.dumps(run_to_json(run, with_records=False), sort_keys=True)
    base_records = record_rows("X", run.records)
    filtered_doc = {}
    for row in base_records:
        bad = json.loads(row["document"])
        bad.update(status="filtered", reason="no answer within 3.0 s")
        filtered_doc[row["seq"]] = json.dumps(bad, sort_keys=True)
    runs: list[dict[str, Any]] = []
    records: list[tuple] = []
    for p in range(pairs):
        site = f"pair{p:03d}.example.com"
        pair_doc = doc_text.replace(TEMPLATE_SITE, site)
        for n in range(nights):
            day = time.strftime("%Y%m%d", time.gmtime(1_700_000_000 + n * 86400))
            started = time.strftime("%Y-%m-%dT01:00:00Z", time.gmtime(1_700_000_000 + n * 86400))
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
            document = pair_doc.replace(run.run_id, run_id)
            runs.append({
                "run_id": run_id, "site": site, "started_at": started, "finished_at": started,
                "inventory_digest": run.inventory_digest,
                "verdict": "findings" if blocked else "compliant",
                "counts": json.dumps(counts, sort_keys=True), "document": "",
                "document_z": zlib.compress(document.encode(), 6), "complete": 1,
                "drift": None, "report": None,
            })  # fmt: skip
    return runs, records


RECORD_COLUMNS = ("run_id", "seq", "source", "destination", "protocol", "port", "provider",
                  "check", "status", "reason", "document")  # fmt: skip


def load(url: str, runs: list[dict[str, Any]], records: list[tuple]) -> None:
    from sqlalchemy import create_engine, insert

    from auditor.history.location import parse_store
    from auditor.history.schema import records as records_table
    from auditor.history.schema import runs as runs_table
    from auditor.history.store import Store

    where = parse_store(url)
    Store(where).ensure()  # the schema, through the migrations
    engine = create_engine(where.url)
    with engine.begin() as conn:
        for start in range(0, len(runs), 2000):
            conn.execute(insert(runs_table), runs[start : start + 2000])
        if engine.dialect.name == "postgresql":
            raw = conn.connection.driver_connection
            columns = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
            with raw.cursor() as cur, cur.copy(f"COPY records ({columns}) FROM STDIN") as copy:
                for row in records:
                    copy.write_row(row)
        else:
            rows = [dict(zip(RECORD_COLUMNS, r, strict=True)) for r in records]
            for start in range(0, len(rows), 50_000):
                conn.execute(insert(records_table), rows[start : start + 50_000])
    engine.dispose()


def timed(command: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    times = []
    code = 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        code = done.returncode
        if code not in (0, 1):
            raise RuntimeError(f"{command}: exit {code}: {done.stderr}")
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import os

    work = Path(tempfile.mkdtemp(prefix="fa-bench-fleet-"))
    server = None
    env = dict(os.environ)
    try:
        started = time.perf_counter()
        run = template_run(work)
        runs, records = build_rows(run, args.pairs, args.nights)
        built = time.perf_counter() - started
        if args.backend == "postgresql":
            from support.postgres import PostgresServer

            server = PostgresServer().start()
            env["PGPASSWORD"] = os.environ["PGPASSWORD"] = server.password
            url = server.new_database("fleet")
        else:
            url = f"sqlite:///{work / 'history.sqlite'}"
        started = time.perf_counter()
        load(url, runs, records)
        loaded = time.perf_counter() - started
        if server is not None:
            size = int(server.psql("SELECT pg_database_size('fleet')", "fleet").strip())
        else:
            size = (work / "history.sqlite").stat().st_size
        inventory = work / "pair000.yaml"
        inventory.write_text(PAIR.read_text().replace(TEMPLATE_SITE, "pair000.example.com"))
        report, code = timed(
            [AUDITOR, "fleet", "report", "--store", url, "-o", str(work / "report")],
            args.runs, env,
        )  # fmt: skip
        trend, _ = timed(
            [AUDITOR, "trend", str(inventory), "--store", url, "--format", "json", "-o",
             str(work / "trend.json")], args.runs, env,
        )  # fmt: skip
        summary = json.loads((work / "report" / "fleet.json").read_text())
        print(f"backend {args.backend}: {len(runs)} runs, {len(records)} records "
              f"(data built in {built:.1f} s, loaded in {loaded:.1f} s)")  # fmt: skip
        print(f"store size: {size / 2**20:.0f} MiB")
        print(f"fleet report: median {report:.2f} s over {args.runs} runs "
              f"(exit {code}, {len(summary['pairs'])} pairs)")  # fmt: skip
        print(f"trend of one pair ({args.nights} runs): median {trend:.2f} s over {args.runs} runs")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
