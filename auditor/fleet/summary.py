"""The fleet's state from the history store: per pair its verdict, since when, its last green
run, the flows blocked, failing and unverified, the drift that matters, and a trend (the share
of flows open over its recent runs). The store aggregates each pair's history (runs, since
when, last green); the trend is computed with pandas over each pair's newest runs; pure: rows
in, frozen data out (no clock)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from auditor.history.store import FleetRow, PairHistory
from auditor.model.record import Status
from auditor.model.verdict import Outcome, Verdict, exit_code, outcome_of, worst, worst_verdict

SPARK_RUNS = 30  # runs in a pair's trend sparkline


@dataclass(frozen=True, slots=True)
class FlowProblem:
    """A flow of the newest run that is not ok: its worst check."""

    flow: str  # "198.51.100.11 -> 203.0.113.10:636/tcp"
    provider: str
    outcome: str  # an Outcome value
    check: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class DriftLine:
    kind: str
    subject: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class PairSummary:
    pair: str  # the inventory's site name: the pair's key in the store
    group: str  # the fleet site it is probed at ("" when read from the store alone)
    run_id: str  # its newest run
    started_at: str
    verdict: str
    since: str  # the first run of the current verdict's streak
    last_green: str | None
    runs: int
    flows: int
    blocked: int
    failing: int
    unverified: int
    errors: int
    drift_measured: bool  # the newest run was compared with a baseline
    drift: tuple[DriftLine, ...]  # the drift that matters
    trend: tuple[float, ...]  # share of flows open, oldest first (at most SPARK_RUNS)
    report: str | None  # the newest run's report folder
    problems: tuple[FlowProblem, ...]
    stale: bool = False  # its newest run is older than the report's --max-age
    # why its history could not be read (a damaged run, no run recorded): counted incomplete
    unreadable: str | None = None

    @property
    def judged(self) -> Verdict:
        """Its verdict as the fleet counts it: a verdict too old vouches for nothing now."""
        if self.stale or self.unreadable is not None or self.verdict not in set(Verdict):
            return Verdict.INCOMPLETE
        return Verdict(self.verdict)


@dataclass(frozen=True, slots=True)
class FleetSummary:
    store: str
    pairs: tuple[PairSummary, ...]

    @property
    def verdict(self) -> Verdict:
        return worst_verdict(p.judged for p in self.pairs)

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)

    @property
    def newest(self) -> str:
        return max((p.started_at for p in self.pairs), default="")


def _problems(records: Sequence[tuple[str, ...]]) -> tuple[FlowProblem, ...]:
    """The newest run's flows that are not ok, by the one verdict's outcomes."""
    by_flow: dict[tuple[str, str, str, str], list[tuple[Outcome, tuple[str, ...]]]] = {}
    for rec in records:
        _run, source, destination, protocol, port, _provider, _check, status, _reason = rec
        try:
            outcome = outcome_of(Status(status))
        except ValueError:  # a status of a newer auditor: nothing proven by it here
            outcome = Outcome.ERROR
        by_flow.setdefault((source, destination, protocol, port), []).append((outcome, rec))
    found = []
    for (source, destination, protocol, port), checks in by_flow.items():
        bad = worst(o for o, _ in checks)
        if bad is Outcome.OK:
            continue
        rec = next(r for o, r in checks if o is bad)
        found.append(
            FlowProblem(
                flow=f"{source} -> {destination}:{port}/{protocol}",
                provider=rec[5],
                outcome=bad.value,
                check=rec[6],
                status=rec[7],
                reason=rec[8],
            )
        )
    return tuple(found)


def _drift_lines(drift: Mapping[str, Any] | None) -> tuple[DriftLine, ...]:
    if not drift:
        return ()
    return tuple(
        DriftLine(*(str(item.get(k, "")) for k in ("kind", "subject", "before", "after")))
        for item in drift.get("items", ())
        if isinstance(item, dict)
    )


def summarize(
    store: str,
    histories: Mapping[str, PairHistory],
    rows: Sequence[FleetRow],
    drift: Mapping[str, Mapping[str, Any] | None],
    records: Sequence[tuple[str, ...]],
    *,
    groups: Mapping[str, str] | None = None,
    unreadable: Mapping[str, str] | None = None,
) -> FleetSummary:
    """The fleet from each pair's history in brief and its newest runs (oldest first), the
    newest runs' drift and records; `groups` names each pair's fleet site (and limits the
    pairs to those: one of them without a run is unreadable, as is a pair in `unreadable`,
    pair -> why). The trend is computed with pandas over the newest runs."""
    import pandas as pd  # noqa: PLC0415

    why = dict(unreadable or {})
    if groups is not None:
        rows = [r for r in rows if r.site in groups]
        why = {p: w for p, w in why.items() if p in groups}
    rows = [r for r in rows if r.site in histories and r.site not in why]
    if groups is not None:
        recorded = {r.site for r in rows}
        for pair in groups:
            if pair not in recorded and pair not in why:
                why[pair] = f"{store}: no complete run of {pair} is recorded"
    lost = [_unreadable(p, (groups or {}).get(p, ""), w) for p, w in why.items()]
    if not rows:
        return FleetSummary(store, _in_order(lost))
    frame = pd.DataFrame(
        {
            "site": [r.site for r in rows],
            "flows": [r.counts.get("flows", 0) for r in rows],
            "ok": [r.counts.get("ok", 0) for r in rows],
        }
    )
    # the share of flows open in each run (NaN: a run without flows)
    frame["share"] = frame["ok"] / frame["flows"].where(frame["flows"] > 0)
    trend = frame.groupby("site", sort=False).tail(SPARK_RUNS).groupby("site")["share"].agg(list)
    newest = {r.site: r for r in rows}  # rows are oldest first: the last one wins
    by_run: dict[str, list[tuple[str, ...]]] = {}
    for rec in records:
        by_run.setdefault(rec[0], []).append(rec)
    pairs = lost
    for site, row in newest.items():
        history = histories[site]
        c = row.counts
        measured = drift.get(row.run_id)
        pairs.append(
            PairSummary(
                pair=site,
                group=(groups or {}).get(site, ""),
                run_id=row.run_id,
                started_at=row.started_at,
                verdict=row.verdict,
                since=history.since,
                last_green=history.last_green,
                runs=history.runs,
                flows=c.get("flows", 0),
                blocked=c.get("blocked", 0),
                failing=c.get("failed", 0),
                unverified=c.get("unverified", 0),
                errors=c.get("error", 0),
                drift_measured=measured is not None,
                drift=_drift_lines(measured),
                trend=tuple(
                    0.0 if math.isnan(x) else round(float(x), 4)  # NaN: a run without flows
                    for x in (trend[site] if site in trend.index else ())
                ),
                report=row.report,
                problems=_problems(by_run.get(row.run_id, [])),
            )
        )
    return FleetSummary(store, _in_order(pairs))


def _in_order(pairs: Sequence[PairSummary]) -> tuple[PairSummary, ...]:
    return tuple(sorted(pairs, key=lambda p: (p.group, p.pair)))


def _unreadable(pair: str, group: str, why: str) -> PairSummary:
    """A pair whose history could not be read: nothing of it is known but why."""
    return PairSummary(
        pair=pair, group=group, run_id="", started_at="", verdict=Verdict.INCOMPLETE.value,
        since="", last_green=None, runs=0, flows=0, blocked=0, failing=0, unverified=0,
        errors=0, drift_measured=False, drift=(), trend=(), report=None, problems=(),
        unreadable=why,
    )  # fmt: skip


def mark_stale(summary: FleetSummary, now: datetime, max_age: timedelta) -> FleetSummary:
    """Each pair whose newest run started more than `max_age` before `now` marked stale (the
    fleet report then counts it incomplete: a pair whose audits stopped is not green)."""
    pairs = tuple(
        p
        if p.unreadable is not None  # no run to date: incomplete already
        else replace(
            p, stale=datetime.fromisoformat(p.started_at.replace("Z", "+00:00")) < now - max_age
        )
        for p in summary.pairs
    )
    return replace(summary, pairs=pairs)


def read_summary(store: Any, groups: Mapping[str, str] | None = None) -> FleetSummary:
    """The summary of the pairs in `store` (an auditor.history.store.Store). A pair whose
    history is damaged is unreadable (counted incomplete, with why); the rest are read."""
    read = store.fleet_rows(list(groups) if groups is not None else None, recent=SPARK_RUNS)
    newest: dict[str, Any] = {}
    for row in read.rows:
        newest[row.site] = row
    ids = sorted(r.run_id for r in newest.values())
    bad_drift: dict[str, str] = {}
    drift = store.drift_of(ids, bad_drift)
    digests: dict[str, str | None] = {}
    records = store.records_of(ids, digests)
    held: dict[str, int] = {}
    for rec in records:
        held[rec[0]] = held.get(rec[0], 0) + 1
    unreadable = dict(read.damaged)
    for site, row in newest.items():
        # the newest run's drift, and its records as many and as they were written with
        problem = bad_drift.get(row.run_id) or store.records_problem(
            row, held.get(row.run_id, 0), digests.get(row.run_id)
        )
        if problem is not None:
            unreadable[site] = problem
    return summarize(
        store.display, read.histories, read.rows, drift, records, groups=groups,
        unreadable=unreadable,
    )  # fmt: skip
