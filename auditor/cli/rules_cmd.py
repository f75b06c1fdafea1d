"""Command: rules. Evidence in, the firewall change out (snippets, sheet, ticket)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from auditor.cli.options import (
    OutputFolder,
    SafePath,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    rules_option,
    write_atomic,
)
from auditor.cli.placement import Placement, placement_options
from auditor.cli.ruleset_options import auto_place, panos_given, ruleset_options
from auditor.errors import UsageError
from auditor.evidence.load import load_evidence
from auditor.evidence.merge import merge_records
from auditor.flows.prepare import prepare
from auditor.outputs import check_target
from auditor.plan import Plan, make_plan
from auditor.policy.evidence import firewall_evidence
from auditor.render import REGISTRY, OutputFormat, render
from auditor.render.proof import proven_options
from auditor.ruleset.proof import ChangeProofReport

ALL = "all"


@click.command(
    help="Plan the firewall rules that admit exactly the required flows the probes found "
    "blocked (and, unless --only-proven, those that could not be tested), and render them.\n\n"
    "Formats: " + "; ".join(f"{r.format}: {r.description}" for r in REGISTRY.values()) + ".\n\n"
    "One format prints to standard output unless -o DIR is given; --format all needs -o DIR.\n\n"
    "Exit 0 when no rule is needed, 1 when rules were generated, 2 on bad input."
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
@placement_options
@click.option(
    "--any-inventory",
    is_flag=True,
    help="Use results probed with another inventory (or another version of it).",
)
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
    placement: Placement,
    any_inventory: bool,
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
    **ruleset: Any,
) -> int:
    if ALL in fmts and output_dir is None:
        raise UsageError("--format all writes several files: give -o DIR")
    if not results and not ruleset["ruleset"]:
        raise UsageError("give the evidence: --results FILE (probes) and/or --ruleset FILE")
    options = placement.options(
        inventory=str(inventory), results=str((results or ruleset["ruleset"])[0])
    )
    formats = placement.formats(fmts)
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    given = load_evidence(results, prepared.inventory, any_inventory=any_inventory)
    for warning in given.warnings:
        click.echo(f"warning: {warning}", err=True)
    panos = panos_given(ruleset, placement)
    from_ruleset = firewall_evidence(prepared.flows, **ruleset, panos=panos)
    records = given.records
    if from_ruleset is not None:
        records = merge_records([given.records, from_ruleset.records])
    plan = make_plan(
        prepared.flows,
        records,
        site=prepared.inventory.site.name,
        only_proven=only_proven,
    )
    proof: ChangeProofReport | None = None
    if from_ruleset is not None:
        # the jumps ahead of the first denying rule, the change proven against the ruleset
        options, proof = proven_options(plan, options, from_ruleset, auto_place())
        _warn_unproven(proof)
    files: dict[str, str] = {}
    for each in formats:
        files.update(render(each, plan, options, proof))
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
    unproven = proof is not None and not proof.proven
    return 1 if plan.has_missing or unproven else 0


def _warn_unproven(proof: ChangeProofReport) -> None:
    if not proof.proven:
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
