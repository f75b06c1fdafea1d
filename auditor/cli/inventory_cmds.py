"""Commands on an inventory alone: check, flows, graph, schema."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.flow_questions import pair_source, write_failover, write_flows
from auditor.cli.options import (
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    output_option,
    rules_option,
    write_output,
)
from auditor.flows.derive import build_graph
from auditor.flows.graph import to_dot, to_graphml, to_json
from auditor.flows.prepare import prepare
from auditor.model.inventory import FailoverState


@click.command(
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
@max_flows_option
@no_resolve_option
@output_option
def flows(
    *,
    inventory: Path,
    fmt: str,
    state: str | None,
    what_if_failover: bool,
    source: str | None,
    rules: tuple[Path, ...],
    no_resolve: bool,
    output: Path | None,
    max_flows: int,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    ip = pair_source(prepared, source)
    if what_if_failover:
        write_failover(prepared, state, ip, fmt, output)
    else:
        write_flows(prepared, state, ip, fmt, output)
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
