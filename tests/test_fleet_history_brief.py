"""The fleet report's per-pair history in brief is aggregated by the database (issue 23,
item 7: a year of runs is not read into the report): how many runs, since when the newest
verdict holds, the last green run, even when they lie before the newest 30 runs the trend
reads; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import report_factories as rf

from auditor.fleet.summary import SPARK_RUNS, read_summary
from auditor.history.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.lab)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


def at(day: int) -> str:
    """Day 1 is 2026-10-01."""
    if day <= 31:
        return f"2026-10-{day:02d}T01:00:00+00:00"
    return f"2026-11-{day - 31:02d}T01:00:00+00:00"


def test_since_and_last_green_reach_past_the_runs_the_trend_reads(store_url: str) -> None:
    store = Store(store_url)
    # support: green on day 1-2, then findings for 32 nights (since day 3; last green day 2)
    for day in range(1, 35):
        factory = rf.green_run if day <= 2 else rf.findings_run
        store.save_run(factory(run_id=f"s{day:02d}", started_at=at(day)))
    # other: findings on day 1, green ever since (since day 2), two runs within one second
    # at the end: findings recorded after green, so the newest verdict is findings since then
    other = {"inv": rf.inventory(site="other.example.com")}
    store.save_run(rf.findings_run(run_id="o01", started_at=at(1), **other))
    for day in range(2, 6):
        store.save_run(rf.green_run(run_id=f"o{day:02d}", started_at=at(day), **other))
    store.save_run(rf.findings_run(run_id="o00-last", started_at=at(5), **other))
    summary = read_summary(store)
    store.dispose()
    support, other_pair = (
        next(p for p in summary.pairs if p.pair == name)
        for name in ("support.example.com", "other.example.com")
    )
    assert (support.runs, support.verdict, support.since, support.last_green) == (
        34,
        "findings",
        at(3),
        at(2),
    )
    assert len(support.trend) == SPARK_RUNS and support.run_id == "s34"
    assert (other_pair.runs, other_pair.verdict, other_pair.since, other_pair.last_green) == (
        6,
        "findings",
        at(5),
        at(5),
    )
    assert other_pair.run_id == "o00-last" and len(other_pair.trend) == 6
