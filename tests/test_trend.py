"""`auditor trend`: per flow and per source, the share of runs open, first and last seen blocked,
flows that flap, and certificate days left over time, from a real history store."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from report_factories import AD1, AD2, PRIMARY_UNIQUE, SHARED, check_golden, findings_run, green_run
from support.cli import Result, auditor
from support.store_damage import redigest

from auditor.history.store import Store
from auditor.history.trend import FlowTrend, Trend, compute_trend
from auditor.model.findings import AuditRun
from auditor.report.trend_formats import TrendFormat, render_trend

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"
SITE = "support.example.com"
DAYS = ("2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23")


def at(day: str) -> str:
    return f"{day}T01:00:00+00:00"


def four_runs() -> list[AuditRun]:
    """Gap, fixed, gap again, fixed again; AD1's certificate ages a day a run, AD2's is renewed."""
    runs = []
    for i, day in enumerate(DAYS):
        make = findings_run if i % 2 == 0 else green_run
        runs.append(
            make(
                run_id=f"{SITE}-{day.replace('-', '')}T010000Z",
                started_at=at(day),
                finished_at=at(day).replace("01:00:00", "01:00:07"),
                ad_days={AD1: 200 - i, AD2: (12, 150, 11, 149)[i]},
            )
        )
    return runs


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    db = Store(path)
    for run in four_runs():
        db.save_run(run)
    other = green_run(run_id="elsewhere-1", started_at=at("2026-11-21"))
    db.save_run(replace(other, site="elsewhere.example.com"))  # another site: left out
    return path


def trend_of(store: Path, last: int | None = None) -> Trend:
    db = Store(store)
    summaries = db.list_runs(SITE)[-(last or 0) :]
    return compute_trend(SITE, [db.load_run(s.run_id) for s in summaries])


def flow(trend: Trend, text: str) -> FlowTrend:
    return next(f for f in trend.flows if f.flow == text)


def test_the_trend_reads_every_run_of_the_site_from_the_store(store: Path) -> None:
    trend = trend_of(store)
    assert [r.started_at for r in trend.runs] == [at(d) for d in DAYS]
    assert [r.verdict for r in trend.runs] == ["findings", "compliant", "findings", "compliant"]
    assert [(r.open, r.blocked, r.flows) for r in trend.runs] == [(4, 3, 11), (7, 0, 11)] * 2


def test_a_flow_blocked_every_other_run_is_open_half_the_time_and_flaps(store: Path) -> None:
    f = flow(trend_of(store), f"{PRIMARY_UNIQUE} -> {AD1}:636/tcp (corp-ad)")
    assert (f.runs, f.open, f.open_share) == (4, 2, 0.5)
    assert (f.first_blocked, f.last_blocked) == (at(DAYS[0]), at(DAYS[2]))
    assert (f.changes, f.flapping, f.last) == (3, True, "ok")


def test_a_tls_failure_that_comes_and_goes_flaps_though_the_port_is_always_open(
    store: Path,
) -> None:
    f = flow(trend_of(store), f"{SHARED} -> {AD2}:636/tcp (corp-ad)")
    assert (f.open_share, f.first_blocked, f.changes, f.flapping) == (1.0, None, 3, True)


def test_a_steady_flow_never_blocked_does_not_flap(store: Path) -> None:
    f = flow(trend_of(store), f"{SHARED} -> {AD1}:636/tcp (corp-ad)")
    assert (f.open_share, f.first_blocked, f.last_blocked, f.changes) == (1.0, None, None, 0)
    assert not f.flapping


def test_per_source_the_unique_ip_was_blocked_in_two_runs(store: Path) -> None:
    sources = {s.source: s for s in trend_of(store).sources}
    unique = sources[PRIMARY_UNIQUE]
    assert (unique.flows, unique.observations, unique.open) == (4, 16, 10)
    assert (unique.blocked_runs, unique.first_blocked, unique.last_blocked) == (
        2,
        at(DAYS[0]),
        at(DAYS[2]),
    )
    assert unique.flapping == 3
    assert sources["198.51.100.12"].open_share == 0.0  # never local: unverified, not open


def test_certificate_days_left_run_by_run(store: Path) -> None:
    certs = {c.endpoint: c for c in trend_of(store).certificates}
    assert [p.days_left for p in certs[f"{AD1}:636"].points] == [200, 199, 198, 197]
    assert [p.days_left for p in certs[f"{AD2}:636"].points] == [12, 150, 11, 149]
    assert (certs[f"{AD2}:636"].lowest, certs[f"{AD2}:636"].latest) == (11, 149)


def test_the_newest_n_runs_only(store: Path) -> None:
    trend = trend_of(store, last=2)
    assert [r.started_at for r in trend.runs] == [at(DAYS[2]), at(DAYS[3])]
    assert flow(trend, f"{PRIMARY_UNIQUE} -> {AD1}:636/tcp (corp-ad)").changes == 1
    assert trend.flapping == ()


@pytest.mark.parametrize("fmt", list(TrendFormat))
def test_every_format_matches_its_golden_file(store: Path, fmt: TrendFormat) -> None:
    check_golden(f"trend.{fmt.value}", render_trend(trend_of(store), fmt))


def test_the_html_chart_is_inline_svg_without_script(store: Path) -> None:
    page = render_trend(trend_of(store), TrendFormat.HTML)
    assert page.count("<svg ") == 2
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def run_cli(*args: str) -> Result:
    return auditor("trend", EXAMPLE, *args)


def test_the_command_reads_the_store_and_writes_json(store: Path) -> None:
    result = run_cli("--store", str(store), "--runs", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["site"] == SITE
    assert [r["started_at"] for r in doc["runs"]] == [at(d) for d in DAYS[1:]]
    assert f"{PRIMARY_UNIQUE} -> {AD1}:636/tcp (corp-ad)" in doc["flapping"]


def test_the_command_without_a_recorded_audit_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("--store", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2
    assert "no complete audit of site support.example.com" in result.stderr
    assert "Traceback" not in result.stderr


def test_pandas_is_not_imported_when_the_cli_starts() -> None:
    code = "import sys, auditor.cli.app, auditor.cli.trend_cmd; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_store_reads_for_a_trend_what_the_whole_runs_give(store: Path) -> None:
    """`Store.trend_runs` (flows from the documents, records from their columns, JSON only
    for records that hold a certificate) gives the trend the full runs give, every format."""
    db = Store(store)
    ids = [s.run_id for s in db.list_runs(SITE)]
    lean = compute_trend(SITE, db.trend_runs(ids))
    assert lean == compute_trend(SITE, [db.load_run(i) for i in ids])
    for fmt in TrendFormat:
        assert render_trend(lean, fmt) == render_trend(trend_of(store), fmt)
    assert [len(c.points) for c in lean.certificates] == [4, 4]
    full = [db.load_run(i) for i in ids]
    for light, whole in zip(db.trend_runs(ids), full, strict=True):
        assert light.flows == whole.flows
        assert [(r.key, r.check, r.status, r.cert) for r in light.records] == [
            (r.key, r.check, r.status, r.cert) for r in whole.records
        ]


def test_the_cli_formats_are_the_trend_formats() -> None:
    from auditor.cli.trend_cmd import FORMATS

    assert tuple(f.value for f in TrendFormat) == FORMATS


def _damage(store: Path, sql: str) -> None:
    import sqlite3

    conn = sqlite3.connect(store)
    with conn:
        conn.execute(sql)
    conn.close()


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (
            "UPDATE records SET status = 'wide-open' WHERE seq = 0",
            "records[0]: its status 'wide-open' is not a known status",
        ),
        ("UPDATE records SET port = 70000 WHERE seq = 0", "records[0]: its check, protocol"),
        ("UPDATE runs SET verdict = 'great'", "its verdict 'great' is not a verdict"),
        (
            "UPDATE records SET document = replace(document, '\"days_left\": ', "
            '\'"days_left": "soon", "x": \')',
            "days_left",
        ),
    ],
)
def test_a_damaged_row_is_bad_input_naming_the_store_and_run(
    store: Path, sql: str, says: str
) -> None:
    _damage(store, sql)
    redigest(store)  # past the records digest: each column is still checked
    result = run_cli("--store", str(store), "--format", "json")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert str(store) in result.stderr and "runs[" in result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_json_and_text_need_no_template_engine(store: Path) -> None:
    code = (
        "import sys; from auditor.cli.app import main; sys.argv = ['auditor', 'trend', "
        f"{str(EXAMPLE)!r}, '--store', {str(store)!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('jinja2' in sys.modules, 'auditor.report.trend_formats' in sys.modules, "
        "file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout)["site"] == SITE
    assert result.stderr.strip() == "False False"
