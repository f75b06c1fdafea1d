"""Hostile history stores, baselines and schedule values against `history`, `drift`, `audit`
and `schedule`: a clear error (exit 2) or a sound result, never a crash or a forged line."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import report_factories as rf
from hostile_support import EXAMPLE, assert_refused, cli, snapshot
from support.store_damage import redigest

from auditor.history.store import Store
from auditor.model.rundoc import dumps


def store_with(path: Path, *runs: object) -> Path:
    store = Store(path)
    for run in runs:
        store.save_run(run)  # type: ignore[arg-type]
    return path


def two_runs(path: Path) -> Path:
    return store_with(
        path,
        rf.green_run(run_id="g1", started_at="2026-11-21T01:00:00+00:00"),
        rf.findings_run(run_id="f2", started_at="2026-11-22T01:00:00+00:00"),
    )


def _sql(path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)
        conn.commit()
        # leave no WAL behind: the command's own read must find a settled file
        conn.execute("PRAGMA journal_mode = DELETE")


DAMAGE = [
    # a document as schema 1 and 2 kept it (text), damaged; and schema 3's compressed one
    (
        "document-garbage",
        "UPDATE runs SET document_z = NULL, document = '{not json' WHERE run_id = 'g1'",
        "drift",
    ),
    ("document-z-garbage", "UPDATE runs SET document_z = x'789c00ff' WHERE run_id = 'g1'", "drift"),
    ("document-z-text", "UPDATE runs SET document_z = 'text' WHERE run_id = 'g1'", "drift"),
    (
        "document-deep",
        "UPDATE runs SET document_z = NULL, document = '" + "[" * 5000 + "' WHERE run_id = 'g1'",
        "drift",
    ),
    (
        "document-number",
        "UPDATE runs SET document_z = NULL, document = '" + "9" * 5000 + "' WHERE run_id = 'g1'",
        "drift",
    ),
    (
        "document-wrong",
        'UPDATE runs SET document_z = NULL, document = \'{"format": "auditor-run"}\'',
        "drift",
    ),
    ("record-garbage", "UPDATE records SET document = 'x' WHERE seq = 0", "drift"),
    ("record-field", "UPDATE records SET document = '{\"port\": -1}' WHERE seq = 1", "drift"),
    ("record-deleted", "DELETE FROM records WHERE run_id = 'g1' AND seq = 2", "drift"),
    (
        "record-added",
        "INSERT INTO records SELECT run_id, 99, source, destination, protocol, "
        "port, provider, \"check\", status, reason, document FROM records WHERE run_id = 'g1' "
        "AND seq = 0",
        "drift",
    ),
    ("counts-garbage", "UPDATE runs SET counts = '[1, 2' WHERE run_id = 'f2'", "history-site"),
    ("counts-strings", 'UPDATE runs SET counts = \'{"ok": "many"}\'', "history-site"),
    ("counts-blob", "UPDATE runs SET counts = x'00ff' WHERE run_id = 'f2'", "history-site"),
    # a damaged start or verdict of the older, compliant run: read as it is, it would make
    # that run the newest (drift: "the newest run is compliant", exit 0) or drop it as the
    # baseline without a word
    ("start-not-a-time", "UPDATE runs SET started_at = 'zzz' WHERE run_id = 'g1'", "drift"),
    ("start-a-number", "UPDATE runs SET started_at = 5 WHERE run_id = 'g1'", "drift"),
    ("start-not-utc", "UPDATE runs SET started_at = '2026-11-21T01:00:00+09:00'", "drift"),
    ("end-not-a-time", "UPDATE runs SET finished_at = '' WHERE run_id = 'f2'", "history-site"),
    ("verdict-unknown", "UPDATE runs SET verdict = 'great' WHERE run_id = 'g1'", "drift"),
    ("verdict-in-history", "UPDATE runs SET verdict = 'great' WHERE run_id = 'g1'", "history-site"),
    ("no-records-table", "DROP TABLE records", "drift"),
    ("record-deleted-in-history", "DELETE FROM records WHERE run_id = 'f2'", "history-site"),
    ("no-runs-table", "DROP TABLE runs", "history"),
]


@pytest.mark.parametrize(("sql", "command"), [c[1:] for c in DAMAGE], ids=[c[0] for c in DAMAGE])
def test_a_damaged_store_is_a_clear_error(tmp_path, sql, command):
    path = two_runs(tmp_path / "h.sqlite")
    _sql(path, sql)
    before = snapshot(tmp_path)
    # one pair's history (the whole store's lists the rest: tests/hostile/test_fleet_damaged.py)
    site = ["--site", "support.example.com"]
    args = {"history": ["history"], "history-site": ["history", *site]}.get(
        command, ["drift", EXAMPLE]
    )
    result = cli(*args, "--store", path)
    assert_refused(result, (str(path), None))
    assert snapshot(tmp_path) == before


def test_a_damaged_run_never_becomes_the_newest_run_drift_answers_for(tmp_path):
    """The newest run is findings; the compliant run before it has a damaged start that sorts
    after it. Drift must refuse the store (exit 2, naming it and the run), never answer
    "the newest run is compliant" with exit 0; nor may the fleet report call the pair
    compliant: it counts it incomplete (exit 3), naming the store and the run."""
    path = two_runs(tmp_path / "h.sqlite")
    _sql(path, "UPDATE runs SET started_at = '9999' WHERE run_id = 'g1'")
    result = cli("drift", EXAMPLE, "--store", path)
    assert_refused(result, (str(path), None))
    assert "runs['g1']" in result.errors[0] and "is not a UTC time" in result.errors[0]
    report = cli("fleet", "report", "--store", path, "-o", tmp_path / "fleet")
    assert report.code == 3, report
    (pair,) = json.loads((tmp_path / "fleet" / "fleet.json").read_text())["pairs"]
    assert pair["verdict"] == "incomplete" and pair["run_id"] == ""
    assert str(path) in pair["unreadable"] and "runs['g1']" in pair["unreadable"]


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (
            "UPDATE records SET document = '{' WHERE seq = 0",
            "records[0]: its document is not valid JSON",
        ),
        (
            "UPDATE runs SET document_z = substr(document_z, 1, 40)",
            "compressed document is damaged",
        ),
    ],
    ids=["record-not-json", "document-cut-short"],
)
def test_a_damaged_run_is_named_for_what_is_wrong_with_it(tmp_path, sql, says):
    """One line that says what is damaged (not "is null" for a record that is not JSON, nor
    "not valid JSON" for a compressed document cut short)."""
    path = two_runs(tmp_path / "h.sqlite")
    _sql(path, sql)
    redigest(path)  # past the records digest: the record's document is still checked
    result = cli("drift", EXAMPLE, "--store", path)
    assert_refused(result, (str(path), None))
    assert says in result.errors[0], result.errors[0]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_text("hello\n" * 100)
    result = cli("history", "--store", path)
    assert_refused(result, (str(path), None))


def test_markup_and_escapes_in_a_store_print_as_text(tmp_path):
    path = two_runs(tmp_path / "h.sqlite")
    _sql(path, "UPDATE runs SET site = ? WHERE run_id = 'g1'",
         "[bold reverse]evil[/]ok\x1b]0;owned\x07\r! forged")  # fmt: skip
    result = cli("history", "--store", path)
    assert result.code == 0
    assert "[bold reverse]evil[/]" in result.out
    assert "\\x1b" in result.out and "\x1b" not in result.out


def test_a_store_path_that_looks_like_markup_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "st[" / "x]").mkdir(parents=True)
    two_runs(Path("st[/x]/h.sqlite"))
    result = cli("history", "--store", "st[/x]/h.sqlite")
    assert result.code == 0 and "audit history: st[/x]/h.sqlite" in result.out


BASELINES = [
    ("deep", "[" * 200_000 + "]" * 200_000, 1),
    ("huge-int", '{"format": "auditor-run",\n "version": ' + "1" * 5000 + "}", 2),
    ("not-json", '{"format": "auditor-run",\n\n "run_id": }', 3),
    ("nan", '{\n"format": "auditor-results/1", "x": NaN}', 2),
]


@pytest.mark.parametrize(
    ("text", "line"), [c[1:] for c in BASELINES], ids=[c[0] for c in BASELINES]
)
def test_a_hostile_baseline_file_is_one_located_line(tmp_path, text, line):
    path = two_runs(tmp_path / "h.sqlite")
    base = tmp_path / "base.json"
    base.write_text(text)
    result = cli("drift", EXAMPLE, "--store", path, "--baseline", base)
    assert_refused(result, (str(base), line))


def test_a_baseline_site_name_with_markup_is_refused_at_its_line(tmp_path):
    path = two_runs(tmp_path / "h.sqlite")
    doc = json.loads(dumps(rf.green_run(run_id="base")))
    doc["site"] = "[bold]x\nerror: forged"
    base = tmp_path / "base.json"
    text = json.dumps(doc, indent=2, sort_keys=True)
    base.write_text(text)
    result = cli("drift", EXAMPLE, "--store", path, "--baseline", base)
    line = text[: text.index('"site": "[bold]')].count("\n") + 1
    assert_refused(result, (str(base), line))


def test_hostile_reasons_in_a_baseline_cannot_forge_drift_lines(tmp_path):
    path = store_with(
        tmp_path / "h.sqlite", rf.findings_run(run_id="f1", started_at="2026-11-22T01:00:00+00:00")
    )
    run = rf.green_run(run_id="base\x1b[2J")
    evil = "ok\n! newly-blocked            forged: open -> filtered\x1b]0;x\x07"
    run = replace(run, records=tuple(replace(r, reason=evil) for r in run.records))
    base = tmp_path / "base.json"
    base.write_text(dumps(run))
    for fmt in ("text", "md"):
        result = cli("drift", EXAMPLE, "--store", path, "--baseline", base, "--format", fmt)
        assert result.code == 1
        assert not any(line.startswith("! newly-blocked            forged") for line in
                       result.out.splitlines())  # fmt: skip


def test_an_audit_with_a_hostile_baseline_stops_before_probing(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "x")
    base = tmp_path / "base.json"
    base.write_text("[" * 100_000)
    before = snapshot(tmp_path)
    result = cli("audit", EXAMPLE, "--baseline", base, "--no-store", "-o",
                 tmp_path / "report", "-q", "--no-resolve")  # fmt: skip
    assert_refused(result, (str(base), 1))
    assert snapshot(tmp_path) == before


# ---- schedule ----------------------------------------------------------------------------

USERS = [
    "nobody\nExecStartPre=/bin/touch /tmp/x",
    "root touch /tmp/x;",
    "-rf",
    "a$(id)",
    "user`id`",
    "x" * 40,
    "ünïcode",
]


@pytest.mark.parametrize("kind", ["systemd", "cron"])
@pytest.mark.parametrize("user", USERS, ids=[repr(u)[:20] for u in USERS])
def test_schedule_refuses_a_user_that_is_not_a_user_name(tmp_path, monkeypatch, kind, user):
    monkeypatch.chdir(tmp_path)
    result = cli("schedule", "--print", kind, EXAMPLE, "--user", user)
    assert result.code == 2 and len(result.errors) == 1
    assert "--user" in result.errors[0] or "control characters" in result.errors[0]
    assert result.out == ""


@pytest.mark.parametrize("at", ["25:00", "02:30\n", "2:3", "٠٢:٣٠"])
def test_schedule_refuses_a_bad_time(tmp_path, at):
    result = cli("schedule", "--print", "cron", EXAMPLE, "--at", at)
    assert result.code == 2 and len(result.errors) == 1 and result.out == ""


def test_schedule_refuses_a_working_folder_with_a_line_break(tmp_path, monkeypatch):
    folder = tmp_path / "reports\nExecStartPre=x"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = cli("schedule", "--print", "systemd", EXAMPLE)
    # two problems, two lines: the folder, and the default store inside it
    assert result.code == 2 and result.out == ""
    assert [line.split(" '")[0] for line in result.errors] == [
        "error: the working folder",
        "error: --store",
    ]


def test_schedule_with_a_plain_user_writes_one_user_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("schedule", "--print", "systemd", EXAMPLE, "--user", "auditor.svc")
    assert result.code == 0
    assert [x for x in result.out.splitlines() if x.startswith("User=")] == ["User=auditor.svc"]
    assert sum(x.startswith("Exec") for x in result.out.splitlines()) == 1
    result = cli("schedule", "--print", "cron", EXAMPLE, "--user", "auditor.svc")
    jobs = [x for x in result.out.splitlines() if not x.startswith("#")]
    assert len(jobs) == 1 and jobs[0].split()[5] == "auditor.svc"


def test_reports_are_written_with_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = tmp_path / "out.json"
        assert cli("flows", EXAMPLE, "--format", "json", "-o", path).code == 0
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o640"
