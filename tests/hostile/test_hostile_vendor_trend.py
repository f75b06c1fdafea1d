"""Hostile vendor options (`--panos-device-group`, `--before`, `--vendor`, `--expires`) and a
hostile `trend` (a store that is no SQLite database, a FIFO, a device, bad counts): one line,
exit 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, cli, snapshot
from test_hostile_rules import results_text


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text(results_text(), encoding="utf-8")
    return tmp_path


VENDOR_CASES = [
    (["--format", "panos", "--panos-device-group", "a b;c"], "--panos-device-group"),
    (["--format", "panos", "--panos-device-group", "x" * 64], "--panos-device-group"),
    (["--format", "panos", "--panos-device-group", "-dg"], "--panos-device-group"),
    (["--format", "panos", "--before", "rule; delete"], "--before"),
    (["--format", "fortigate", "--before", "x y"], "--before"),
    (["--format", "srx", "--before", "$(id)"], "--before"),
    (["--format", "panos", "--vendor", "nope"], "--vendor"),
    (["--format", "request.csv", "--expires", "2026-02-30"], "expected a date"),
    (["--format", "request.csv", "--expires", "1e9"], "expected a date"),
    (["--format", "all", "-o", "out", "--expires", "'; DROP TABLE x"], "expected a date"),
]


@pytest.mark.parametrize(("args", "fragment"), VENDOR_CASES,
                         ids=[" ".join(c[0])[:40] for c in VENDOR_CASES])  # fmt: skip
def test_hostile_vendor_options_are_one_line_and_nothing_is_written(work, args, fragment):
    before = snapshot(work)
    result = cli("rules", EXAMPLE, "--no-resolve", "--results", "results.json", *args)
    assert result.code == 2
    assert len(result.errors) == 1 and fragment in result.errors[0], result.err
    assert snapshot(work) == before and not (work / "out").exists()


def _store(work: Path, kind: str) -> str:
    path = work / "h.sqlite"
    if kind == "text":
        path.write_text("not a database\n", encoding="utf-8")
    elif kind == "random":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "empty-sqlite-header":
        path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    return str(path)


@pytest.mark.parametrize("kind", ["text", "random", "empty-sqlite-header", "fifo", "folder"])
@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_trend_refuses_a_store_that_is_no_history_store(work, kind, fmt):
    store = _store(work, kind)
    before = snapshot(work)
    result = cli("trend", EXAMPLE, "--store", store, "--format", fmt, "-o", "t.out")
    assert result.code == 2 and len(result.errors) == 1, result.err
    assert snapshot(work) == before and not (work / "t.out").exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--runs", "0"], "--runs"),
    (["--runs", "-1"], "--runs"),
    (["--runs", "nan"], "--runs"),
    (["--runs", "\u0661\u0660"], "--runs"),  # Arabic-Indic digits
    (["--format", "pdf"], "--format"),
])  # fmt: skip
def test_trend_refuses_bad_options(work, args, fragment):
    result = cli("trend", EXAMPLE, "--store", "h.sqlite", *args)
    assert result.code == 2 and fragment in result.err
    assert not (work / "h.sqlite").exists()
