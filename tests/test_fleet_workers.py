"""A fleet judges its pairs in worker processes as their evidence arrives (issue 23, item
7): the outcomes, the report folders, the recorded runs and what the command prints are
those of judging the pairs one after another in this process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import report_factories as rf
from fleet_support import PAIR, results_for
from support.cli import auditor
from support.readers import integrity_check

from auditor.documents.codec import to_json
from auditor.fleet import run as fleet_run
from auditor.fleet.run import FleetRequest, ready_fleet, run_fleet
from auditor.history.location import parse_store, sqlite_location
from auditor.history.store import Store
from auditor.model.rundoc import run_to_json

SITES = ("east", "west")
PAIRS = 3  # per site


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used-with-evidence")


def six_pairs(tmp_path: Path) -> Path:
    """Two sites of three pairs each on evidence: every other pair has the classic gap."""
    lines = ["sites:"]
    text = PAIR.read_text()
    for s, site in enumerate(SITES):
        lines += [f"  - name: {site}", "    pairs:"]
        for p in range(PAIRS):
            name = f"{site}{p}"
            inventory = tmp_path / f"{name}.yaml"
            inventory.write_text(
                text.replace("name: support.example.com", f"name: {name}.example.com")
            )
            good = (s + p) % 2 == 0
            results_for(
                inventory, tmp_path / f"{name}.json", rf.everywhere_good if good else rf.classic_gap
            )
            lines += [f"      - inventory: {name}.yaml", f"        evidence: {name}.json"]
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet


def folder_files(output: Path) -> dict[str, set[str]]:
    return {
        str(pair.relative_to(output)): {str(f.relative_to(pair)) for f in pair.rglob("*")}
        for site in SITES
        for pair in sorted((output / site).iterdir())
    }


def test_pairs_judged_in_workers_are_judged_as_one_after_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = six_pairs(tmp_path)
    judge = fleet_run.judge_pair
    seen = tmp_path / "judged-in"
    seen.mkdir()

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        (seen / str(os.getpid())).touch()  # a file: a worker's memory is its own
        return judge(*args, **kwargs)

    monkeypatch.setattr(fleet_run, "judge_pair", spy)
    results = {}
    for workers in (1, 2):
        out, store = tmp_path / f"out{workers}", tmp_path / f"h{workers}.sqlite"
        request = FleetRequest(fleet=fleet, output_dir=out, store=sqlite_location(store))
        results[workers] = run_fleet(ready_fleet(request), workers=workers)
        recorded = sorted((r.site, r.verdict) for r in Store(store).list_runs())
        assert recorded == sorted((o.pair, o.verdict.value) for o in results[workers].outcomes)
    # one pass judged here, the other in worker processes
    judged_in = {int(p.name) for p in seen.iterdir()}
    assert os.getpid() in judged_in and len(judged_in) >= 2
    alone, pooled = results[1], results[2]
    # the workers are other processes (the spy ran there, never here)
    assert os.getpid() in judged_in and len(judged_in) > 1
    assert [(o.site, o.pair, o.verdict, o.previous, o.failure) for o in pooled.outcomes] == [
        (o.site, o.pair, o.verdict, o.previous, o.failure) for o in alone.outcomes
    ]
    assert [o.pair for o in pooled.outcomes][:2] == ["east0.example.com", "east1.example.com"]
    assert {o.verdict.value for o in pooled.outcomes} == {"compliant", "findings"}
    assert folder_files(tmp_path / "out2") == folder_files(tmp_path / "out1")
    for o in pooled.outcomes:
        assert o.result.run.records == next(
            a.result.run.records for a in alone.outcomes if a.pair == o.pair
        )
    one, two = (json.loads((tmp_path / f"out{w}" / "fleet.json").read_text()) for w in (1, 2))
    keep = ("pair", "group", "verdict", "flows", "blocked", "runs")
    assert [{k: p[k] for k in keep} for p in two["pairs"]] == [
        {k: p[k] for k in keep} for p in one["pairs"]
    ]


def test_each_worker_records_all_its_pairs_on_its_one_connection_and_closes_it(
    tmp_path: Path,
) -> None:
    """A worker keeps one store connection for every pair it records: all six runs land,
    each whole and readable, the run.json of each pair is what the store holds, and the
    store is sound."""
    fleet = six_pairs(tmp_path)
    store = tmp_path / "h.sqlite"
    request = FleetRequest(fleet=fleet, output_dir=tmp_path / "out", store=sqlite_location(store))
    done = run_fleet(ready_fleet(request), workers=2)
    history = Store(store)
    runs = history.list_runs()
    assert sorted(r.site for r in runs) == sorted(o.pair for o in done.outcomes)
    assert len(runs) == len(SITES) * PAIRS
    for outcome in done.outcomes:
        (recorded,) = (r for r in runs if r.site == outcome.pair)
        written = json.loads((outcome.folder / "run.json").read_text())
        assert written["run_id"] == recorded.run_id
        assert to_json(history.load_run(recorded.run_id)) == to_json(outcome.result.run)
        assert run_to_json(history.load_run(recorded.run_id)) == written
    assert integrity_check(history) == "ok"


def test_the_command_prints_the_pairs_in_the_fleet_files_order(tmp_path) -> None:
    fleet = six_pairs(tmp_path)
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store",
                     tmp_path / "h.sqlite", "--concurrency", "2")  # fmt: skip
    out = result.stdout
    assert result.returncode == 1
    lines = [line.split(":")[0] for line in out.splitlines() if " -> " in line]
    assert lines == [f"{s}/{s}{p}.example.com" for s in SITES for p in range(PAIRS)]


@pytest.mark.lab  # a PostgreSQL server started as the postgres user: needs root
def test_workers_record_their_pairs_in_a_postgresql_store(tmp_path: Path, pg_url: str) -> None:
    """Each worker opens its own connections (never the parent's) and records its pairs."""
    fleet = six_pairs(tmp_path)
    request = FleetRequest(fleet=fleet, output_dir=tmp_path / "out", store=parse_store(pg_url))
    ready = ready_fleet(request)
    done = run_fleet(ready, workers=2)
    ready.store.dispose()
    store = Store(pg_url)
    recorded = {r.site: r.verdict for r in store.list_runs()}
    store.dispose()
    assert recorded == {o.pair: o.verdict.value for o in done.outcomes}
    assert len(recorded) == len(SITES) * PAIRS


def test_a_worker_that_dies_ends_the_run_with_one_error(tmp_path, monkeypatch) -> None:
    fleet = six_pairs(tmp_path)

    def killed(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        os._exit(9)  # as the kernel's OOM killer would leave it

    monkeypatch.setattr(fleet_run, "judge_pair", killed)
    monkeypatch.setattr(fleet_run, "default_workers", lambda _ready: 2)  # whatever the CPUs
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store",
                     tmp_path / "h.sqlite", "--concurrency", "2")  # fmt: skip
    err = result.stderr
    assert result.returncode == 3
    assert "a worker judging the fleet's pairs ended abruptly" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "fleet.json").exists()


def test_a_worker_killed_mid_run_still_sends_the_message_of_the_pairs_judged(
    tmp_path, monkeypatch
) -> None:
    """The pairs judged before a worker died are recorded: their message goes out (a
    failure), naming the pairs that were not judged; it was lost, only OnFailure= told."""
    import json as _json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    hooks: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hooks.append(_json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fleet = six_pairs(tmp_path)
    judge = fleet_run.judge_pair

    def killed_at_west2(ready, pair, found, clock):  # type: ignore[no-untyped-def]
        if pair.name == "west2.example.com":
            time.sleep(2)  # the other pairs are judged first
            os._exit(9)  # as the kernel's OOM killer would leave it
        return judge(ready, pair, found, clock)

    monkeypatch.setattr(fleet_run, "judge_pair", killed_at_west2)
    monkeypatch.setattr(fleet_run, "default_workers", lambda _ready: 2)
    try:
        result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store",
                         tmp_path / "h.sqlite", "--concurrency", "2", "-q",
                         "--notify", f"json://127.0.0.1:{server.server_address[1]}/")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 3
    assert len(hooks) == 1, result.stderr
    (hook,) = hooks
    assert hook["type"] == "failure" and "could not judge every pair" in hook["title"]
    body = hook["message"]
    assert "not judged (a worker judging the pairs ended abruptly): 1 pair(s)" in body
    assert "  west/west2.example.com" in body
    # the judged pairs with findings are told (east1, west0: the classic gap)
    assert "east/east1.example.com: new -> findings" in body
    assert "west/west0.example.com: new -> findings" in body
    recorded = {r.site for r in Store(sqlite_location(tmp_path / "h.sqlite")).list_runs()}
    assert "west2.example.com" not in recorded and len(recorded) == 5
