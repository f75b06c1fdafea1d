"""Commands on an inventory alone: check, flows, graph, schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.app import cli
from auditor.cli.options import (
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    output_option,
    rules_option,
    write_output,
)
from auditor.cli.tables import render_table
from auditor.flows.derive import build_graph
from auditor.flows.export import flows_table_rows, flows_to_csv, flows_to_json
from auditor.flows.graph import to_dot, to_graphml, to_json
from auditor.flows.limits import check_flow_budget
from auditor.flows.prepare import prepare
from auditor.inventory.lint import LintFinding, Severity, lint
from auditor.inventory.load import load_inventory
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
@max_flows_option
def check(inventory: Path, fmt: str, rules: tuple[Path, ...], max_flows: int) -> int:
    inv = load_inventory(inventory)
    kinds = load_packs(rules)
    check_kinds(inv, kinds)
    check_flow_budget(inv, kinds, max_flows)  # a flow bomb is not a PASS
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


@cli.command(help="List every flow the firewall must allow for INVENTORY, in both failover states.")
@inventory_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@rules_option
@max_flows_option
@no_resolve_option
@output_option
def flows(
    *,
    inventory: Path,
    fmt: str,
    rules: tuple[Path, ...],
    no_resolve: bool,
    output: Path | None,
    max_flows: int,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    if fmt == "csv":
        write_output(flows_to_csv(prepared.flows), output)
    elif fmt == "json":
        write_output(flows_to_json(prepared.flows), output)
    else:
        header, *rows = flows_table_rows(prepared.flows)
        title = f"{len(prepared.flows)} required flows for {prepared.inventory.site.name}"
        write_output(render_table(title, header, rows), output)
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
@max_flows_option
@no_resolve_option
@output_option
def graph(
    *,
    inventory: Path,
    fmt: str,
    rules: tuple[Path, ...],
    no_resolve: bool,
    output: Path | None,
    max_flows: int,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    g = build_graph(prepared.inventory, prepared.flows)
    exporters = {"json": to_json, "graphml": to_graphml, "dot": to_dot}
    write_output(exporters[fmt](g), output)
    return 0


@cli.command(help="Print a JSON Schema: the inventory's (default) or the probe results document's.")
@click.argument("which", type=click.Choice(["inventory", "results"]), default="inventory")
def schema(which: str) -> int:
    click.echo(schema_path(which).read_text(encoding="utf-8"), nl=False)
    return 0
