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

from auditor import __version__
from auditor.findings import AuditRun, compute_verdict
from auditor.flows.export import flows_to_csv
from auditor.flows.prepare import Prepared, prepare
from auditor.history.drift import DriftReport, judge
from auditor.inventory.lint import lint
from auditor.plan import Plan, make_plan
from auditor.probe.document import ResultsDocument, RunMeta
from auditor.probe.document import dumps as results_dumps
from auditor.probe.engine import ProbeObserver, ProbeOptions, probe_flows
from auditor.probe.preflight import preflight
from auditor.probe.secrets import Secret
from auditor.render import OutputFormat, render
from auditor.render.options import RenderOptions
from auditor.report.bundle import render_reports

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


@dataclass(frozen=True, slots=True)
class AuditResult:
    run: AuditRun
    drift: DriftReport | None
    plan: Plan
    results: ResultsDocument
    files: Mapping[str, str]  # relative path -> text, every file of the report folder


BaselineLoader = Callable[[AuditRun], AuditRun | None]


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(site: str, moment: datetime) -> str:
    """`<site>-<UTC timestamp>-<4 hex>`: sortable, and unique for audits started together."""
    return f"{site}-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


def run_audit(
    request: AuditRequest,
    *,
    observer: ProbeObserver | None = None,
    baseline: BaselineLoader | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    prepared: Prepared | None = None,
    passwords: Mapping[str, Secret] | None = None,
) -> AuditResult:
    """Run one audit. Bad input (inventory, packs, a missing password) raises before any probe."""
    started = clock()
    prepared = prepared or prepare(
        request.inventory, rules_dirs=request.rules_dirs, resolve=request.resolve
    )
    inventory = prepared.inventory
    findings = lint(inventory)
    if passwords is None:  # the caller has not done the checks that come before probing
        passwords = preflight(inventory, prepared.flows)
        rehearse_templates(request, prepared)
    records = probe_flows(prepared.flows, inventory.providers, passwords, request.probe, observer)
    finished = clock()
    results = ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=str(request.inventory),
            inventory_digest=inventory.digest,
            probing_host=socket.gethostname(),
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
        verdict=compute_verdict(prepared.flows, records, findings),
        lint=findings,
        snippets=snippets,
    )
    run, drift = judge(run, baseline(run) if baseline is not None else None)
    files: dict[str, str] = dict(render_reports(run, drift, templates=request.render.templates))
    files["results.json"] = results_dumps(results)
    files["flows.csv"] = flows_to_csv(prepared.flows)
    for name, text in snippets.items():
        files[f"{SNIPPET_DIR}/{name}"] = text
    return AuditResult(run=run, drift=drift, plan=plan, results=results, files=files)


def rehearse_templates(request: AuditRequest, prepared: Prepared) -> None:
    """With a user's template folder, render every snippet and report once as if no flow had
    been probed (each flow then needs a rule): a template that fails (`{{ 1/0 }}`, a refused
    attribute) is bad input now, before the probes take their time."""
    if request.render.templates is None:
        return  # the shipped templates are tested
    inventory = prepared.inventory
    findings = lint(inventory)
    plan = make_plan(prepared.flows, (), site=inventory.site.name, only_proven=False)
    snippets: dict[str, str] = {}
    for fmt in request.formats:
        snippets.update(render(fmt, plan, request.render))
    stamp = utc_stamp(datetime.now(UTC))
    run = AuditRun(
        run_id=new_run_id(inventory.site.name, datetime.now(UTC)),
        site=inventory.site.name,
        started_at=stamp,
        finished_at=stamp,
        inventory_digest=inventory.digest,
        inventory=inventory,
        flows=prepared.flows,
        records=(),
        verdict=compute_verdict(prepared.flows, (), findings),
        lint=findings,
        snippets=snippets,
    )
    render_reports(run, None, templates=request.render.templates)


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
        f"  site {run.site}: {len(run.flows)} required flows: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        f"  lint: {run.lint_errors()} error(s), {len(run.lint) - run.lint_errors()} warning(s)",
        f"  missing rules: {len(plan.rules)} rule(s) for {plan.counts.missing} blocked and "
        f"{0 if plan.only_proven else plan.counts.unverified} unverified flow(s); "
        f"{plan.counts.app_failed} reachable but failing (TLS/bind, no rule)",
    ]
    if result.drift is not None:
        lines.append(
            f"  drift against {result.drift.baseline_id}: {len(result.drift.items)} change(s)"
            + (" that matter" if result.drift.matters else ", none that matter")
        )
    if folder is not None:
        lines.append(f"  reports: {folder}/report.html (also report.md, junit.xml, rules/)")
    return lines
