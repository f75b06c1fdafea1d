"""Where generated rules go (chain, table, hook, nftables table, pf direction, ...): one set of
options for `rules` and `audit`, collapsed into one `placement` argument."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import click

from auditor.cli.options import F, IntRange, SafePath
from auditor.render.environment import check_templates
from auditor.render.options import MAX_POSITION, Direction, RenderOptions

_FIELDS = (
    "templates", "chain", "table", "hook", "position", "interface", "direction",
    "nft_table", "nft_chain", "requested_by", "ticket_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placement:
    templates: Path | None
    chain: str | None
    table: str
    hook: str
    position: int
    interface: str | None
    direction: str
    nft_table: str | None
    nft_chain: str | None
    requested_by: str
    ticket_id: str

    def options(self, *, inventory: str, results: str) -> RenderOptions:
        """RenderOptions, validated (a bad value is a UsageError, exit 2), and the template
        overrides compiled (a syntax error is an InputError before any probe or result)."""
        check_templates(self.templates)
        return RenderOptions(
            chain=self.chain,
            table=self.table,
            hook=self.hook,
            position=self.position,
            interface=self.interface,
            direction=Direction(self.direction),
            requested_by=self.requested_by,
            ticket=self.ticket_id,
            templates=self.templates,
            inventory=inventory,
            results=results,
            nft_table=self.nft_table,
            nft_chain=self.nft_chain,
        )


_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--templates",
        type=SafePath(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="A folder whose *.j2 templates override the shipped ones, per file.",
    ),
    click.option(
        "--chain",
        default=None,
        help="iptables chain to own (default: named for the site and the change).",
    ),
    click.option("--table", default="filter", show_default=True, help="iptables table."),
    click.option(
        "--hook",
        default="FORWARD",
        show_default=True,
        help="Chain that jumps to ours: FORWARD for a router, OUTPUT for a host firewall.",
    ),
    click.option(
        "--position",
        type=IntRange(min=1, max=MAX_POSITION),
        default=1,
        show_default=True,
        help="Where the jump goes in the hook chain (ahead of existing deny/reject rules).",
    ),
    click.option("--interface", default=None, help="Match traffic on this interface only."),
    click.option(
        "--direction",
        type=click.Choice([d.value for d in Direction]),
        default=Direction.IN.value,
        show_default=True,
        help="pf rule direction; with --interface, whether it is the in or out interface.",
    ),
    click.option(
        "--nft-table",
        default=None,
        metavar="'FAMILY NAME'|own",
        help="nftables: the existing table whose base chain drops, 'FAMILY NAME' (default: "
        "'inet filter', as in Debian's /etc/nftables.conf); the rules go into a chain of this "
        "change there, jumped to from its base chain. 'own': a table of its own instead, useful "
        "only where no other nft table drops.",
    ),
    click.option(
        "--nft-chain",
        default=None,
        help="nftables: the base chain of --nft-table that jumps to the change's chain "
        "(default: named for --hook: forward, output, input).",
    ),
    click.option("--requested-by", default="", help="For the change sheet and the ticket."),
    click.option("--ticket", "ticket_id", default="", help="Change ticket reference."),
]


def placement_options(func: F) -> F:
    """Add the placement options; the command receives them as `placement: Placement`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["placement"] = Placement(**{name: kwargs.pop(name) for name in _FIELDS})
        return func(*args, **kwargs)

    command: Any = wrapper
    for option in reversed(_OPTIONS):
        command = option(command)
    return cast(F, command)
