"""Renderers: a plan in, `{filename: text}` out. Pure (no clock, no I/O but template loading),
deterministic. The registry maps each OutputFormat to its renderer and says which part of
RenderOptions it reads (the shared part and its own); only the ticket reads the proof of the
change against the customer's ruleset, which travels beside the options. `renderer_for` ends
in assert_never so a format cannot be added half-wired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

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
from auditor.render.option_set import RenderOptions
from auditor.render.options import Direction

if TYPE_CHECKING:
    from auditor.ruleset.proof import ChangeProofReport


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


Files = dict[str, str]


# Each format reads the shared options and its own (the ticket reads them all, and the proof).
def _iptables(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return iptables.render(plan, options.shared, options.host, options.iptables)


def _nftables(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return nftables.render(plan, options.shared, options.host, options.nftables)


def _pf(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return pf.render(plan, options.shared, options.host)


def _csvsheet(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return csvsheet.render(plan, options.shared)


def _panos(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return panos.render(plan, options.shared, options.panos)


def _fortigate(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return fortigate.render(plan, options.shared, options.fortigate)


def _asa(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return asa.render(plan, options.shared, options.asa)


def _checkpoint(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return checkpoint.render(plan, options.shared, options.checkpoint)


def _srx(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return srx.render(plan, options.shared, options.srx)


def _request_sheet(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return request_sheet.render(plan, options.shared)


def _tufin(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return change_tools.render_tufin(plan, options.shared, options.tufin)


def _algosec(plan: Plan, options: RenderOptions, _proof: ChangeProofReport | None) -> Files:
    return change_tools.render_algosec(plan, options.shared)


@dataclass(frozen=True, slots=True)
class Renderer:
    format: OutputFormat
    description: str
    # (plan, options, proof) -> files: each reads its own part of the options
    render: Callable[[Plan, RenderOptions, ChangeProofReport | None], dict[str, str]]


def renderer_for(fmt: OutputFormat) -> Renderer:
    match fmt:
        case OutputFormat.IPTABLES:
            return Renderer(
                fmt,
                "iptables-restore --noflush fragments (and ip6tables): the change's chain and jump",
                _iptables,
            )
        case OutputFormat.NFTABLES:
            return Renderer(
                fmt,
                "nft -f script: the change's chain in the table that drops, and its jump",
                _nftables,
            )
        case OutputFormat.PF:
            return Renderer(
                fmt,
                "pf.conf fragment: tables and pass ... keep state",
                _pf,
            )
        case OutputFormat.CSV:
            return Renderer(
                fmt,
                "change-request sheet, one row per rule",
                _csvsheet,
            )
        case OutputFormat.TICKET:
            return Renderer(fmt, "Markdown change ticket", ticket.render)
        case OutputFormat.PANOS:
            return Renderer(
                fmt,
                "PAN-OS set commands (firewall or Panorama device group)",
                _panos,
            )
        case OutputFormat.FORTIGATE:
            return Renderer(
                fmt,
                "FortiGate CLI: addresses and services (fortigate.conf), and the policies "
                "(fortigate.policies.conf, loaded while none of them is there)",
                _fortigate,
            )
        case OutputFormat.ASA:
            return Renderer(
                fmt,
                "Cisco ASA object-groups and access-list entries",
                _asa,
            )
        case OutputFormat.CHECKPOINT:
            return Renderer(
                fmt,
                "Check Point mgmt_cli batch files and the script that runs and publishes them",
                _checkpoint,
            )
        case OutputFormat.SRX:
            return Renderer(
                fmt,
                "Juniper SRX set commands",
                _srx,
            )
        case OutputFormat.REQUEST_CSV:
            return Renderer(
                fmt,
                "access-request sheet, one line per flow that needs a change",
                _request_sheet,
            )
        case OutputFormat.TUFIN:
            return Renderer(
                fmt,
                "Tufin SecureChange access requests, one per flow (Action Accept, upper-case "
                "protocol, --tufin-workflow)",
                _tufin,
            )
        case OutputFormat.ALGOSEC:
            return Renderer(
                fmt,
                "AlgoSec FireFlow traffic lines, one per flow, service as tcp/636; IPv4 in "
                "algosec.csv, IPv6 in algosec-ipv6.csv (one request each)",
                _algosec,
            )
        case _:
            assert_never(fmt)


REGISTRY: dict[OutputFormat, Renderer] = {fmt: renderer_for(fmt) for fmt in OutputFormat}


def render(
    fmt: OutputFormat,
    plan: Plan,
    options: RenderOptions,
    proof: ChangeProofReport | None = None,
) -> dict[str, str]:
    """`fmt`'s files; `proof` (the change proven against --ruleset) is shown by the ticket."""
    return REGISTRY[fmt].render(plan, options, proof)
