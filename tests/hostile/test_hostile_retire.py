"""`history retire SITE --yes` with hostile SITE values: one line and exit 2 (a refused
argument, or no run of such a site), the store unchanged (no run removed, nothing recorded in
`retired`), no traceback, no escape echoed raw, no line as long as the value."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import report_factories as rf
from hostile_support import cli

from auditor.history.store import Store

PAIR = "support.example.com"
OTHER = "other.example.com"

HOSTILE = [
    ("ansi", "\x1b[2J\x1b[31mred\x1b[0m"),
    ("osc-title", "\x1b]0;owned\x07"),
    ("line-break", f"{PAIR}\nretired everything"),
    ("carriage-return", f"{PAIR}\r"),
    ("nul", f"{PAIR}\x00"),
    ("c1-csi", "\x9b2J"),
    ("bidi", "\u202emoc.elpmaxe.troppus"),
    ("long", "a" * 100_000),
    ("long-pair-prefix", PAIR + "x" * 5000),
    ("empty", ""),
    ("space", " "),
    ("trailing-space", f"{PAIR} "),
    ("case", PAIR.upper()),
    ("path", "../../../etc/passwd"),
    ("absolute-path", "/var/lib/auditor/reports/history.sqlite"),
    ("like-percent", "%"),
    ("like-underscore", "_"),
    ("like-prefix", "support%"),
    ("glob", "*"),
    ("sql-or", f"{PAIR}' OR '1'='1"),
    ("sql-drop", "x'; DROP TABLE runs; --"),
    ("sql-comment", f"{PAIR}'--"),
    ("markup", "[bold red]x[/]"),
    ("fullwidth", "\uff53\uff55\uff50\uff50\uff4f\uff52\uff54.example.com"),
]


def _store(path: Path) -> Path:
    store = Store(path)
    store.save_run(rf.green_run(run_id="g1", started_at="2026-11-21T01:00:00+00:00"))
    store.save_run(rf.findings_run(run_id="f2", started_at="2026-11-22T01:00:00+00:00"))
    other = rf.inventory(site=OTHER)
    store.save_run(rf.green_run(run_id="o1", inv=other, started_at="2026-11-21T02:00:00+00:00"))
    return path


def _held(path: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]], int]:
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT run_id, site FROM runs ORDER BY run_id").fetchall()
        retired = conn.execute("SELECT * FROM retired").fetchall()
        records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        conn.close()
    return runs, retired, records


@pytest.mark.parametrize("site", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_hostile_site_retires_nothing_and_says_so_in_one_line(tmp_path, site) -> None:
    path = _store(tmp_path / "h.sqlite")
    before = _held(path)
    result = cli("history", "retire", site, "--store", path, "--yes")
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.out == ""
    (line,) = result.err.splitlines()
    assert line.startswith("error: ") and len(line) < 400, line[:500]
    if site == "":  # said as nothing, visibly
        assert "no run of site '' is recorded" in line
    assert _held(path) == before
    # the pair itself is still there to retire, and goes alone
    result = cli("history", "retire", PAIR, "--store", path, "--yes")
    assert result.code == 0, result.err
    runs, retired, _ = _held(path)
    assert runs == [("o1", OTHER)] and [r[0] for r in retired] == [PAIR]


@pytest.mark.parametrize("site", ["\x1b[2J", "a" * 100_000, f"{PAIR}\nforged"])
def test_a_hostile_site_without_yes_changes_nothing(tmp_path, site) -> None:
    path = _store(tmp_path / "h.sqlite")
    before = _held(path)
    result = cli("history", "retire", site, "--store", path)
    assert result.code == 2 and result.out == ""
    (line,) = result.err.splitlines()
    assert len(line) < 400, line[:500]
    assert _held(path) == before


def test_a_site_of_hostile_name_in_the_store_is_retired_by_its_name(tmp_path) -> None:
    """A store that holds a pair named like SQL or markup (its inventory said so): retiring
    it by that name removes it alone, and the line says its name as text."""
    path = _store(tmp_path / "h.sqlite")
    odd = "x'; DROP TABLE runs; --[b]"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET site = ? WHERE run_id = 'o1'", (odd,))
    conn.close()
    result = cli("history", "retire", odd, "--store", path, "--yes")
    assert result.code == 0, result.err
    assert result.out.startswith(f"retired {odd}: 1 run(s) removed")
    runs, retired, _ = _held(path)
    assert runs == [("f2", PAIR), ("g1", PAIR)] and [r[0] for r in retired] == [odd]


@pytest.mark.parametrize("value", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_hostile_run_id_or_site_with_run_retires_nothing_and_says_so_in_one_line(
    tmp_path, value
) -> None:
    """`--run ID`: a hostile run id of the pair, or the pair's run under a hostile SITE, is
    one line (exit 2), the store unchanged; the run itself still retires alone."""
    path = _store(tmp_path / "h.sqlite")
    before = _held(path)
    for args in ((PAIR, "--run", value), (value, "--run", "g1")):
        result = cli("history", "retire", *args, "--store", path, "--yes")
        assert result.code == 2, (args, result.code, result.out, result.err)
        assert result.out == ""
        (line,) = result.err.splitlines()
        assert line.startswith("error: ") and len(line) < 400, line[:500]
        assert _held(path) == before
    result = cli("history", "retire", PAIR, "--run", "g1", "--store", path, "--yes")
    assert result.code == 0, result.err
    runs, retired, _ = _held(path)
    assert runs == [("f2", PAIR), ("o1", OTHER)] and [r[:1] + r[2:3] for r in retired] == [
        (PAIR, 1)
    ]
