"""--ruleset and its companions for commands that take the firewall's ruleset as evidence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from auditor.cli.options import InterfaceName
from auditor.render.proof import AutoPlace
from auditor.ruleset import Hook

F = TypeVar("F", bound=Callable[..., Any])
_file = click.Path(dir_okay=False, path_type=Path)


def ruleset_options(func: F) -> F:
    """--ruleset FILE... --ipset FILE... --ruleset-hook --in-interface --out-interface."""
    options = [
        click.option("--ruleset", "ruleset", multiple=True, type=_file,
                     help="The firewall's real ruleset (iptables-save, ip6tables-save or "
                     "nft -j list ruleset output, or a PAN-OS configuration XML) as evidence of "
                     "method `ruleset` for every flow, merged with the probes'. The jumps (the "
                     "PAN-OS rules) go ahead of the first rule that would deny a required flow, "
                     "and the change is proven against it (the ticket shows the proof). "
                     "Repeatable."),
        click.option("--ipset", "ipset", multiple=True, type=_file,
                     help="`ipset save` output the --ruleset files refer to. Repeatable."),
        click.option("--ruleset-hook", type=click.Choice([h.value for h in Hook]),
                     default=Hook.FORWARD.value, show_default=True,
                     help="With --ruleset: where the firewall sees the flows."),
        click.option("--in-interface", default=None, type=InterfaceName(),
                     help="With --ruleset: the interface the flows arrive on."),
        click.option("--out-interface", default=None, type=InterfaceName(),
                     help="With --ruleset: the interface the flows leave by."),
        *path_options("With --ruleset: "),
        *panos_options(),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def path_options(prefix: str = "") -> list[Callable[[F], F]]:
    """--local-address IP... --local-addresses FILE --source-ports LOW-HIGH."""
    return [
        click.option("--local-address", "local_address", multiple=True, metavar="IP[/LEN]",
                     help=f"{prefix}an address of the firewall itself (with its prefix length, "
                     "its subnet broadcast is known too), for -m addrtype. Repeatable."),
        click.option("--local-addresses", "local_addresses", type=_file, default=None,
                     help=f"{prefix}the firewall's `ip -j addr` output, for -m addrtype."),
        click.option("--source-ports", "source_ports", default="", metavar="LOW-HIGH",
                     help=f"{prefix}the ephemeral source ports of the flows' senders "
                     "(default 32768-60999, Linux's)."),
    ]  # fmt: skip


def with_path_options(func: F) -> F:
    """The options of path_options() on a command of their own (evaluate)."""
    for option in reversed(path_options()):
        func = option(func)
    return func


def panos_options() -> list[Callable[[F], F]]:
    """--panos-vsys and --resolve: for a PAN-OS configuration given as --ruleset."""
    return [
        click.option("--panos-vsys", default=None, metavar="VSYS",
                     help="With a PAN-OS --ruleset: the vsys the flows pass (where there are "
                     "several)."),
        click.option("--resolve", "panos_resolve", is_flag=True,
                     help="With a PAN-OS --ruleset: resolve FQDN address objects with the "
                     "system resolver (else a rule naming one is unknown)."),
    ]  # fmt: skip


def auto_place() -> AutoPlace:
    """What the ruleset may place: the jump position unless --position was given, the nft
    table and base chain unless --nft-table was given."""
    ctx = click.get_current_context()
    default = (ParameterSource.DEFAULT, None)
    return AutoPlace(
        position=ctx.get_parameter_source("position") in default,
        nft_table=ctx.get_parameter_source("nft_table") in default,
    )
