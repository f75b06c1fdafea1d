"""Command: rules. Evidence in, the firewall change out (snippets, sheet, ticket)."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.app import cli
from auditor.cli.options import (
    SafePath,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    rules_option,
    write_atomic,
)
from auditor.cli.placement import Placement, placement_options
from auditor.errors import UsageError
from auditor.flows.prepare import prepare
from auditor.plan import Plan, make_plan
from auditor.probe.document import read_results
from auditor.render import REGISTRY, OutputFormat

ALL = "all"


@cli.command(
    help="Plan the firewall rules that admit exactly the required flows the probes found "
    "blocked (and, unless --only-proven, those that could not be tested), and render them.\n\n"
    "Formats: " + "; ".join(f"{r.format}: {r.description}" for r in REGISTRY.values()) + ".\n\n"
    "One format prints to standard output unless -o DIR is given; --format all needs -o DIR.\n\n"
    "Exit 0 when no rule is needed, 1 when rules were generated, 2 on bad input."
)
@inventory_argument
@click.option(
    "--results",
    required=True,
    type=SafePath(dir_okay=False, path_type=Path),
    help="The results document written by `auditor probe`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*(f.value for f in OutputFormat), ALL]),
    default=OutputFormat.IPTABLES.value,
    show_default=True,
)
@click.option(
    "-o",
    "--output-dir",
    type=SafePath(file_okay=False, path_type=Path),
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
@rules_option
@max_flows_option
@no_resolve_option
def rules(
    *,
    inventory: Path,
    results: Path,
    fmt: str,
    output_dir: Path | None,
    only_proven: bool,
    placement: Placement,
    any_inventory: bool,
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
) -> int:
    if fmt == ALL and output_dir is None:
        raise UsageError("--format all writes several files: give -o DIR")
    options = placement.options(inventory=str(inventory), results=str(results))
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    document = read_results(results)
    if document.meta.inventory_digest != prepared.inventory.digest:
        message = (
            f"{results} was probed with another inventory or another version of it "
            f"({document.meta.inventory}, {document.meta.inventory_digest[:19]}...; this one "
            f"is {prepared.inventory.digest[:19]}...)"
        )
        if not any_inventory:
            # Evidence about other addresses would be called proven: refuse unless asked.
            raise UsageError(
                f"{message}: probe again with this inventory, or pass --any-inventory to use "
                "its evidence anyway"
            )
        click.echo(f"warning: {message}: flows it has no record of count as unverified", err=True)
    plan = make_plan(
        prepared.flows,
        document.records,
        site=prepared.inventory.site.name,
        only_proven=only_proven,
    )
    formats = list(OutputFormat) if fmt == ALL else [OutputFormat(fmt)]
    files: dict[str, str] = {}
    for each in formats:
        files.update(REGISTRY[each].render(plan, options))
    if output_dir is None:
        if len(files) == 1:
            click.echo(next(iter(files.values())), nl=False)
        else:  # every multi-file format takes `#` comments
            click.echo(
                "".join(f"# ==> {name} <==\n{text}" for name, text in files.items()), nl=False
            )
    else:
        for name, text in files.items():
            write_atomic(output_dir / name, text)
        click.echo(_summary(plan, output_dir, files), err=True)
    return 1 if plan.has_missing else 0


def _summary(plan: Plan, output_dir: Path, files: dict[str, str]) -> str:
    c = plan.counts
    lines = [
        f"{len(plan.rules)} rule(s) for {c.missing} missing and "
        f"{0 if plan.only_proven else c.unverified} unverified flow(s) "
        f"of {c.required} required; {c.app_failed} reachable but failing (no rule)",
    ]
    lines += [f"  wrote {output_dir / name}" for name in files]
    return "\n".join(lines)
