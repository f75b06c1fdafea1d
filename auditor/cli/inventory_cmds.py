"""Commands on an inventory alone: check, flows, graph, schema."""

from __future__ import annotations

from pathlib import Path

import click

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
from auditor.flows.prepare import prepare


@click.command(
    help="List every flow the firewall must allow for INVENTORY, in both failover states."
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


@click.command(help="Export the flow graph of INVENTORY (appliances, addresses, providers, flows).")
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
