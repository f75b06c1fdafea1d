"""The `flows` command's questions (--state, --what-if-failover, --source): pick the answer, then
the format. The graph does the work (`flows.questions`); this only chooses and writes."""

from __future__ import annotations

from pathlib import Path

import click
from netaddr import AddrFormatError, IPAddress

from auditor.cli.options import write_output
from auditor.cli.tables import render_table
from auditor.flows.answers import (
    impact_table_rows,
    impact_title,
    impact_to_csv,
    impact_to_json,
    needs_title,
    needs_to_json,
)
from auditor.flows.export import flows_table_rows, flows_to_csv, flows_to_json
from auditor.flows.prepare import Prepared
from auditor.flows.questions import (
    current_state,
    pair_addresses,
    source_needs,
    state_flows,
    what_if_failover,
)
from auditor.model.inventory import BOTH_STATES, FailoverState


def pair_source(prepared: Prepared, text: str | None) -> IPAddress | None:
    """--source as an address of the pair; anything else is a usage error (exit 2)."""
    if text is None:
        return None
    known = pair_addresses(prepared.topology)
    try:
        ip = IPAddress(text)
    except (AddrFormatError, ValueError):
        ip = None
    if ip is None or ip not in known:
        raise click.BadParameter(
            f"{text!r} is not an address of the pair (expected one of: "
            f"{', '.join(str(a) for a in known)})",
            param_hint="'--source'",
        )
    return ip


def write_failover(
    prepared: Prepared, state: str | None, ip: IPAddress | None, fmt: str, output: Path | None
) -> None:
    """--what-if-failover: from --state, or from the state the inventory describes."""
    start = FailoverState(state) if state else current_state(prepared.inventory)
    impact = what_if_failover(prepared.topology, start)
    if ip is not None:
        impact = impact.only_source(ip)
    if fmt == "csv":
        write_output(impact_to_csv(impact), output)
    elif fmt == "json":
        write_output(impact_to_json(impact), output)
    else:
        header, *rows = impact_table_rows(impact)
        title = impact_title(impact, prepared.inventory.site.name)
        write_output(render_table(title, header, rows), output)


def write_flows(
    prepared: Prepared, state: str | None, ip: IPAddress | None, fmt: str, output: Path | None
) -> None:
    """The flow list, of one state or both, of one source or all."""
    states = (FailoverState(state),) if state else tuple(FailoverState)
    needs = source_needs(prepared.topology, ip, states) if ip is not None else None
    if needs is not None:
        flows = needs.flows
        title = needs_title(needs)
    else:
        flows = prepared.flows if state is None else state_flows(prepared.topology, states[0])
        where = "" if set(states) == BOTH_STATES else f" in {states[0].value}"
        title = f"{len(flows)} required flows for {prepared.inventory.site.name}{where}"
    if fmt == "csv":
        write_output(flows_to_csv(flows), output)
    elif fmt == "json":
        write_output(needs_to_json(needs) if needs is not None else flows_to_json(flows), output)
    else:
        header, *rows = flows_table_rows(flows)
        write_output(render_table(title, header, rows), output)
