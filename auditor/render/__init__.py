"""Renderers: a plan in, `{filename: text}` out. Pure (no clock, no I/O but template loading),
deterministic. The registry maps each OutputFormat to its renderer; `renderer_for` ends in
assert_never so a format cannot be added half-wired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from auditor.plan import Plan
from auditor.render import (
    asa,
    change_tools,
    checkpoint,
    csvsheet,
    fortigate,
    iptables,
    nftables,
    panos,
    pf,
    request_sheet,
    srx,
    ticket,
)
from auditor.render.options import Direction, RenderOptions

__all__ = ["REGISTRY", "Direction", "OutputFormat", "RenderOptions", "Renderer", "render"]


class OutputFormat(StrEnum):
    IPTABLES = "iptables"
    NFTABLES = "nftables"
    PF = "pf"
    CSV = "csv"
    TICKET = "ticket"
    PANOS = "panos"
    FORTIGATE = "fortigate"
    ASA = "asa"
    CHECKPOINT = "checkpoint"
    SRX = "srx"
    REQUEST_CSV = "request.csv"
    TUFIN = "tufin.csv"
    ALGOSEC = "algosec.csv"


@dataclass(frozen=True, slots=True)
class Renderer:
    format: OutputFormat
    description: str
    render: Callable[[Plan, RenderOptions], dict[str, str]]


def renderer_for(fmt: OutputFormat) -> Renderer:
    match fmt:
        case OutputFormat.IPTABLES:
            return Renderer(
                fmt,
                "iptables-restore --noflush fragments (and ip6tables): the change's chain and jump",
                iptables.render,
            )
        case OutputFormat.NFTABLES:
            return Renderer(
                fmt,
                "nft -f script: the change's chain in the table that drops, and its jump",
                nftables.render,
            )
        case OutputFormat.PF:
            return Renderer(fmt, "pf.conf fragment: tables and pass ... keep state", pf.render)
        case OutputFormat.CSV:
            return Renderer(fmt, "change-request sheet, one row per rule", csvsheet.render)
        case OutputFormat.TICKET:
            return Renderer(fmt, "Markdown change ticket", ticket.render)
        case OutputFormat.PANOS:
            return Renderer(
                fmt, "PAN-OS set commands (firewall or Panorama device group)", panos.render
            )
        case OutputFormat.FORTIGATE:
            return Renderer(fmt, "FortiGate CLI: addresses, services, policies", fortigate.render)
        case OutputFormat.ASA:
            return Renderer(fmt, "Cisco ASA object-groups and access-list entries", asa.render)
        case OutputFormat.CHECKPOINT:
            return Renderer(
                fmt,
                "Check Point mgmt_cli batch files and the script that runs and publishes them",
                checkpoint.render,
            )
        case OutputFormat.SRX:
            return Renderer(fmt, "Juniper SRX set commands", srx.render)
        case OutputFormat.REQUEST_CSV:
            return Renderer(
                fmt,
                "access-request sheet, one line per flow that needs a change",
                request_sheet.render,
            )
        case OutputFormat.TUFIN:
            return Renderer(
                fmt,
                "Tufin SecureChange access requests, one per flow (Action Accept, upper-case "
                "protocol, --tufin-workflow)",
                change_tools.render_tufin,
            )
        case OutputFormat.ALGOSEC:
            return Renderer(
                fmt,
                "AlgoSec FireFlow traffic lines, one per flow, service as tcp/636; IPv4 in "
                "algosec.csv, IPv6 in algosec-ipv6.csv (one request each)",
                change_tools.render_algosec,
            )
        case _:
            assert_never(fmt)


REGISTRY: dict[OutputFormat, Renderer] = {fmt: renderer_for(fmt) for fmt in OutputFormat}


def render(fmt: OutputFormat, plan: Plan, options: RenderOptions) -> dict[str, str]:
    return REGISTRY[fmt].render(plan, options)
