"""Command: evaluate. Every required flow through the firewall's own ruleset (no traffic)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.cli.options import (
    InterfaceName,
    inventory_argument,
    no_resolve_option,
    rules_option,
)
from auditor.cli.ruleset_options import panos_options, with_path_options
from auditor.cli.tables import render_table
from auditor.flows.prepare import prepare
from auditor.model.findings import path_verdict
from auditor.model.verdict import exit_code
from auditor.policy.evidence import PanosOptions, firewall_evidence, split_vendor
from auditor.policy.panos.proof import PanosEvidence
from auditor.ruleset import FlowEvaluation, Hook, Verdict, evaluate_flows, read_rulesets
from auditor.ruleset.evidence import ruleset_records
from auditor.ruleset.site import DEFAULT_EPHEMERAL, ephemeral_range, read_site

F = TypeVar("F", bound=Any)
_file = click.Path(exists=False, dir_okay=False, path_type=Path)


def panos_flags(func: F) -> F:
    for option in reversed(panos_options()):
        func = option(func)
    return func


@click.command(
    help="Evaluate every required flow of INVENTORY, as a new connection, against the "
    "firewall's real ruleset: iptables-save, ip6tables-save, ipset save or nft -j list ruleset "
    "output, or a PAN-OS configuration XML (the kind is read from each file). Each flow is "
    "admitted, denied (drop or reject) or unknown with the reason, with the deciding rule and "
    "the chains (PAN-OS: zones and rulebase) that led there.\n\n"
    "Exit 0 when every flow is admitted, 1 when one is denied, 2 on bad input, 4 when none is "
    "denied but the firewall's policy cannot decide some (unknown), 3 when it decides none. "
    "An on-link flow (source and destination on one connected subnet) is not evaluated."
)
@inventory_argument
@click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    required=True,
    type=_file,
    help="A ruleset file. Repeatable (IPv4 and IPv6, iptables and nft; or a PAN-OS "
    "configuration, with a Panorama export).",
)
@click.option(
    "--ipset",
    "ipsets",
    multiple=True,
    type=_file,
    help="`ipset save` output for the -m set matches. Repeatable.",
)
@click.option(
    "--hook",
    type=click.Choice([h.value for h in Hook]),
    default=Hook.FORWARD.value,
    show_default=True,
    help="Where the firewall sees the flows: routed through it "
    "(FORWARD), to it (INPUT) or from it (OUTPUT).",
)
@click.option(
    "--in-interface", default=None, type=InterfaceName(), help="The interface the flows arrive on."
)
@click.option(
    "--out-interface", default=None, type=InterfaceName(), help="The interface the flows leave by."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--panos-device-group",
    default=None,
    metavar="DG",
    help="With a Panorama export: the device group whose rules the flows meet.",
)
@click.option(
    "--from-zone", default=None, help="PAN-OS: the source zone (default: from the routes)."
)
@click.option(
    "--to-zone",
    default=None,
    help="PAN-OS: the destination zone (default: from the routes, after destination NAT).",
)
@rules_option
@no_resolve_option
@with_path_options
@panos_flags
def evaluate(
    *,
    inventory: Path,
    rulesets: tuple[Path, ...],
    ipsets: tuple[Path, ...],
    hook: str,
    in_interface: str | None,
    out_interface: str | None,
    fmt: str,
    rules: tuple[Path, ...],
    no_resolve: bool,
    panos_device_group: str | None,
    from_zone: str | None,
    to_zone: str | None,
    panos_vsys: str | None,
    panos_resolve: bool,
    local_address: tuple[str, ...],
    local_addresses: Path | None,
    source_ports: str,
) -> int:
    vendor, _ = split_vendor(rulesets)
    if vendor:
        prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve)
        panos = PanosOptions(panos_vsys, panos_device_group, from_zone, to_zone, panos_resolve)
        found = firewall_evidence(
            prepared.flows, ruleset=rulesets, ipset=ipsets, ruleset_hook=hook,
            in_interface=in_interface, out_interface=out_interface, panos=panos,
        )  # fmt: skip
        assert isinstance(found, PanosEvidence)
        results = found.evaluations
        hook = f"the security policy of {found.policy.context}"
    else:
        site = read_site(local_address, local_addresses)
        ephemeral = ephemeral_range(source_ports) if source_ports else DEFAULT_EPHEMERAL
        loaded = read_rulesets(rulesets, ipsets)
        prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve)
        results = evaluate_flows(
            loaded,
            prepared.flows,
            hook=Hook(hook),
            in_interface=in_interface,
            out_interface=out_interface,
            site=site,
            ephemeral=ephemeral,
        )
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        click.echo(
            render_table(
                f"{hook} through {', '.join(map(str, rulesets))}",
                ["source", "destination", "proto", "port", "verdict", "rule", "path / reason"],
                _rows(results),
            ),
            nl=False,
        )
    on_link = [f for f in prepared.flows if f.on_link]
    if on_link:
        click.echo(
            f"{len(on_link)} on-link flow(s) not evaluated: source and destination share a "
            f"connected subnet ({', '.join(sorted({f.link for f in on_link}))}), so no firewall "
            "is between them",
            err=True,
        )
    return exit_code(path_verdict(ruleset_records(results, origin="")))


def _rows(results: Sequence[FlowEvaluation]) -> list[list[str]]:
    rows = []
    for r in results:
        d = r.decision
        rule = ""
        if d.rule is not None:
            rule = f"{d.rule.table} {d.rule.chain} {d.rule.ref}: {d.rule.text}"
        verdict = d.verdict.value + (f" ({d.action})" if d.verdict is Verdict.DENIED else "")
        detail = " > ".join(d.path) + (f"; {d.reason}" if d.reason else "")
        test = dict(d.detail).get("test")
        if test:
            detail += f"; confirm: {test}"
        rows.append(
            [
                str(r.flow.source),
                str(r.flow.destination),
                r.flow.protocol.value,
                str(r.flow.port),
                verdict,
                rule,
                detail,
            ]
        )
    return rows
