"""Command: audit. Parses the options into an `AuditRequest`; the run is `auditor.run`'s."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from auditor.claim.request import claim_request
from auditor.cli.claim_cmd import claimed_prober
from auditor.cli.options import (
    IntRange,
    OutputFolder,
    SafePath,
    accept_unverified_option,
    claim_options,
    inventory_argument,
    max_evidence_age_option,
    max_flows_option,
    no_resolve_option,
    probe_options,
    rules_option,
    store_option,
)
from auditor.cli.placement import Placement, placement_options
from auditor.cli.progress import ProgressBar
from auditor.cli.ruleset_options import auto_place, ruleset_options
from auditor.cli.tables import SOURCE_VERDICT_HEADER, render_table, source_verdict_rows
from auditor.errors import UsageError
from auditor.history.location import StoreLocation
from auditor.model.findings import tally_results
from auditor.model.verdict import Acceptance, exit_code
from auditor.probe.engine import ProbeOptions
from auditor.probe_run import Prober
from auditor.render import OutputFormat
from auditor.report.summary import summary_lines, verdict_notes
from auditor.run import (
    AuditRequest,
    AuditResult,
    ReadyAudit,
    keep_audit,
    ready_audit,
    run_journaled,
)
from auditor.textout import printable


@click.command(
    help="Audit INVENTORY in one run: failover lint, required flows, probes from every source "
    "address (TCP, TLS, LDAP bind), missing rules, firewall snippets and reports, written to "
    "reports/<site>-<UTC timestamp>/ (report.html, report.md, results.json, flows.csv, "
    "junit.xml, run.json, rules/), and recorded in the history store.\n\n"
    "BASELINE (optional) is `last-green`, a run id from `auditor history`, or a run.json / "
    "results.json file: drift against it that matters makes the run non-compliant.\n\n"
    "Exit codes: 0 compliant (every required flow proven open, every check ok, no lint error, "
    "no conflict, no drift that matters); 1 findings; 2 bad input or usage; 3 incomplete (no "
    "evidence decided any flow, e.g. none of the pair's addresses is on this host); 4 "
    "unproven (nothing wrong, but flows no evidence decided: --accept-unverified N|N% accepts "
    "them knowingly)."
)
@inventory_argument
@click.option(
    "-o",
    "--output-dir",
    type=OutputFolder(),
    default=None,
    help="Report folder (default: reports/<site>-<UTC timestamp>/).",
)
@store_option
@click.option("--no-store", is_flag=True, help="Do not record the run in the history store.")
@click.option(
    "--keep",
    type=IntRange(min=1, max=100_000),
    default=None,
    metavar="N",
    help="Keep only the newest N report folders of this site in the default place "
    "(reports/<site>-<timestamp>/); older ones are removed. Default: keep all.",
)
@click.option("--baseline", default=None, metavar="BASELINE", help="Compare with this run.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice([*(f.value for f in OutputFormat), "all"]),
    default=("all",),
    show_default=True,
    help="Snippet formats to write into rules/ (repeatable). all: every format (with "
    "--vendor V, V's alone of the vendor formats).",
)
@probe_options
@claim_options
@click.option("--only-proven", is_flag=True, help="Leave unverified flows out of the snippets.")
@accept_unverified_option
@placement_options
@rules_option
@max_flows_option
@no_resolve_option
@click.option(
    "--evidence",
    multiple=True,
    type=SafePath(dir_okay=False, path_type=Path),
    help="Audit these results documents (from `auditor probe` on one or several hosts, merged "
    "per flow and check) instead of probing from this host. Repeatable.",
)
@click.option(
    "--any-inventory",
    is_flag=True,
    help="With --evidence: accept documents probed with another version of the inventory.",
)
@max_evidence_age_option
@ruleset_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def audit(
    *,
    inventory: Path,
    output_dir: Path | None,
    store: StoreLocation,
    no_store: bool,
    keep: int | None,
    baseline: str | None,
    formats: tuple[str, ...],
    timeout: float,
    concurrency: int,
    per_destination: int,
    retries: int,
    claim_iface: str | None,
    claim_mode: str | None,
    claim_gateways: tuple[str, ...],
    only_proven: bool,
    accept: Acceptance,
    placement: Placement,
    rules: tuple[Path, ...],
    no_resolve: bool,
    evidence: tuple[Path, ...],
    any_inventory: bool,
    max_evidence_age: timedelta | None,
    max_flows: int,
    quiet: bool,
    **ruleset: Any,
) -> int:
    claiming = claim_request(claim_iface, claim_mode, claim_gateways)
    if claiming is not None and evidence:
        raise UsageError("--claim probes; --evidence takes probes already made: give one of them")
    chosen = placement.formats(formats)
    request = AuditRequest(
        inventory=inventory,
        rules_dirs=rules,
        resolve=not no_resolve,
        probe=ProbeOptions(timeout, concurrency, per_destination, retries),
        render=placement.options(inventory=str(inventory), results="results.json"),
        formats=chosen,
        only_proven=only_proven,
        evidence=evidence,
        any_inventory=any_inventory,
        max_evidence_age=max_evidence_age,
        **ruleset,
        auto_place=auto_place(),
        max_flows=max_flows,
        baseline=baseline,
        store=None if no_store else store,
        output_dir=output_dir,
        keep=keep,
        accept=accept,
    )
    ready = ready_audit(request)  # every input read and checked: nothing is bad input after it
    for warning in ready.warnings:
        click.echo(printable(f"warning: {warning}"), err=True)
    flows = ready.prepared.flows
    with claimed_prober(claiming, ready.inventory, flows, quiet=quiet) as (prober, _):
        result = _run(ready, prober, quiet=quiet)
    folder = keep_audit(ready, result)
    run = result.run
    if not quiet:
        _print_summary(result, folder)
    for note in verdict_notes(run.verdict, tally_results(run.flow_results()), accept):
        click.echo(note, err=True)
    return exit_code(run.verdict)


def _run(ready: ReadyAudit, prober: Prober | None, *, quiet: bool) -> AuditResult:
    """The run, with a progress bar on a terminal; says where the finished probes are kept
    when it stops."""
    try:
        if not quiet and sys.stderr.isatty():
            with ProgressBar() as bar:
                return run_journaled(ready, observer=bar, prober=prober)
        return run_journaled(ready, prober=prober)
    except BaseException:
        if ready.journal.exists():
            click.echo(f"the audit stopped: finished probes are in {ready.journal}", err=True)
        raise


def _print_summary(result: AuditResult, folder: Path) -> None:
    run = result.run
    rows = source_verdict_rows(run.flows, run.records)
    click.echo(
        render_table(f"{run.site}: per source address", SOURCE_VERDICT_HEADER, rows), nl=False
    )
    click.echo("\n".join(summary_lines(run, result.plan, result.drift, folder, result.proof)))
