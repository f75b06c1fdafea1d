"""An `nft -f` script for one change: by default a regular chain of the change (and its named
sets) inside the existing table whose base chain drops (`inet filter`, Debian's
/etc/nftables.conf), jumped to from that base chain by a separate, guarded file. An nft accept
ends only its own base chain, so this is the only placement that opens a flow another chain on
the hook drops. `--nft-table own` writes a table of the change's own instead (useful only where
no other table drops). Either way the names carry the change id (names.py): reloading the same
change replaces it, a later change stands beside it."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.errors import UsageError
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
from auditor.render.memo import LastPlan
from auditor.render.names import ChangeNames, change_names
from auditor.render.options import (
    DEFAULT_NFT_TABLE,
    NFT_HOOKS,
    NFT_OWN_TABLE,
    Direction,
    HostPath,
    SharedOptions,
)
from auditor.textout import quoted
from auditor.values import NFT_NAME_RE

FILENAME = "nftables.nft"
JUMP_FILENAME = "nftables.jump.nft"
ELEMENTS_PER_LINE = 8
NFT_FAMILIES = ("inet", "ip", "ip6")


@dataclass(frozen=True, slots=True)
class NftOptions:
    """`table`: "FAMILY NAME" of the existing table that holds the drop policy (None: the
    default, DEFAULT_NFT_TABLE); the rules go into a chain of the change there, jumped to from
    its base chain `chain` (None: named for the hook). "own": a table of the change's own, which
    opens a flow only where no other table's chain on the hook drops it. Placed by the
    customer's ruleset (render/proof.py): the handle the jump goes `before` (`append`: after the
    last rule, only the policy denies)."""

    table: str | None = None
    chain: str | None = None
    before: int | None = None
    append: bool = False

    def __post_init__(self) -> None:
        # normalised to `FAMILY NAME` (a bad value is left for problems() to name)
        if self.table is None:
            object.__setattr__(self, "table", DEFAULT_NFT_TABLE)
        elif self.table != NFT_OWN_TABLE and self._parts() is not None:
            object.__setattr__(self, "table", " ".join(self.table.split()))

    def _parts(self) -> list[str] | None:
        parts = (self.table or "").split()
        if len(parts) != 2 or parts[0] not in NFT_FAMILIES or not NFT_NAME_RE.fullmatch(parts[1]):
            return None
        return parts

    @property
    def table_name(self) -> str:
        return self.table or DEFAULT_NFT_TABLE

    @property
    def own_table(self) -> bool:
        return self.table == NFT_OWN_TABLE

    def problems(self) -> list[str]:
        problems: list[str] = []
        if not self.own_table and self._parts() is None:
            problems.append(
                f"--nft-table {quoted(self.table)}: expected FAMILY NAME, e.g. 'inet filter', "
                f"or {NFT_OWN_TABLE}"
            )
        if self.chain is not None and not NFT_NAME_RE.fullmatch(self.chain):
            problems.append(f"--nft-chain {quoted(self.chain)}: expected an nft chain name")
        if self.chain is not None and self.own_table:
            problems.append(
                "--nft-chain names the base chain of an existing table to jump from: "
                f"not with --nft-table {NFT_OWN_TABLE} (its base chain is named for --hook)"
            )
        return problems


def nft_hook(hook: str) -> str:
    """The nft hook of --hook (a UsageError for a hook nft has no counterpart for)."""
    try:
        return NFT_HOOKS[hook]
    except KeyError:
        raise UsageError(
            f"--hook {hook}: nftables output supports {', '.join(NFT_HOOKS)}"
        ) from None


def nft_names(plan: Plan, host: HostPath, options: NftOptions) -> ChangeNames:
    return change_names(plan, nft_table=options.table_name, nft_chain=options.chain, hook=host.hook)


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


def sets_and_rules(plan: Plan, names: ChangeNames) -> tuple[list[NftSet], list[NftRule]]:
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


def render(
    plan: Plan, shared: SharedOptions, host: HostPath, options: NftOptions
) -> dict[str, str]:
    """`_render`'s files, rendered once per plan and options (the ticket shows them too)."""
    return dict(
        _LAST.get(plan, (shared, host, options), lambda: _render(plan, shared, host, options))
    )


_LAST = LastPlan()


def _render(
    plan: Plan, shared: SharedOptions, host: HostPath, options: NftOptions
) -> dict[str, str]:
    # A UsageError when the base chain comes from a hook nft has no counterpart for.
    hook = nft_hook(host.hook) if options.own_table or options.chain is None else ""
    if not plan.rules:
        return {FILENAME: comment_only(plan, "nftables script", "#!/usr/sbin/nft -f")}
    names = nft_names(plan, host, options)
    sets, rules = sets_and_rules(plan, names)
    if host.interface is None:
        interface = ""
    else:
        key = "iifname" if host.direction is Direction.IN else "oifname"
        interface = f'{key} "{host.interface}" '
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
            shared.templates,
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
        shared.templates,
        "nftables.chain.nft.j2",
        table=table,
        chain=chain,
        base_chain=base,
        guard=guard,
        jump_file=JUMP_FILENAME,
        **common,
    )
    jump = render_template(
        shared.templates,
        "nftables.jump.nft.j2",
        site=common["site"],
        change=names.change,
        table=table,
        chain=chain,
        base_chain=base,
        guard=guard,
        before=options.before,
        append=options.append,
    )
    return {FILENAME: text, JUMP_FILENAME: jump}
