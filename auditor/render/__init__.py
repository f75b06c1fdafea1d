"""Renderers: a plan in, `{filename: text}` out. Pure (no clock, no I/O but template loading),
deterministic. The registry maps each OutputFormat to its renderer; `renderer_for` ends in
assert_never so a format cannot be added half-wired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from auditor.plan import Plan
from auditor.render import csvsheet, iptables, nftables, pf, ticket
from auditor.render.options import Direction, RenderOptions

__all__ = ["REGISTRY", "Direction", "OutputFormat", "RenderOptions", "Renderer", "render"]


class OutputFormat(StrEnum):
    IPTABLES = "iptables"
    NFTABLES = "nftables"
    PF = "pf"
    CSV = "csv"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class Renderer:
    format: OutputFormat
    suffix: str
    description: str
    render: Callable[[Plan, RenderOptions], dict[str, str]]


def renderer_for(fmt: OutputFormat) -> Renderer:
    match fmt:
        case OutputFormat.IPTABLES:
            return Renderer(
                fmt,
                ".rules",
                "iptables-restore --noflush fragments (and ip6tables): the change's chain and jump",
                iptables.render,
            )
        case OutputFormat.NFTABLES:
            return Renderer(
                fmt,
                ".nft",
                "nft -f script: the change's chain in the table that drops, and its jump",
                nftables.render,
            )
        case OutputFormat.PF:
            return Renderer(
                fmt, ".conf", "pf.conf fragment: tables and pass ... keep state", pf.render
            )
        case OutputFormat.CSV:
            return Renderer(fmt, ".csv", "change-request sheet, one row per rule", csvsheet.render)
        case OutputFormat.TICKET:
            return Renderer(fmt, ".md", "Markdown change ticket", ticket.render)
        case _:
            assert_never(fmt)


REGISTRY: dict[OutputFormat, Renderer] = {fmt: renderer_for(fmt) for fmt in OutputFormat}


def render(fmt: OutputFormat, plan: Plan, options: RenderOptions) -> dict[str, str]:
    return REGISTRY[fmt].render(plan, options)
