"""An `nft -f` script for one change: by default a regular chain of the change (and its named
sets) inside the existing table whose base chain drops (`inet filter`, Debian's
/etc/nftables.conf), jumped to from that base chain by a separate, guarded file. An nft accept
ends only its own base chain, so this is the only placement that opens a flow another chain on
the hook drops. `--nft-table own` writes a table of the change's own instead (useful only where
no other table drops). Either way the names carry the change id (names.py): reloading the same
change replaces it, a later change stands beside it."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.escape import NFT_COMMENT_MAX, safe_text
from auditor.render.fields import (
    comment_only,
    destination_texts,
    ports_set,
    rule_comment,
    source_texts,
)
from auditor.render.names import ChangeNames, change_names
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


def sets_and_rules(
    plan: Plan, options: RenderOptions, names: ChangeNames
) -> tuple[list[NftSet], list[NftRule]]:
    """The named sets (shared where identical) and the rules of the change."""
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

    families = {"ip": (4,), "ip6": (6,)}.get(names.nft_table.split()[0], (4, 6))
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
    return list(sets.values()), rules


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    # A UsageError when the base chain comes from a hook nft has no counterpart for.
    hook = options.nft_hook if options.nft_own_table or options.nft_chain is None else ""
    if not plan.rules:
        return {FILENAME: comment_only(plan, "nftables script", "#!/usr/sbin/nft -f")}
    names = change_names(plan, options)
    sets, rules = sets_and_rules(plan, options, names)
    if options.interface is None:
        interface = ""
    else:
        key = "iifname" if options.direction is Direction.IN else "oifname"
        interface = f'{key} "{options.interface}" '
    common = {
        "site": safe_text(plan.site, 200),
        "change": names.change,
        "interface": interface,
        "sets": sets,
        "rules": rules,
        "filename": FILENAME,
    }
    table, chain, base = names.nft_table, names.nft_chain, names.nft_base_chain
    if names.nft_own:
        text = render_template(
            options.templates,
            "nftables.nft.j2",
            table=table.split()[1],
            chain=chain,
            hook=hook,
            **common,
        )
        return {FILENAME: text}
    # Into the table that holds the drop policy: the change's own regular chain and sets there,
    # and a jump from its base chain, loaded once (the same argument as for iptables: no nft
    # script can insert a rule only when it is absent).
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
        change=names.change,
        table=table,
        chain=chain,
        base_chain=base,
        guard=guard,
        before=options.nft_before,
        append=options.nft_append,
    )
    return {FILENAME: text, JUMP_FILENAME: jump}
