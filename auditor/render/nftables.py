"""An `nft -f` script with its own `inet` table: named sets for sources and destinations and one
chain on the hook. Re-runnable: it declares the table (a no-op when it exists), deletes it and
defines it again, all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.escape import NFT_COMMENT_MAX, nft_table_name, safe_text
from auditor.render.fields import (
    destination_texts,
    ports_set,
    rule_comment,
    source_texts,
)
from auditor.render.options import Direction, RenderOptions

FILENAME = "nftables.nft"
JUMP_FILENAME = "nftables.jump.nft"
ELEMENTS_PER_LINE = 8


@dataclass(frozen=True, slots=True)
class NftSet:
    name: str
    type: str
    lines: list[str]  # elements, a few per line


@dataclass(frozen=True, slots=True)
class NftRule:
    family: str  # ip / ip6
    src_set: str
    dst_set: str
    protocol: str
    ports: str
    comment: str
    summary: str


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    hook = options.nft_hook
    sets: dict[tuple[str, tuple[str, ...]], NftSet] = {}
    numbers: dict[str, int] = {}

    def named_set(kind: str, family: int, elements: list[str]) -> str:
        key = (f"{kind}{family}", tuple(elements))
        got = sets.get(key)
        if got is None:
            lines = [
                ", ".join(elements[i : i + ELEMENTS_PER_LINE])
                for i in range(0, len(elements), ELEMENTS_PER_LINE)
            ]
            numbers[key[0]] = numbers.get(key[0], 0) + 1
            got = sets[key] = NftSet(
                name=f"{key[0]}_{numbers[key[0]]}",
                type="ipv4_addr" if family == 4 else "ipv6_addr",
                lines=[line + ("," if i < len(lines) - 1 else "") for i, line in enumerate(lines)],
            )
        return got.name

    families = {"ip": (4,), "ip6": (6,)}.get((options.nft_table or "inet").split()[0], (4, 6))
    rules = [
        NftRule(
            family="ip" if r.family == 4 else "ip6",
            src_set=named_set("src", r.family, source_texts(r)),
            dst_set=named_set("dst", r.family, destination_texts(r)),
            protocol=r.protocol.value,
            ports=ports_set(r.ports, "-"),
            comment=rule_comment(plan.site, r, NFT_COMMENT_MAX),
            summary=safe_text(r.justification, 400),
        )
        for r in plan.rules
        if r.family in families
    ]
    if options.interface is None:
        interface = ""
    else:
        key = "iifname" if options.direction is Direction.IN else "oifname"
        interface = f'{key} "{options.interface}" '
    common = {
        "site": safe_text(plan.site, 200),
        "interface": interface,
        "sets": list(sets.values()),
        "rules": rules,
        "filename": FILENAME,
    }
    if options.nft_table is None:
        text = render_template(
            options.templates,
            "nftables.nft.j2",
            table=nft_table_name(plan.site),
            chain=hook,
            hook=hook,
            **common,
        )
        return {FILENAME: text}
    # Into the table that holds the drop policy: our own regular chain and sets there, and a
    # jump from its base chain, loaded once (the same argument as for iptables: no nft script
    # can insert a rule only when it is absent).
    table = options.nft_table
    chain = nft_table_name(plan.site)
    base = options.nft_chain or hook
    guard = f"nft list chain {table} {base} | grep -qw 'jump {chain}' || nft -f {JUMP_FILENAME}"
    text = render_template(
        options.templates,
        "nftables.chain.nft.j2",
        table=table,
        chain=chain,
        base_chain=base,
        guard=guard,
        jump_file=JUMP_FILENAME,
        **common,
    )
    jump = render_template(
        options.templates,
        "nftables.jump.nft.j2",
        site=common["site"],
        table=table,
        chain=chain,
        base_chain=base,
        guard=guard,
    )
    return {FILENAME: text, JUMP_FILENAME: jump}
