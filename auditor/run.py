"""The audit job: lint, flows, probes, missing rules, snippets and reports, in one run.

Plain data in, plain data out: `run_audit` returns the run and the text of every report file;
the CLI writes them, stores the run and prints the summary. Progress goes to the observer.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.evidence.allowlist import AllowListFinding, ruleset_allowlist
from auditor.evidence.load import GivenEvidence, load_evidence
from auditor.evidence.merge import merge_records
from auditor.evidence.record import ProbeRecord
from auditor.findings import AuditRun, compute_verdict
from auditor.flows.export import flows_to_csv
from auditor.flows.limits import DEFAULT_MAX_FLOWS
from auditor.flows.prepare import Prepared, prepare
from auditor.history.baseline import BaselineLoader
from auditor.history.drift import DriftReport, judge
from auditor.inventory.lint import LintFinding, lint
from auditor.inventory.model import Inventory
from auditor.plan import Plan, make_plan
from auditor.probe.document import ResultsDocument, RunMeta
from auditor.probe.document import dumps as results_dumps
from auditor.probe.engine import ProbeObserver, ProbeOptions, probe_flows
from auditor.probe.preflight import preflight
from auditor.probe.secrets import Secret
from auditor.render import OutputFormat, render
from auditor.render.options import RenderOptions
from auditor.report.bundle import render_reports

if TYPE_CHECKING:
    from auditor.health.client import HealthClient

SNIPPET_DIR = "rules"


@dataclass(frozen=True, slots=True)
class AuditRequest:
    inventory: Path
    rules_dirs: tuple[Path, ...] = ()
    resolve: bool = True
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    render: RenderOptions = field(default_factory=RenderOptions)
    formats: tuple[OutputFormat, ...] = tuple(OutputFormat)
    only_proven: bool = False
    # Given evidence (results documents of one or several probe hosts) instead of probing.
    evidence: tuple[Path, ...] = ()
    any_inventory: bool = False
    # The firewall's ruleset as evidence too (auditor.ruleset): files, ipsets, where it sees
    # the flows; its records are merged with the probes' (disagreement is a conflict).
    ruleset: tuple[Path, ...] = ()
    ipset: tuple[Path, ...] = ()
    ruleset_hook: str = "FORWARD"
    in_interface: str | None = None
    out_interface: str | None = None
    max_flows: int = DEFAULT_MAX_FLOWS  # counted before any flow is built (flows.limits)


@dataclass(frozen=True, slots=True)
class AuditResult:
    run: AuditRun
    drift: DriftReport | None
    plan: Plan
    results: ResultsDocument
    files: Mapping[str, str]  # relative path -> text, every file of the report folder


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(site: str, moment: datetime) -> str:
    """`<site>-<UTC timestamp>-<4 hex>`: sortable, and unique for audits started together."""
    return f"{site}-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class ReadyAudit:
    """An audit whose every input has been read and checked: nothing can be bad input after
    this, so the caller may create folders and journals."""

    request: AuditRequest
    prepared: Prepared
    lint: tuple[LintFinding, ...]
    passwords: Mapping[str, Secret]
    evidence: GivenEvidence | None
    # Health API clients by appliance name (credentials read): empty without `health:` blocks.
    health: Mapping[str, HealthClient] = field(default_factory=dict)
    from_ruleset: tuple[ProbeRecord, ...] = ()  # method `ruleset`, when --ruleset was given

    @property
    def inventory(self) -> Inventory:
        return self.prepared.inventory


def ready_audit(request: AuditRequest) -> ReadyAudit:
    """Load the inventory and packs, lint, and read what the run needs (given evidence, or the
    CA files and bind passwords of a probe). Raises on bad input; touches no network."""
    prepared = prepare(
        request.inventory,
        rules_dirs=request.rules_dirs,
        resolve=request.resolve,
        max_flows=request.max_flows,
    )
    inventory = prepared.inventory
    rehearse_templates(request, prepared)
    health: Mapping[str, HealthClient] = {}
    if any(a.health is not None for a in inventory.pair.appliances):
        from auditor.health.pair import make_clients  # noqa: PLC0415

        health = make_clients(inventory, timeout=request.probe.timeout)
    from_ruleset = _ruleset_records(request, prepared)
    if request.evidence:
        given = load_evidence(request.evidence, inventory, any_inventory=request.any_inventory)
        return ReadyAudit(request, prepared, lint(inventory), {}, given, health, from_ruleset)
    passwords = preflight(inventory, prepared.flows)
    return ReadyAudit(request, prepared, lint(inventory), passwords, None, health, from_ruleset)


def _ruleset_records(request: AuditRequest, prepared: Prepared) -> tuple[ProbeRecord, ...]:
    if not request.ruleset:
        return ()
    from auditor.ruleset.evidence import ruleset_evidence  # noqa: PLC0415

    found = ruleset_evidence(
        prepared.flows,
        ruleset=request.ruleset,
        ipset=request.ipset,
        ruleset_hook=request.ruleset_hook,
        in_interface=request.in_interface,
        out_interface=request.out_interface,
    )
    return found.records if found is not None else ()


def ask_live_state(ready: ReadyAudit, now: datetime) -> Mapping[str, Any] | None:
    """Ask the appliances how the pair is (role, enabled shared IPs) and judge it; None when
    the inventory has no `health:` block. Every network outcome is in the document."""
    if not ready.health:
        return None
    from auditor.health.judge import judge  # noqa: PLC0415
    from auditor.health.pair import ask_pair  # noqa: PLC0415
    from auditor.health.render import to_json  # noqa: PLC0415

    inventory = ready.inventory
    state = ask_pair(
        inventory, timeout=ready.request.probe.timeout, clients=ready.health, now=lambda: now
    )
    return to_json(inventory, state, judge(inventory, state, now=now))


def run_audit(
    ready: ReadyAudit,
    *,
    observer: ProbeObserver | None = None,
    baseline: BaselineLoader | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    prober: Callable[..., tuple[ProbeRecord, ...]] | None = None,
) -> AuditResult:
    """Run one audit: probe (or take the given evidence), plan, render, judge. `prober` is
    probe_flows, or in claim mode probe_with_claim bound to the claimed addresses."""
    request, prepared, findings = ready.request, ready.prepared, ready.lint
    inventory = prepared.inventory
    started = clock()
    # The appliances first: the run is labelled with the failover state it saw.
    live_state = ask_live_state(ready, started)
    records, host, allowlist = gather_evidence(ready, observer, prober)
    finished = clock()
    results = ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=str(request.inventory),
            inventory_digest=inventory.digest,
            probing_host=host,
            started_at=utc_stamp(started),
            finished_at=utc_stamp(finished),
            options=_options_json(request),
        ),
        records=records,
    )
    plan = make_plan(
        prepared.flows, records, site=inventory.site.name, only_proven=request.only_proven
    )
    snippets: dict[str, str] = {}
    for fmt in request.formats:
        snippets.update(render(fmt, plan, request.render))
    run = AuditRun(
        run_id=new_run_id(inventory.site.name, started),
        site=inventory.site.name,
        started_at=utc_stamp(started),
        finished_at=utc_stamp(finished),
        inventory_digest=inventory.digest,
        inventory=inventory,
        flows=prepared.flows,
        records=records,
        verdict=compute_verdict(
            prepared.flows, records, findings, live_state=live_state, allowlist=allowlist
        ),
        lint=findings,
        snippets=snippets,
        live_state=live_state,
        allowlist=allowlist,
    )
    run, drift = judge(run, baseline(run) if baseline is not None else None)
    files: dict[str, str] = dict(render_reports(run, drift, templates=request.render.templates))
    files["results.json"] = results_dumps(results)
    files["flows.csv"] = flows_to_csv(prepared.flows)
    for name, text in snippets.items():
        files[f"{SNIPPET_DIR}/{name}"] = text
    return AuditResult(run=run, drift=drift, plan=plan, results=results, files=files)


def gather_evidence(
    ready: ReadyAudit,
    observer: ProbeObserver | None,
    prober: Callable[..., tuple[ProbeRecord, ...]] | None,
) -> tuple[tuple[ProbeRecord, ...], str, tuple[AllowListFinding, ...]]:
    """The run's records (probed here, or the given evidence; merged with the ruleset's), the
    host they come from, and the allow-list findings. Those are read from the records before
    the merge: merged, a server's silence and the ruleset's accept become one `conflict`."""
    request, prepared = ready.request, ready.prepared
    if ready.evidence is not None:
        records = ready.evidence.records
        host = ", ".join(dict.fromkeys(ready.evidence.hosts))
    else:
        records = (prober or probe_flows)(
            prepared.flows, prepared.inventory.providers, ready.passwords, request.probe, observer
        )
        host = socket.gethostname()
    allowlist = ruleset_allowlist(records, ready.from_ruleset)
    if ready.from_ruleset:
        records = merge_records([records, ready.from_ruleset])
    return records, host, allowlist


def rehearse_templates(request: AuditRequest, prepared: Prepared) -> None:
    """With a user's template folder, render every snippet and report once as if no flow had
    been probed (each flow then needs a rule): a template that fails (`{{ 1/0 }}`, a refused
    attribute) is bad input now, before anything is probed or written."""
    if request.render.templates is None:
        return  # the shipped templates are tested
    inventory = prepared.inventory
    findings = lint(inventory)
    plan = make_plan(prepared.flows, (), site=inventory.site.name, only_proven=False)
    snippets: dict[str, str] = {}
    for fmt in request.formats:
        snippets.update(render(fmt, plan, request.render))
    now = datetime.now(UTC)
    run = AuditRun(
        run_id=new_run_id(inventory.site.name, now),
        site=inventory.site.name,
        started_at=utc_stamp(now),
        finished_at=utc_stamp(now),
        inventory_digest=inventory.digest,
        inventory=inventory,
        flows=prepared.flows,
        records=(),
        verdict=compute_verdict(prepared.flows, (), findings),
        lint=findings,
        snippets=snippets,
    )
    render_reports(run, None, templates=request.render.templates)


def _live_state_lines(run: AuditRun) -> list[str]:
    if run.live_state is None:
        return []
    findings = run.live_state.get("findings", ())
    lines = [f"  live state (health API): {run.live_status}, {run.state_errors} error(s)"]
    lines += [f"    {f.get('severity')}: {f.get('message')}" for f in findings]
    return lines


def _options_json(request: AuditRequest) -> dict[str, object]:
    return {
        "timeout": request.probe.timeout,
        "concurrency": request.probe.concurrency,
        "per_destination": request.probe.per_destination,
        "retries": request.probe.retries,
        "rules": [str(r) for r in request.rules_dirs],
        "resolve": request.resolve,
        "only_proven": request.only_proven,
        "formats": [f.value for f in request.formats],
        "evidence": [str(p) for p in request.evidence],
    }


def summary_lines(result: AuditResult, folder: Path | None) -> Sequence[str]:
    """The one-screen summary the CLI prints."""
    run = result.run
    counts: dict[str, int] = {}
    for flow_result in run.flow_results():
        counts[flow_result.outcome.value] = counts.get(flow_result.outcome.value, 0) + 1
    plan = result.plan
    lines = [
        f"audit {run.run_id}: {run.verdict.value.upper()} (exit {run.exit_code})",
        *_live_state_lines(run),
        f"  site {run.site}: {len(run.flows)} required flows: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        f"  lint: {run.lint_errors()} error(s), {len(run.lint) - run.lint_errors()} warning(s)",
        f"  missing rules: {len(plan.rules)} rule(s) for {plan.counts.missing} blocked and "
        f"{0 if plan.only_proven else plan.counts.unverified} unverified flow(s); "
        f"{plan.counts.app_failed} reachable but failing (TLS/bind, no rule)",
    ]
    lines += [f"  allow-list: {f.message}" for f in run.allowlist]
    if result.drift is not None:
        lines.append(
            f"  drift against {result.drift.baseline_id}: {len(result.drift.items)} change(s)"
            + (" that matter" if result.drift.matters else ", none that matter")
        )
    if folder is not None:
        lines.append(f"  reports: {folder}/report.html (also report.md, junit.xml, rules/)")
    return lines
