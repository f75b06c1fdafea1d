"""Trend: how each flow and each source fared over a site's recorded runs.

Per flow: the share of runs its reachability was open, the first and last run that saw it
blocked, and how often its outcome changed between consecutive runs (a flow that changes twice
or more flaps). Per source: the same, over its flows. Per certificate: the days left in each run.
Pure: runs in, plain frozen data out (pandas does the grouping, imported only when called).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from auditor.model.findings import FlowResult, Outcome, flow_results
from auditor.model.inventory import Flow, flow_sort_key
from auditor.model.record import ProbeRecord
from auditor.model.verdict import Verdict

if TYPE_CHECKING:
    import pandas as pd

# A flow whose outcome changed this often between consecutive runs flaps; a single change is a
# fix or a break, which first/last blocked already tell.
FLAP_CHANGES = 2


class TrendSource(Protocol):
    """What a trend reads of a run: an `AuditRun`, or the lighter `TrendRun` a store reads."""

    @property
    def run_id(self) -> str: ...
    @property
    def started_at(self) -> str: ...
    @property
    def verdict(self) -> Verdict: ...
    @property
    def flows(self) -> tuple[Flow, ...]: ...
    @property
    def records(self) -> tuple[ProbeRecord, ...]: ...
    def flow_results(self) -> tuple[FlowResult, ...]: ...


@dataclass(frozen=True, slots=True)
class TrendRun:
    """One recorded run as a trend reads it (`Store.trend_runs`): its id, start, verdict,
    required flows and records, without the rest of its document (inventory, snippets)."""

    run_id: str
    started_at: str
    verdict: Verdict
    flows: tuple[Flow, ...]
    records: tuple[ProbeRecord, ...]

    def flow_results(self) -> tuple[FlowResult, ...]:
        return flow_results(self.flows, self.records)


@dataclass(frozen=True, slots=True)
class Observation:
    """One required flow in one run: the plain data a trend is computed from."""

    run: int  # the run's position, oldest first
    started_at: str
    flow_rank: int  # the flow's position in flow order across all runs
    flow: str
    source_rank: int
    source: str
    provider: str
    outcome: str  # an Outcome value
    reach: str  # the reachability check's status ("open", "filtered", ..., "no-record")


@dataclass(frozen=True, slots=True)
class CertObservation:
    run: int
    started_at: str
    endpoint: str  # destination:port
    provider: str
    days_left: int


@dataclass(frozen=True, slots=True)
class RunPoint:
    run_id: str
    started_at: str
    verdict: str
    flows: int
    open: int
    blocked: int

    @property
    def open_share(self) -> float:
        return self.open / self.flows if self.flows else 0.0


@dataclass(frozen=True, slots=True)
class FlowTrend:
    flow: str  # "198.51.100.11 -> 203.0.113.10:636/tcp (corp-ad)"
    source: str
    provider: str
    runs: int  # runs that required this flow
    open: int  # of those, runs where its reachability was open
    first_blocked: str | None  # started_at of the first run that saw it blocked
    last_blocked: str | None
    changes: int  # outcome changes between consecutive runs that required it
    last: str  # the outcome in the newest run that required it

    @property
    def open_share(self) -> float:
        return self.open / self.runs if self.runs else 0.0

    @property
    def flapping(self) -> bool:
        return self.changes >= FLAP_CHANGES


@dataclass(frozen=True, slots=True)
class SourceTrend:
    source: str
    flows: int
    observations: int  # flow x run
    open: int
    blocked_runs: int  # runs in which any of its flows was blocked
    first_blocked: str | None
    last_blocked: str | None
    flapping: int  # its flows that flap

    @property
    def open_share(self) -> float:
        return self.open / self.observations if self.observations else 0.0


@dataclass(frozen=True, slots=True)
class CertPoint:
    run_id: str
    started_at: str
    days_left: int


@dataclass(frozen=True, slots=True)
class CertTrend:
    endpoint: str
    provider: str
    points: tuple[CertPoint, ...]  # oldest first; runs that saw no certificate are left out

    @property
    def latest(self) -> int:
        return self.points[-1].days_left

    @property
    def lowest(self) -> int:
        return min(p.days_left for p in self.points)


@dataclass(frozen=True, slots=True)
class Trend:
    site: str
    runs: tuple[RunPoint, ...]
    flows: tuple[FlowTrend, ...]  # flow order
    sources: tuple[SourceTrend, ...]  # IPv4 first, by address
    certificates: tuple[CertTrend, ...]  # by endpoint, provider

    @property
    def flapping(self) -> tuple[FlowTrend, ...]:
        return tuple(f for f in self.flows if f.flapping)

    def to_json(self) -> dict[str, Any]:
        def share(x: float) -> float:
            return round(x, 4)

        return {
            "site": self.site,
            "runs": [{**asdict(r), "open_share": share(r.open_share)} for r in self.runs],
            "flows": [
                {**asdict(f), "open_share": share(f.open_share), "flapping": f.flapping}
                for f in self.flows
            ],
            "sources": [{**asdict(s), "open_share": share(s.open_share)} for s in self.sources],
            "certificates": [
                {
                    "endpoint": c.endpoint,
                    "provider": c.provider,
                    "points": [asdict(p) for p in c.points],
                }
                for c in self.certificates
            ],
            "flapping": [f.flow for f in self.flapping],
        }


def flow_subject(flow: Flow) -> str:
    dest = str(flow.destination)
    if ":" in dest:
        dest = f"[{dest}]"
    return f"{flow.source} -> {dest}:{flow.port}/{flow.protocol.value} ({flow.provider})"


def observations(
    runs: Sequence[TrendSource],
) -> tuple[list[Observation], list[CertObservation]]:
    """Each run's flows with their outcomes, and the certificates it saw (runs oldest first)."""
    # what each distinct flow is written as, worked out once (a year of runs mostly
    # repeats the same flows; their addresses as text are most of the cost)
    text: dict[Flow, tuple[tuple[str, str, str, int], str, str]] = {}
    every = {}
    for run in runs:
        for f in run.flows:
            if f not in text:
                text[f] = (f.key, flow_subject(f), str(f.source))
            every[text[f][0]] = f
    flow_rank = {f.key: i for i, f in enumerate(sorted(every.values(), key=flow_sort_key))}
    sources = sorted({f.source for f in every.values()}, key=lambda ip: (ip.version, int(ip)))
    source_rank = {ip: i for i, ip in enumerate(sources)}
    obs: list[Observation] = []
    certs: list[CertObservation] = []
    for i, run in enumerate(runs):
        for result in run.flow_results():
            flow = result.flow
            key, subject, source = text[flow]
            obs.append(
                Observation(
                    run=i,
                    started_at=run.started_at,
                    flow_rank=flow_rank[key],
                    flow=subject,
                    source_rank=source_rank[flow.source],
                    source=source,
                    provider=flow.provider,
                    outcome=result.outcome.value,
                    reach=result.reach.status,
                )
            )
        seen: set[tuple[str, str]] = set()
        for rec in run.records:
            if rec.cert is None:
                continue
            dest = f"[{rec.destination}]" if ":" in rec.destination else rec.destination
            endpoint = f"{dest}:{rec.port}"
            if (endpoint, rec.provider) not in seen:  # one certificate per endpoint and run
                seen.add((endpoint, rec.provider))
                certs.append(
                    CertObservation(i, run.started_at, endpoint, rec.provider, rec.cert.days_left)
                )
    return obs, certs


def _frame(pd: Any, rows: Sequence[object], fields: Sequence[str]) -> pd.DataFrame:
    """Flat dataclasses as a frame, one column per field (dataclasses.asdict copies every
    value recursively: a third of a year's trend went there)."""
    return pd.DataFrame({f: [getattr(r, f) for r in rows] for f in fields}, columns=list(fields))


def compute_trend(site: str, runs: Sequence[TrendSource]) -> Trend:
    """The trend of `runs` (oldest first) of `site`."""
    import pandas as pd  # noqa: PLC0415  (0.35 s of start-up: only trend and drift need it)

    obs, certs = observations(runs)
    if not obs:
        return Trend(site, _run_points(runs, None), (), (), _cert_trends(runs, certs))
    frame = _frame(pd, obs, Observation.__slots__)
    frame = frame.sort_values(["flow_rank", "run"], kind="stable")
    frame["is_open"] = frame["reach"] == "open"
    frame["is_blocked"] = frame["outcome"] == Outcome.BLOCKED.value
    previous = frame.groupby("flow_rank")["outcome"].shift()
    frame["changed"] = previous.notna() & (previous != frame["outcome"])
    flows = _flow_trends(frame)
    return Trend(
        site=site,
        runs=_run_points(runs, frame),
        flows=flows,
        sources=_source_trends(frame, flows),
        certificates=_cert_trends(runs, certs),
    )


def _blocked_span(frame: pd.DataFrame, by: str) -> dict[Any, tuple[str, str]]:
    blocked = frame[frame["is_blocked"]].groupby(by)["started_at"].agg(["min", "max"])
    return {k: (str(row["min"]), str(row["max"])) for k, row in blocked.iterrows()}


def _flow_trends(frame: pd.DataFrame) -> tuple[FlowTrend, ...]:
    per_flow = frame.groupby("flow_rank", sort=True).agg(
        flow=("flow", "first"),
        source=("source", "first"),
        provider=("provider", "last"),
        runs=("run", "size"),
        open=("is_open", "sum"),
        changes=("changed", "sum"),
        last=("outcome", "last"),
    )
    span = _blocked_span(frame, "flow_rank")
    return tuple(
        FlowTrend(
            flow=str(row["flow"]),
            source=str(row["source"]),
            provider=str(row["provider"]),
            runs=int(row["runs"]),
            open=int(row["open"]),
            first_blocked=span[rank][0] if rank in span else None,
            last_blocked=span[rank][1] if rank in span else None,
            changes=int(row["changes"]),
            last=str(row["last"]),
        )
        for rank, row in per_flow.iterrows()
    )


def _source_trends(frame: pd.DataFrame, flows: Sequence[FlowTrend]) -> tuple[SourceTrend, ...]:
    per_source = frame.groupby("source_rank", sort=True).agg(
        source=("source", "first"),
        flows=("flow_rank", "nunique"),
        observations=("run", "size"),
        open=("is_open", "sum"),
    )
    blocked_runs = frame[frame["is_blocked"]].groupby("source_rank")["run"].nunique()
    span = _blocked_span(frame, "source_rank")
    flapping: dict[str, int] = {}
    for f in flows:
        flapping[f.source] = flapping.get(f.source, 0) + int(f.flapping)
    return tuple(
        SourceTrend(
            source=str(row["source"]),
            flows=int(row["flows"]),
            observations=int(row["observations"]),
            open=int(row["open"]),
            blocked_runs=int(blocked_runs.get(rank, 0)),
            first_blocked=span[rank][0] if rank in span else None,
            last_blocked=span[rank][1] if rank in span else None,
            flapping=flapping.get(str(row["source"]), 0),
        )
        for rank, row in per_source.iterrows()
    )


def _run_points(runs: Sequence[TrendSource], frame: pd.DataFrame | None) -> tuple[RunPoint, ...]:
    per_run = (
        None
        if frame is None
        else frame.groupby("run").agg(
            flows=("flow_rank", "size"), open=("is_open", "sum"), blocked=("is_blocked", "sum")
        )
    )
    rows: dict[Any, dict[Any, Any]] = per_run.to_dict("index") if per_run is not None else {}
    points = []
    for i, run in enumerate(runs):
        row = rows.get(i)
        points.append(
            RunPoint(
                run_id=run.run_id,
                started_at=run.started_at,
                verdict=run.verdict.value,
                flows=int(row["flows"]) if row is not None else 0,
                open=int(row["open"]) if row is not None else 0,
                blocked=int(row["blocked"]) if row is not None else 0,
            )
        )
    return tuple(points)


def _cert_trends(
    runs: Sequence[TrendSource], certs: Sequence[CertObservation]
) -> tuple[CertTrend, ...]:
    import pandas as pd  # noqa: PLC0415

    if not certs:
        return ()
    frame = _frame(pd, certs, CertObservation.__slots__)
    out = []
    for (endpoint, provider), group in frame.groupby(["endpoint", "provider"], sort=True):
        points = tuple(
            CertPoint(runs[int(r["run"])].run_id, str(r["started_at"]), int(r["days_left"]))
            for r in group.sort_values("run").to_dict("records")
        )
        out.append(CertTrend(str(endpoint), str(provider), points))
    return tuple(out)


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def render_trend_text(trend: Trend) -> str:
    """The trend as plain text: runs, flows, sources, certificates, flapping flows."""
    if not trend.runs:
        return f"trend of {trend.site}: no recorded run\n"
    lines = [
        f"trend of {trend.site}: {len(trend.runs)} run(s), "
        f"{trend.runs[0].started_at} .. {trend.runs[-1].started_at}",
        "",
        "runs",
        *_table(
            ("started", "run", "verdict", "open", "blocked"),
            [
                (r.started_at, r.run_id, r.verdict, f"{r.open}/{r.flows}", str(r.blocked))
                for r in trend.runs
            ],
        ),
        "",
        "flows",
        *_flow_lines(trend),
        "",
        "sources",
        *_source_lines(trend),
        "",
        "certificates (days left, oldest run first)",
        *(
            f"  {c.endpoint} ({c.provider}): " + " ".join(str(p.days_left) for p in c.points)
            for c in trend.certificates
        ),
    ]
    if not trend.certificates:
        lines.append("  none seen")
    flapping = trend.flapping
    lines += ["", f"flapping flows (outcome changed {FLAP_CHANGES} or more times): {len(flapping)}"]
    lines += [f"  {f.flow}: {f.changes} changes, now {f.last}" for f in flapping]
    return "\n".join(lines) + "\n"


def _flow_lines(trend: Trend) -> list[str]:
    return _table(
        ("flow", "open", "first blocked", "last blocked", "changes", "last"),
        [
            (
                f.flow,
                f"{percent(f.open_share)} ({f.open}/{f.runs})",
                f.first_blocked or "-",
                f.last_blocked or "-",
                str(f.changes),
                f.last,
            )
            for f in trend.flows
        ],
    )


def _source_lines(trend: Trend) -> list[str]:
    return _table(
        ("source", "flows", "open", "blocked runs", "first blocked", "last blocked", "flapping"),
        [
            (
                s.source,
                str(s.flows),
                f"{percent(s.open_share)} ({s.open}/{s.observations})",
                str(s.blocked_runs),
                s.first_blocked or "-",
                s.last_blocked or "-",
                str(s.flapping),
            )
            for s in trend.sources
        ],
    )


def render_trend_json(trend: Trend) -> str:
    return json.dumps(trend.to_json(), indent=2, sort_keys=True) + "\n"
