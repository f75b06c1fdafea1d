"""The report's content, computed once from a run: the HTML and Markdown templates both render
this, so they carry the same facts in the same order."""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress

from auditor.history.drift import EXPIRY_WARN_DAYS, DriftReport
from auditor.model.findings import (
    AuditRun,
    Counts,
    FlowResult,
    LintLike,
    count,
    is_lint_error,
    tally_results,
)
from auditor.model.inventory import Flow
from auditor.model.livestate import ApplianceAnswer, LiveState, Severity
from auditor.model.verdict import Outcome, Tally, Verdict

SYMBOL = {
    Outcome.OK: "✔",
    Outcome.BLOCKED: "✘",
    Outcome.FAILING: "✘",
    Outcome.ERROR: "!",
    Outcome.UNVERIFIED: "?",
}

VERDICT_TEXT = {
    "compliant": "every required flow is proven open, every check passed, no lint error, no drift.",
    "findings": "the firewall, the providers or the inventory need changes (details below).",
    "incomplete": "no evidence decided any required flow (nothing could be probed from this host).",
    "unproven": "nothing wrong was found, but not every required flow was proven.",
}


def verdict_text(run: AuditRun, flows: Tally) -> str:
    """The banner's sentence: for an unproven run (or one whose unproven flows were accepted)
    how many flows no evidence decided, and why."""
    text = VERDICT_TEXT[run.verdict.value]
    if not flows.unverified or run.verdict is Verdict.FINDINGS:
        return text
    why = f"{flows.unverified} of {flows.flows} required flows unproven ({flows.unproven_text})"
    if run.verdict is Verdict.UNPROVEN:
        return f"{text} {why}; --accept-unverified {flows.unverified} accepts them knowingly."
    if run.verdict is Verdict.COMPLIANT:
        return f"{text[:-1]}, except {why}, accepted (--accept-unverified {run.accepted})."
    return text


def endpoint_text(flow: Flow) -> str:
    """`203.0.113.10:636/tcp`, IPv6 in brackets."""
    dest = str(flow.destination)
    if ":" in dest:
        dest = f"[{dest}]"
    return f"{dest}:{flow.port}/{flow.protocol.value}"


def flow_name(flow: Flow) -> str:
    """`source -> destination:port/protocol`, the name a flow goes by in every report."""
    return f"{flow.source} -> {endpoint_text(flow)}"


@dataclass(frozen=True, slots=True)
class SourceRow:
    address: str
    role: str
    where: str  # "site1 (enabled), site2 (disabled)"
    enabled_anywhere: bool


@dataclass(frozen=True, slots=True)
class Column:
    provider: str
    endpoint: str  # destination:port/protocol
    key: tuple[str, str, str, int]  # without the source: (provider, destination, protocol, port)


@dataclass(frozen=True, slots=True)
class Cell:
    outcome: str  # an Outcome value, or "none" (not a required flow)
    symbol: str
    text: str
    reasons: str


@dataclass(frozen=True, slots=True)
class CertRow:
    provider: str
    endpoint: str
    subject: str
    issuer: str
    not_after: str
    san: str
    days_left: int
    warn: bool
    expired: bool


@dataclass(frozen=True, slots=True)
class LintRow:
    severity: str
    rule: str
    where: str
    message: str
    hint: str
    error: bool


@dataclass(frozen=True, slots=True)
class Problem:
    outcome: str
    provider: str
    name: str
    statuses: str
    reasons: str


@dataclass(frozen=True, slots=True)
class Snippet:
    filename: str
    text: str


@dataclass(frozen=True, slots=True)
class ApplianceStateRow:
    name: str
    side: str
    role: str  # failover_role as the appliance said, or why it could not be asked
    enabled_shared_ips: str
    last_sync: str


@dataclass(frozen=True, slots=True)
class StateFindingRow:
    severity: str
    message: str
    error: bool


@dataclass(frozen=True, slots=True)
class LiveStateView:
    """What the appliances' health API said, when the inventory has `health:` blocks."""

    status: str  # primary-active, backup-active, split-brain, unknown
    asked_at: str
    appliances: tuple[ApplianceStateRow, ...]
    findings: tuple[StateFindingRow, ...]


def _role(one: ApplianceAnswer) -> str:
    """failover_role as the appliance said, or why it did not say."""
    if one.failover_role is not None:
        return one.failover_role.value
    if one.failure is not None:
        return f"not answered: {one.failure.message}"
    return "not asked"


def live_state_view(live: LiveState | None) -> LiveStateView | None:
    if live is None:
        return None
    rows = tuple(
        ApplianceStateRow(
            name=one.name,
            side=one.side.value,
            role=_role(one),
            enabled_shared_ips=", ".join(map(str, one.enabled_shared_ips)),
            last_sync=one.last_sync_time or "",
        )
        for one in live.appliances
    )
    findings = tuple(
        StateFindingRow(f.severity.value, f.message, f.severity is Severity.ERROR)
        for f in live.findings
    )
    return LiveStateView(live.status.value, live.asked_at, rows, findings)


@dataclass(frozen=True, slots=True)
class AllowListRow:
    """A server that answers some of the pair's addresses and ignores others the firewall
    admits (auditor.evidence.allowlist)."""

    provider: str
    server: str  # `203.0.113.20 udp/1812 (lab-radius)`
    answered: str
    ignored: str
    evidence: str
    advice: str


def allowlist_rows(run: AuditRun) -> tuple[AllowListRow, ...]:
    return tuple(
        AllowListRow(
            f.provider, f.server, ", ".join(f.answered), ", ".join(f.ignored), f.evidence, f.advice
        )
        for f in run.allowlist
    )


@dataclass(frozen=True, slots=True)
class ReportView:
    run_id: str
    site: str
    site_description: str
    started_at: str
    finished_at: str
    inventory_source: str
    inventory_digest: str
    verdict: str
    verdict_text: str
    exit_code: int
    counts: Counts
    rows: tuple[SourceRow, ...]
    columns: tuple[Column, ...]
    cells: tuple[tuple[Cell, ...], ...]  # one tuple per row, one cell per column
    problems: tuple[Problem, ...]  # flows with any check not ok, worst first
    certs: tuple[CertRow, ...]
    lint: tuple[LintRow, ...]
    snippets: tuple[Snippet, ...]
    drift: DriftReport | None
    expiry_warn_days: int
    live_state: LiveStateView | None = None
    allowlist: tuple[AllowListRow, ...] = ()


def _rows(run: AuditRun) -> tuple[SourceRow, ...]:
    seen: dict[IPAddress, list[str]] = {}
    roles: dict[IPAddress, str] = {}
    enabled: dict[IPAddress, bool] = {}
    for appliance in run.inventory.pair.appliances:
        for a in appliance.addresses:
            state = "enabled" if a.enabled else "disabled"
            seen.setdefault(a.ip, []).append(f"{appliance.name} ({state})")
            roles[a.ip] = a.role.value
            enabled[a.ip] = enabled.get(a.ip, False) or a.enabled
    for flow in run.flows:
        if flow.source not in seen:
            seen[flow.source] = ["not in the inventory's pair"]
            roles[flow.source] = flow.source_role.value
            enabled[flow.source] = True
    order = sorted(seen, key=lambda ip: (int(ip.version), int(ip)))
    return tuple(SourceRow(str(ip), roles[ip], ", ".join(seen[ip]), enabled[ip]) for ip in order)


def link_note(flow: Flow) -> str:
    """Why an on-link flow gets no firewall rule ("" for a flow that crosses the firewall)."""
    if not flow.on_link:
        return ""
    return f"on-link ({flow.link}): no firewall between source and destination, no rule"


def _reasons(result: FlowResult) -> str:
    return "; ".join(r for r in (result.reasons, link_note(result.flow)) if r)


def _cell(result: FlowResult | None) -> Cell:
    if result is None:
        return Cell("none", "", "not required", "")
    outcome = result.outcome
    return Cell(outcome.value, SYMBOL[outcome], result.summary, _reasons(result))


def _matrix(
    run: AuditRun, results: tuple[FlowResult, ...], rows: tuple[SourceRow, ...]
) -> tuple[tuple[Column, ...], tuple[tuple[Cell, ...], ...]]:
    columns: dict[tuple[str, str, str, int], Column] = {}
    by_cell: dict[tuple[str, tuple[str, str, str, int]], FlowResult] = {}
    # Peer flows go last; results are already in flow order within a provider.
    provider_order = {p.name: i for i, p in enumerate(run.inventory.providers)}
    for r in results:
        f = r.flow
        key = (f.provider, str(f.destination), f.protocol.value, f.port)
        columns.setdefault(key, Column(f.provider, endpoint_text(f), key))
        by_cell[(str(f.source), key)] = r
    ordered = sorted(
        columns.values(),
        key=lambda c: (provider_order.get(c.provider, len(provider_order)), c.provider),
    )
    cells = tuple(tuple(_cell(by_cell.get((row.address, c.key))) for c in ordered) for row in rows)
    return tuple(ordered), cells


def _certs(run: AuditRun) -> tuple[CertRow, ...]:
    rows: dict[tuple[str, ...], CertRow] = {}
    for r in run.records:
        if r.cert is None:
            continue
        dest = f"[{r.destination}]" if ":" in r.destination else r.destination
        row = CertRow(
            provider=r.provider,
            endpoint=f"{dest}:{r.port}/{r.protocol}",
            subject=r.cert.subject,
            issuer=r.cert.issuer,
            not_after=r.cert.not_after,
            san=", ".join(r.cert.san),
            days_left=r.cert.days_left,
            warn=r.cert.days_left < EXPIRY_WARN_DAYS,
            expired=r.cert.days_left < 0,
        )
        rows.setdefault((row.provider, row.endpoint, row.subject, row.not_after), row)
    return tuple(sorted(rows.values(), key=lambda c: (c.days_left, c.provider, c.endpoint)))


def _lint(findings: tuple[LintLike, ...], source: str) -> tuple[LintRow, ...]:
    rows = [
        LintRow(
            severity=str(f.severity),
            rule=str(f.rule),
            where=f"{source}:{f.line}" if f.line is not None else source,
            message=f"{f.field}: {f.message}" if f.field else str(f.message),
            hint=str(f.hint or ""),
            error=is_lint_error(f),
        )
        for f in findings
    ]
    return tuple(sorted(rows, key=lambda r: (not r.error, r.where, r.rule)))


def _problems(results: tuple[FlowResult, ...]) -> tuple[Problem, ...]:
    rank = {o: i for i, o in enumerate(Outcome)}
    bad = [r for r in results if r.outcome is not Outcome.OK]
    bad.sort(key=lambda r: rank[r.outcome])  # stable: flow order within an outcome
    return tuple(
        Problem(r.outcome.value, r.flow.provider, flow_name(r.flow), r.summary, _reasons(r))
        for r in bad
    )


def report_content(
    run: AuditRun, drift: DriftReport | None = None
) -> tuple[ReportView, tuple[FlowResult, ...]]:
    """What the HTML and Markdown reports show: the view and the flow results (computed once
    when both are rendered)."""
    results = run.flow_results()
    return build_view(run, drift, results), results


def build_view(
    run: AuditRun,
    drift: DriftReport | None = None,
    results: tuple[FlowResult, ...] | None = None,
) -> ReportView:
    """The report's content; `results` is `run.flow_results()` when the caller has it."""
    if results is None:
        results = run.flow_results()
    rows = _rows(run)
    columns, cells = _matrix(run, results, rows)
    return ReportView(
        run_id=run.run_id,
        site=run.site,
        site_description=run.inventory.site.description or "",
        started_at=run.started_at,
        finished_at=run.finished_at,
        inventory_source=str(run.inventory.source),
        inventory_digest=run.inventory_digest,
        verdict=run.verdict.value,
        verdict_text=verdict_text(run, tally_results(results)),
        exit_code=run.exit_code,
        counts=count(results, run.lint),
        rows=rows,
        columns=columns,
        cells=cells,
        problems=_problems(results),
        certs=_certs(run),
        lint=_lint(run.lint, str(run.inventory.source)),
        snippets=tuple(Snippet(k, v) for k, v in sorted(run.snippets.items())),
        drift=drift,
        expiry_warn_days=EXPIRY_WARN_DAYS,
        live_state=live_state_view(run.live_state),
        allowlist=allowlist_rows(run),
    )
