"""Command: kinds. Every provider kind the packs define, with its ports and checks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.options import rules_option
from auditor.cli.tables import render_table
from auditor.inventory.packs import load_packs
from auditor.model.inventory import KindSpec


@click.command(
    help="List every provider kind (the shipped requirement packs and --rules folders): its "
    "ports, the checks each port gets, its pack and where the requirement is documented. Use "
    "one as `kind:` of a provider."
)
@rules_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def kinds(rules: tuple[Path, ...], fmt: str) -> int:
    specs = sorted(load_packs(rules).values(), key=lambda k: k.kind)
    if fmt == "json":
        click.echo(json.dumps({"kinds": [_json(k) for k in specs]}, indent=2))
        return 0
    rows = [
        [
            spec.kind,
            ", ".join(f"{p.port}/{p.protocol.value}" for p in spec.ports),
            "; ".join(
                f"{p.port}/{p.protocol.value}: {', '.join(c.value for c in p.checks)}"
                for p in spec.ports
            ),
            spec.pack,
            spec.description,
        ]
        for spec in specs
    ]
    title = f"{len(specs)} provider kinds"
    click.echo(
        render_table(title, ["kind", "ports", "checks", "pack", "description"], rows), nl=False
    )
    return 0


def _json(spec: KindSpec) -> dict[str, object]:
    return {
        "kind": spec.kind,
        "pack": spec.pack,
        "description": spec.description,
        "source": spec.source,
        "ports": [
            {"port": p.port, "protocol": p.protocol.value, "checks": [c.value for c in p.checks]}
            for p in spec.ports
        ],
    }
