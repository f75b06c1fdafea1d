"""Where generated rules go (chain, table, hook, nftables table, pf direction, ...): one set of
options for `rules` and `audit`, collapsed into one `placement` argument."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import click

from auditor.cli.options import F, IntRange, SafePath
from auditor.errors import UsageError
from auditor.render import OutputFormat
from auditor.render.asa import AsaOptions
from auditor.render.change_tools import TufinOptions
from auditor.render.checkpoint import CheckpointOptions
from auditor.render.environment import check_templates
from auditor.render.fortigate import FortigateOptions
from auditor.render.iptables import IptablesOptions
from auditor.render.nftables import NftOptions
from auditor.render.option_set import RenderOptions
from auditor.render.options import MAX_POSITION, Direction, HostPath, SharedOptions
from auditor.render.panos import PanosOptions
from auditor.render.srx import SrxOptions
from auditor.render.ticket import TicketOptions
from auditor.render.vendor_options import (
    BEFORE_READS,
    FORTIOS_VERSIONS,
    VENDORS,
    format_problems,
)

ALL_FORMATS = "all"

_FIELDS = (
    "templates", "chain", "table", "hook", "position", "interface", "direction",
    "nft_table", "nft_chain", "requested_by", "ticket_id",
    "before", "panos_device_group", "from_zone", "to_zone", "srcintf", "dstintf", "acl",
    "expires", "vendor", "fortios", "panos_log_setting", "panos_profile_group", "panos_tag",
    "checkpoint_tag", "tufin_workflow",
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
    before: str | None
    panos_device_group: str | None
    from_zone: str
    to_zone: str
    srcintf: str
    dstintf: str
    acl: str | None
    expires: str
    vendor: str | None
    fortios: str
    panos_log_setting: str | None
    panos_profile_group: str | None
    panos_tag: str | None
    checkpoint_tag: str | None
    tufin_workflow: str

    def formats(self, names: Iterable[str]) -> tuple[OutputFormat, ...]:
        """The formats asked for, in registry order, checked against --before (a UsageError
        naming each format that cannot honour it, before any probe). `all` is every format;
        with --vendor V, every format but the other vendors' (only V's is wanted)."""
        names = list(names)
        chosen = {OutputFormat(n) for n in names if n != ALL_FORMATS}
        if ALL_FORMATS in names:
            chosen |= {f for f in OutputFormat if self.vendor is None or f.value not in VENDORS}
            if self.vendor is not None:
                chosen.add(OutputFormat(self.vendor))
        ordered = tuple(f for f in OutputFormat if f in chosen)
        # the ticket shows the --vendor snippet: that format is requested as well
        checked = [f.value for f in ordered]
        if OutputFormat.TICKET in chosen and self.vendor is not None:
            checked.append(self.vendor)
        problems = format_problems(self.before, checked)
        if problems:
            raise UsageError("\n".join(problems))
        return ordered

    def options(self, *, inventory: str, results: str) -> RenderOptions:
        """RenderOptions, validated (a bad value is a UsageError, exit 2), and the template
        overrides compiled (a syntax error is an InputError before any probe or result)."""
        check_templates(self.templates)
        # Renderers have no clock: whether the date has passed is decided here, at the edge.
        if self.expires and self.expires < date.today().isoformat():
            raise UsageError(f"--expires {self.expires}: that date has passed")
        before, zones = self.before, {"from_zone": self.from_zone, "to_zone": self.to_zone}
        return RenderOptions(
            shared=SharedOptions(
                templates=self.templates,
                requested_by=self.requested_by,
                ticket=self.ticket_id,
                expires=self.expires,
            ),
            host=HostPath(
                hook=self.hook, interface=self.interface, direction=Direction(self.direction)
            ),
            iptables=IptablesOptions(chain=self.chain, table=self.table, position=self.position),
            nftables=NftOptions(table=self.nft_table, chain=self.nft_chain),
            panos=PanosOptions(
                before=before,
                device_group=self.panos_device_group,
                log_setting=self.panos_log_setting,
                profile_group=self.panos_profile_group,
                tag=self.panos_tag,
                **zones,
            ),
            fortigate=FortigateOptions(
                before=before, srcintf=self.srcintf, dstintf=self.dstintf, fortios=self.fortios
            ),
            asa=AsaOptions(before=before, acl=self.acl),
            checkpoint=CheckpointOptions(before=before, layer=self.acl, tag=self.checkpoint_tag),
            srx=SrxOptions(before=before, **zones),
            tufin=TufinOptions(workflow=self.tufin_workflow),
            ticket=TicketOptions(inventory=inventory, results=results, vendor=self.vendor),
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
        help="Where the jump goes in the hook chain (ahead of existing deny/reject rules). "
        "With --ruleset, unless given: ahead of the first rule that would deny a required flow.",
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
    click.option(
        "--before",
        default=None,
        metavar="RULE|N",
        help="Vendor formats: place the rules ahead of this rule (a name) or at this position "
        "(a number). Each format reads it so: "
        + "; ".join(f"{v}: {how}" for v, how in BEFORE_READS.items())
        + ". A value one of the requested formats cannot honour is refused, naming it. "
        "Default: the top (PAN-OS, ASA, Check Point), the end of the list (FortiGate, SRX).",
    ),
    click.option(
        "--panos-device-group",
        default=None,
        metavar="DG",
        help="panos: write Panorama commands for this device group (its pre-rulebase).",
    ),
    click.option("--from-zone", default="any", show_default=True, help="panos, srx: source zone."),
    click.option(
        "--to-zone", default="any", show_default=True, help="panos, srx: destination zone."
    ),
    click.option("--srcintf", default="any", show_default=True, help="fortigate: srcintf."),
    click.option("--dstintf", default="any", show_default=True, help="fortigate: dstintf."),
    click.option(
        "--acl",
        default=None,
        metavar="NAME",
        help="asa: the access-list (default inside_access_in); checkpoint: the access layer "
        "(default Network).",
    ),
    click.option(
        "--fortios",
        type=click.Choice(list(FORTIOS_VERSIONS)),
        default="7.4",
        show_default=True,
        help="fortigate: the FortiOS version to write for (6.4 keeps IPv6 policies in "
        "`config firewall policy6`).",
    ),
    click.option(
        "--panos-log-setting",
        default=None,
        metavar="PROFILE",
        help="panos: the log forwarding profile of each rule (every rule logs at session end).",
    ),
    click.option(
        "--panos-profile-group",
        default=None,
        metavar="GROUP",
        help="panos: the security profile group of each rule.",
    ),
    click.option(
        "--panos-tag",
        default=None,
        metavar="TAG",
        help="panos: tag each rule (the tag is created when missing).",
    ),
    click.option(
        "--checkpoint-tag",
        default=None,
        metavar="TAG",
        help="checkpoint: tag each rule (the tag is added when missing).",
    ),
    click.option(
        "--tufin-workflow",
        default="Access Request",
        show_default=True,
        metavar="NAME",
        help="tufin.csv: the SecureChange workflow the access requests are opened in.",
    ),
    click.option(
        "--expires", default="", metavar="YYYY-MM-DD", help="request.csv: when access ends."
    ),
    click.option(
        "--vendor",
        type=click.Choice(list(VENDORS)),
        default=None,
        help="The firewall whose snippet and apply, verify and rollback steps the ticket shows "
        "(default: iptables, nftables and pf).",
    ),
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
