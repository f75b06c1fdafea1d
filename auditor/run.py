"""The audit job: lint, flows, probes, missing rules, snippets and reports, in one run.

`ready_audit` reads and checks every input (inventory, baseline, store, report folder);
`run_audit` probes (or takes given evidence), plans, compares with the baseline and judges once;
`keep_audit` writes the report folder and records the run. The CLI only parses options and
prints. Progress goes to the observer; nothing here prints.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.evidence.allowlist import ruleset_allowlist
from auditor.evidence.load import DEFAULT_MAX_AGE, GivenEvidence, load_evidence
from auditor.evidence.merge import merge_records
from auditor.flows.export import flows_to_csv
from auditor.flows.limits import DEFAULT_MAX_FLOWS
from auditor.flows.prepare import Prepared, prepare
from auditor.history.baseline import load_baseline
from auditor.history.drift import DriftReport, Observation, changes, drift_report, matters
from auditor.history.location import StoreLocation
from auditor.history.store import Store
from auditor.inventory.lint import LintFinding, lint
from auditor.inventory.secrets import Secret
from auditor.model.allowlist import AllowListFinding
from auditor.model.findings import AuditRun, compute_verdict
from auditor.model.inventory import Inventory
from auditor.model.livestate import LiveState
from auditor.model.record import ProbeRecord
from auditor.model.results import ResultsDocument, results_document, utc_stamp
from auditor.model.results import dumps as results_dumps
from auditor.model.rundoc import run_to_json
from auditor.model.verdict import NO_ACCEPTANCE, Acceptance, Verdict
from auditor.plan import Plan, make_plan
from auditor.probe.engine import Observers, ProbeObserver, ProbeOptions, probe_flows
from auditor.probe.journal import Journal
from auditor.probe.preflight import preflight
from auditor.probe_run import Prober
from auditor.render import OutputFormat, render
from auditor.render.option_set import RenderOptions
from auditor.render.proof import AutoPlace, proven_options
from auditor.report.bundle import render_reports
from auditor.report.folder import check_report_folder, prune_reports, write_folder

if TYPE_CHECKING:
    from auditor.health.client import HealthClient
    from auditor.policy.evidence import FirewallEvidence
    from auditor.ruleset.proof import ChangeProofReport

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
    max_evidence_age: timedelta | None = DEFAULT_MAX_AGE  # older evidence is no proof
    # The firewall's ruleset as evidence too (auditor.ruleset): files, ipsets, where it sees
    # the flows; its records are merged with the probes' (disagreement is a conflict).
    ruleset: tuple[Path, ...] = ()
    ipset: tuple[Path, ...] = ()
    ruleset_hook: str = "FORWARD"
    in_interface: str | None = None
    out_interface: str | None = None
    local_address: tuple[str, ...] = ()  # the firewall's own addresses (addrtype)
    local_addresses: Path | None = None  # an `ip -j addr` dump of the firewall
    source_ports: str = ""  # the ephemeral range, LOW-HIGH ("": Linux's default)
    panos_vsys: str | None = None  # a PAN-OS --ruleset: its vsys, and FQDN objects resolved
    panos_resolve: bool = False
    # What the ruleset places (jump position, nft table) where the user did not say.
    auto_place: AutoPlace = field(default_factory=AutoPlace)
    max_flows: int = DEFAULT_MAX_FLOWS  # counted before any flow is built (flows.limits)
    # `last-green`, a run id of the store, or a run.json / results.json file (None: no drift).
    baseline: str | None = None
    store: StoreLocation | Path | None = None  # the history store (None: not recorded)
    output_dir: Path | None = None  # None: reports/<run id>/
    keep: int | None = None  # keep only the newest N report folders in the default place
    accept: Acceptance = NO_ACCEPTANCE  # unproven flows accepted as compliant
    # False: nothing is probed and no appliance is asked; the given evidence (results
    # documents, the ruleset) is all there is (`rules`).
    live: bool = True

    @property
    def report_parent(self) -> Path:
        """The folder the report folder (and the journal, while the run goes) is created in."""
        return (
            self.output_dir.parent if self.output_dir is not None else Path("reports")
        ).absolute()


@dataclass(frozen=True, slots=True)
class AuditResult:
    run: AuditRun
    drift: DriftReport | None
    plan: Plan
    results: ResultsDocument
    files: Mapping[str, str]  # relative path -> text, every file of the report folder
    proof: ChangeProofReport | None = None  # the change proven against --ruleset
    # run.json's document as data (`run_to_json(run)`): the store records it as it is,
    # without encoding the run a second time (None: the store encodes it)
    document: Mapping[str, Any] | None = None


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
    baseline: AuditRun | None = None  # the run drift is measured against
    # False: the baseline is only the run before this one (no compliant run yet): its drift
    # is measured and reported (alerts, the fleet report) but is no input of the verdict
    baseline_judges: bool = True
    store: Store | None = None  # the history store, checked (None: not recorded)
    ruleset: FirewallEvidence | None = None  # the evaluation, to place and prove the change

    @property
    def inventory(self) -> Inventory:
        return self.prepared.inventory

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the loaders warn of (evidence probed with another inventory, records of flows
        this inventory does not need): every command that loads shows them."""
        return self.evidence.warnings if self.evidence is not None else ()

    @property
    def journal(self) -> Path:
        """Finished probes are appended here while the run goes, kept if it stops."""
        return self.request.report_parent / f".audit-{os.getpid()}.journal.jsonl"


def ready_audit(request: AuditRequest) -> ReadyAudit:
    """Load the inventory and packs, lint, and read what the run needs (given evidence, or the
    CA files and bind passwords of a probe; the baseline; the store). Raises on bad input;
    touches no network: after this, nothing is bad input."""
    prepared = prepare(
        request.inventory,
        rules_dirs=request.rules_dirs,
        resolve=request.resolve,
        max_flows=request.max_flows,
    )
    inventory = prepared.inventory
    rehearse_templates(request, prepared)
    health = _health_clients(request, inventory) if request.live else {}
    found = _ruleset_evidence(request, prepared)
    from_ruleset = found.records if found is not None else ()
    given: GivenEvidence | None = None
    passwords: Mapping[str, Secret] = {}
    if request.evidence or not request.live:
        given = load_evidence(
            request.evidence,
            inventory,
            any_inventory=request.any_inventory,
            flows=prepared.flows,
            max_age=request.max_evidence_age,
        )
    else:
        passwords = preflight(inventory, prepared.flows)
    store = None if request.store is None else Store(request.store)
    baseline = load_baseline(
        request.baseline,
        db=store,
        inventory=inventory,
        flows=prepared.flows,
    )
    if store is not None:
        store.ensure()  # a bad or foreign store fails now, not after the probes
    if request.output_dir is not None:
        check_report_folder(request.output_dir)
    return ReadyAudit(
        request,
        prepared,
        lint(inventory),
        passwords,
        given,
        health=health,
        from_ruleset=from_ruleset,
        baseline=baseline,
        store=store,
        ruleset=found,
    )


def _health_clients(request: AuditRequest, inventory: Inventory) -> Mapping[str, HealthClient]:
    """The appliances' health API clients, credentials read (none without `health:` blocks)."""
    if all(a.health is None for a in inventory.pair.appliances):
        return {}
    from auditor.health.pair import make_clients  # noqa: PLC0415

    return make_clients(inventory, timeout=request.probe.timeout)


def _ruleset_evidence(request: AuditRequest, prepared: Prepared) -> FirewallEvidence | None:
    if not request.ruleset:
        return None
    from auditor.policy.evidence import PanosOptions, firewall_evidence  # noqa: PLC0415

    render = request.render
    return firewall_evidence(
        prepared.flows,
        ruleset=request.ruleset,
        ipset=request.ipset,
        ruleset_hook=request.ruleset_hook,
        in_interface=request.in_interface,
        out_interface=request.out_interface,
        local_address=request.local_address,
        local_addresses=request.local_addresses,
        source_ports=request.source_ports,
        panos=PanosOptions(
            request.panos_vsys,
            render.panos.device_group,
            render.panos.from_zone,
            render.panos.to_zone,
            request.panos_resolve,
        ),
    )


def ask_live_state(ready: ReadyAudit, now: datetime) -> LiveState | None:
    """Ask the appliances how the pair is (role, enabled shared IPs) and judge it; None when
    the inventory has no `health:` block. Every network outcome is in the live state."""
    if not ready.health:
        return None
    from auditor.health.judge import judge  # noqa: PLC0415
    from auditor.health.pair import ask_pair  # noqa: PLC0415
    from auditor.health.render import live_state  # noqa: PLC0415

    inventory = ready.inventory
    state = ask_pair(
        inventory, timeout=ready.request.probe.timeout, clients=ready.health, now=lambda: now
    )
    return live_state(inventory, state, judge(inventory, state, now=now))


def run_audit(
    ready: ReadyAudit,
    *,
    observer: ProbeObserver | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    prober: Prober | None = None,
) -> AuditResult:
    """Run one audit: probe (or take the given evidence), plan, render, compare with the
    baseline, judge once. `prober` is probe_flows, or in claim mode probe_with_claim bound to
    the claimed addresses."""
    request, prepared = ready.request, ready.prepared
    inventory = prepared.inventory
    started = clock()
    # The appliances first: the run is labelled with the failover state it saw.
    live_state = ask_live_state(ready, started)
    records, host, allowlist = gather_evidence(ready, observer, prober)
    finished = clock()
    results = results_document(
        inventory=request.inventory,
        digest=inventory.digest,
        host=host,
        started=started,
        finished=finished,
        options=_options_json(request),
        records=records,
    )
    plan, proof, snippets = plan_change(ready, records)
    # Drift is an input of the verdict, so it is measured before the run is judged.
    drift_items = None
    if ready.baseline is not None:
        drift_items = changes(ready.baseline, Observation(inventory, records, live_state))
    verdict = judge_evidence(
        ready,
        records,
        allowlist,
        proof,
        drift_matters=drift_items is not None and ready.baseline_judges and matters(drift_items),
        live_state=live_state,
    )
    run = AuditRun(
        run_id=new_run_id(inventory.site.name, started),
        site=inventory.site.name,
        started_at=results.meta.started_at,
        finished_at=results.meta.finished_at,
        inventory_digest=inventory.digest,
        inventory=inventory,
        flows=prepared.flows,
        records=records,
        verdict=verdict,
        lint=ready.lint,
        snippets=snippets,
        live_state=live_state,
        allowlist=allowlist,
        accept_unverified="" if request.accept == NO_ACCEPTANCE else str(request.accept),
    )
    drift = None
    if ready.baseline is not None and drift_items is not None:
        drift = drift_report(ready.baseline, run, drift_items)
    document = run_to_json(run)
    files = _report_files(run, drift, results, request, document)
    return AuditResult(
        run=run,
        drift=drift,
        plan=plan,
        results=results,
        files=files,
        proof=proof,
        document=document,
    )


def run_journaled(
    ready: ReadyAudit,
    *,
    observer: ProbeObserver | None = None,
    prober: Prober | None = None,
) -> AuditResult:
    """`run_audit` with every finished probe also appended to `ready.journal`. Whatever stops
    the run (Ctrl-C, a broken template, ...), a journal with probes in it is kept: they took
    the time. An empty one is removed."""
    watchers = (observer,) if observer is not None else ()
    with Journal(ready.journal) as journal:
        try:
            return run_audit(ready, observer=Observers(journal, *watchers), prober=prober)
        except BaseException:
            if not (ready.journal.exists() and ready.journal.stat().st_size):
                ready.journal.unlink(missing_ok=True)
            raise


def keep_audit(ready: ReadyAudit, result: AuditResult) -> Path:
    """Write the report folder (whole or not at all), drop the journal, prune the site's older
    report folders (with `keep`), record the run in the store; the report folder."""
    request = ready.request
    parent = request.report_parent
    if request.output_dir is not None:
        folder = request.output_dir.absolute()
    else:
        folder = parent / result.run.run_id
    write_folder(folder, result.files)
    ready.journal.unlink(missing_ok=True)
    if request.keep is not None and request.output_dir is None:
        prune_reports(parent, ready.inventory.site.name, request.keep, folder)
    if ready.store is not None:
        ready.store.save_run(
            result.run, drift=result.drift, report=folder, document=result.document
        )
    return folder


def _snippets(
    request: AuditRequest,
    plan: Plan,
    options: RenderOptions | None = None,
    proof: ChangeProofReport | None = None,
) -> dict[str, str]:
    snippets: dict[str, str] = {}
    for fmt in request.formats:
        snippets.update(render(fmt, plan, options or request.render, proof))
    return snippets


def _report_files(
    run: AuditRun,
    drift: DriftReport | None,
    results: ResultsDocument,
    request: AuditRequest,
    document: Mapping[str, Any],
) -> dict[str, str]:
    """Every file of the report folder, by its path there (`document`: the run's run.json
    document, `run_to_json(run)`)."""
    files: dict[str, str] = dict(
        render_reports(run, drift, templates=request.render.shared.templates, document=document)
    )
    files["results.json"] = results_dumps(results)
    files["flows.csv"] = flows_to_csv(run.flows)
    for name, text in run.snippets.items():
        files[f"{SNIPPET_DIR}/{name}"] = text
    return files


def plan_change(
    ready: ReadyAudit, records: tuple[ProbeRecord, ...]
) -> tuple[Plan, ChangeProofReport | None, dict[str, str]]:
    """The missing rules and every format's files; with --ruleset the jumps are placed by it
    and the change is proven against it (the proof, returned beside the files, is what the
    ticket shows)."""
    request = ready.request
    plan = make_plan(
        ready.prepared.flows,
        records,
        site=ready.inventory.site.name,
        only_proven=request.only_proven,
    )
    options, proof = request.render, None
    if ready.ruleset is not None:
        options, proof = proven_options(plan, options, ready.ruleset, request.auto_place)
    return plan, proof, _snippets(request, plan, options, proof)


def judge_evidence(
    ready: ReadyAudit,
    records: tuple[ProbeRecord, ...],
    allowlist: tuple[AllowListFinding, ...],
    proof: ChangeProofReport | None,
    *,
    drift_matters: bool = False,
    live_state: LiveState | None = None,
) -> Verdict:
    """The verdict of the run's evidence (`run_verdict`): `audit` and `rules` alike."""
    return compute_verdict(
        ready.prepared.flows,
        records,
        ready.lint,
        drift_matters=drift_matters,
        live_state=live_state,
        allowlist=allowlist,
        change_unproven=proof is not None and not proof.proven,
        accept=ready.request.accept,
    )


def gather_evidence(
    ready: ReadyAudit,
    observer: ProbeObserver | None,
    prober: Prober | None,
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
    if request.render.shared.templates is None:
        return  # the shipped templates are tested
    inventory = prepared.inventory
    findings = lint(inventory)
    plan = make_plan(prepared.flows, (), site=inventory.site.name, only_proven=False)
    snippets = _snippets(request, plan)
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
    render_reports(run, None, templates=request.render.shared.templates)


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
