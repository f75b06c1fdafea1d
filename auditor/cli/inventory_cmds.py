"""Commands on an inventory alone: check, flows, graph, schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.app import cli
from auditor.cli.flow_questions import pair_source, write_failover, write_flows
from auditor.cli.options import (
    inventory_argument,
    no_resolve_option,
    output_option,
    rules_option,
    write_output,
)
from auditor.flows.derive import build_graph
from auditor.flows.graph import to_dot, to_graphml, to_json
from auditor.flows.prepare import prepare
from auditor.inventory.lint import LintFinding, Severity, lint
from auditor.inventory.load import load_inventory
from auditor.inventory.model import FailoverState
from auditor.inventory.packs import check_kinds, load_packs
from auditor.resources import schema_path


@cli.command(
    help="Lint the failover configuration of INVENTORY.\n\n"
    "Exit 0 when clean (warnings allowed), 1 when any error-level finding, 2 on invalid input."
)
@inventory_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@rules_option
def check(inventory: Path, fmt: str, rules: tuple[Path, ...]) -> int:
    inv = load_inventory(inventory)
    check_kinds(inv, load_packs(rules))
    findings = lint(inv)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = len(findings) - errors
    if fmt == "json":
        doc = {
            "inventory": str(inventory),
            "site": inv.site.name,
            "errors": errors,
            "warnings": warnings,
            "findings": [_finding_json(f) for f in findings],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        for finding in findings:
            click.echo(_finding_text(str(inventory), finding))
        verdict = "FAIL" if errors else "PASS"
        click.echo(
            f"{verdict}: {inv.site.name}: failover lint found {errors} error(s), "
            f"{warnings} warning(s)"
        )
    return 1 if errors else 0


def _finding_text(file: str, finding: LintFinding) -> str:
    where = f"{file}:{finding.line}" if finding.line is not None else file
    text = f"{where}: {finding.severity.value} [{finding.rule}] {finding.field}: {finding.message}"
    return f"{text}\n    fix: {finding.hint}" if finding.hint else text


def _finding_json(finding: LintFinding) -> dict[str, object]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "field": finding.field,
        "line": finding.line,
        "message": finding.message,
        "hint": finding.hint,
    }


@cli.command(
    help="List every flow the firewall must allow for INVENTORY, in both failover states.\n\n"
    "--state shows the flows of one failover state and which appliance needs each then; "
    "--what-if-failover shows which flows start, stop or move to the other appliance when the "
    "pair fails over (from --state, or from the state the inventory's enabled flags describe); "
    "--source IP shows which providers one address of the pair needs."
)
@inventory_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--state",
    type=click.Choice([s.value for s in FailoverState]),
    default=None,
    help="Only the flows needed in this failover state.",
)
@click.option(
    "--what-if-failover",
    is_flag=True,
    help="The flows that start, stop or move to the other appliance at a failover.",
)
@click.option("--source", metavar="IP", default=None, help="Only the flows from this address.")
@rules_option
@no_resolve_option
@output_option
def flows(  # noqa: PLR0917  (one parameter per option: click's calling convention)
    inventory: Path,
    fmt: str,
    state: str | None,
    what_if_failover: bool,
    source: str | None,
    rules: tuple[Path, ...],
    no_resolve: bool,
    output: Path | None,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve)
    ip = pair_source(prepared, source)
    if what_if_failover:
        write_failover(prepared, state, ip, fmt, output)
    else:
        write_flows(prepared, state, ip, fmt, output)
    return 0


@cli.command(help="Export the flow graph of INVENTORY (appliances, addresses, providers, flows).")
@inventory_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "graphml", "dot"]),
    default="json",
    show_default=True,
    help="Output format.",
)
@rules_option
@no_resolve_option
@output_option
def graph(
    inventory: Path, fmt: str, rules: tuple[Path, ...], no_resolve: bool, output: Path | None
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve)
    g = build_graph(prepared.inventory, prepared.flows)
    exporters = {"json": to_json, "graphml": to_graphml, "dot": to_dot}
    write_output(exporters[fmt](g), output)
    return 0


@cli.command(help="Print a JSON Schema: the inventory's (default) or the probe results document's.")
@click.argument("which", type=click.Choice(["inventory", "results"]), default="inventory")
def schema(which: str) -> int:
    click.echo(schema_path(which).read_text(encoding="utf-8"), nl=False)
    return 0
