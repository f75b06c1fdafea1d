"""Command: rules. Evidence in, the firewall change out (snippets, sheet, ticket)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.options import (
    OutputFolder,
    SafePath,
    accept_unverified_option,
    inventory_argument,
    max_evidence_age_option,
    max_flows_option,
    no_resolve_option,
    rules_option,
    write_atomic,
)
from auditor.cli.placement import Placement, placement_options
from auditor.cli.ruleset_options import auto_place, ruleset_options
from auditor.errors import UsageError
from auditor.model.findings import flow_results, tally_results
from auditor.model.verdict import Acceptance, exit_code
from auditor.outputs import check_target
from auditor.plan import Plan
from auditor.render import REGISTRY, OutputFormat
from auditor.report.summary import verdict_notes
from auditor.run import AuditRequest, gather_evidence, judge_evidence, plan_change, ready_audit
from auditor.textout import printable

if TYPE_CHECKING:
    from auditor.ruleset.proof import ChangeProofReport

ALL = "all"


@click.command(
    help="Plan the firewall rules that admit exactly the required flows the probes found "
    "blocked (and, unless --only-proven, those that could not be tested), and render them.\n\n"
    "Formats: " + "; ".join(f"{r.format}: {r.description}" for r in REGISTRY.values()) + ".\n\n"
    "One format prints to standard output unless -o DIR is given; --format all needs -o DIR.\n\n"
    "The evidence is judged as `audit` judges it (lint, allow-list, the proof against "
    "--ruleset): exit 0 compliant, 1 findings (a missing rule, a failing check, a conflict, a "
    "change not proven), 2 bad input, 3 no evidence decided anything, 4 unproven flows."
)
@inventory_argument
@click.option(
    "--results",
    multiple=True,
    type=SafePath(dir_okay=False, path_type=Path),
    help="A results document written by `auditor probe`. Repeatable: the documents of several "
    "probe hosts are merged per flow and check (disagreeing evidence is a conflict). "
    "Optional with --ruleset.",
)
@click.option(
    "--format",
    "fmts",
    multiple=True,
    type=click.Choice([*(f.value for f in OutputFormat), ALL]),
    default=(OutputFormat.IPTABLES.value,),
    show_default=True,
    help="Repeatable. all: every format (with --vendor V, V's alone of the vendor formats).",
)
@click.option(
    "-o",
    "--output-dir",
    type=OutputFolder(),
    default=None,
    help="Write the files into this folder (each atomically).",
)
@click.option("--only-proven", is_flag=True, help="Leave out flows that could not be tested.")
@accept_unverified_option
@placement_options
@click.option(
    "--any-inventory",
    is_flag=True,
    help="Use results probed with another inventory (or another version of it).",
)
@max_evidence_age_option
@ruleset_options
@rules_option
@max_flows_option
@no_resolve_option
def rules(
    *,
    inventory: Path,
    results: tuple[Path, ...],
    fmts: tuple[str, ...],
    output_dir: Path | None,
    only_proven: bool,
    accept: Acceptance,
    placement: Placement,
    any_inventory: bool,
    max_evidence_age: timedelta | None,
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
    **ruleset: Any,
) -> int:
    if ALL in fmts and output_dir is None:
        raise UsageError("--format all writes several files: give -o DIR")
    if not results and not ruleset["ruleset"]:
        raise UsageError("give the evidence: --results FILE (probes) and/or --ruleset FILE")
    formats = placement.formats(fmts)
    # The audit without probing and reports: the same stages, the same verdict.
    request = AuditRequest(
        inventory=inventory,
        rules_dirs=rules,
        resolve=not no_resolve,
        render=placement.options(
            inventory=str(inventory), results=str((results or ruleset["ruleset"])[0])
        ),
        formats=formats,
        only_proven=only_proven,
        evidence=results,
        any_inventory=any_inventory,
        max_evidence_age=max_evidence_age,
        **ruleset,
        auto_place=auto_place(),
        max_flows=max_flows,
        accept=accept,
        live=False,
    )
    ready = ready_audit(request)
    for warning in ready.warnings:
        click.echo(printable(f"warning: {warning}"), err=True)
    records, _, allowlist = gather_evidence(ready, None, None)
    plan, proof, files = plan_change(ready, records)
    verdict = judge_evidence(ready, records, allowlist, proof)
    if output_dir is None:
        if len(files) == 1:
            click.echo(next(iter(files.values())), nl=False)
        else:  # every multi-file format takes `#` comments
            click.echo(
                "".join(f"# ==> {name} <==\n{text}" for name, text in files.items()), nl=False
            )
    else:
        for name in files:  # every target checked before the first is written
            check_target(output_dir / name)
        for name, text in files.items():
            write_atomic(output_dir / name, text)
        click.echo(_summary(plan, output_dir, files), err=True)
    _warn_unproven(proof)
    for finding in allowlist:
        click.echo(printable(f"allow-list: {finding.message}"), err=True)
    flows = tally_results(flow_results(ready.prepared.flows, records))
    for note in verdict_notes(verdict, flows, accept):
        click.echo(note, err=True)
    return exit_code(verdict)


def _warn_unproven(proof: ChangeProofReport | None) -> None:
    if proof is not None and not proof.proven:
        click.echo(
            f"warning: the change is NOT proven against {', '.join(proof.rulesets)}: "
            f"{len(proof.still_missing)} required flow(s) still not admitted, "
            f"{len(proof.lost)} admitted before and not after, {len(proof.opened)} not "
            "required and opened (the ticket lists them)",
            err=True,
        )


def _summary(plan: Plan, output_dir: Path, files: dict[str, str]) -> str:
    c = plan.counts
    lines = [
        f"{len(plan.rules)} rule(s) for {c.missing} missing and "
        f"{0 if plan.only_proven else c.unverified} unverified flow(s) "
        f"of {c.required} required; {c.app_failed} reachable but failing (no rule)",
    ]
    lines += [f"  wrote {output_dir / name}" for name in files]
    return "\n".join(lines)
