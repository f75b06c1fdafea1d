"""`auditor check` (the failover lint) and `auditor schema`: no flows, no network, fast."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.options import (
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    rules_option,
)
from auditor.flows.limits import check_flow_budget
from auditor.flows.names import name_findings
from auditor.inventory.lint import LintFinding, Severity, lint, sort_findings
from auditor.inventory.load import load_inventory
from auditor.inventory.packs import check_kinds, load_packs
from auditor.model.verdict import exit_code, lint_verdict
from auditor.resources import schema_path


@click.command(
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
@no_resolve_option
def check(
    inventory: Path, fmt: str, rules: tuple[Path, ...], max_flows: int, no_resolve: bool
) -> int:
    inv = load_inventory(inventory)
    kinds = load_packs(rules)
    check_kinds(inv, kinds)
    check_flow_budget(inv, kinds, max_flows)  # counted, not built: a flow bomb is not a PASS
    findings = lint(inv)
    if not no_resolve:  # a name flows, probe and audit would refuse: a warning here
        findings = sort_findings((*findings, *name_findings(inv)))
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
    return exit_code(lint_verdict(errors))


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


@click.command(
    help="Print a JSON Schema: the inventory's (default), the probe results document's or "
    "the audit run document's."
)
@click.argument("which", type=click.Choice(["inventory", "results", "run"]), default="inventory")
def schema(which: str) -> int:
    click.echo(schema_path(which).read_text(encoding="utf-8"), nl=False)
    return 0
