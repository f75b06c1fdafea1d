"""The names one change goes by, in every format: derived from the site and the plan's change id
(a digest of what its rules admit), so re-rendering the same plan gives the same names (a reload
replaces the change in place) and a later, different plan gets names of its own (loading it
leaves the earlier change standing)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.escape import chain_name, nft_name, pf_anchor, pf_table_prefix
from auditor.render.options import DEFAULT_NFT_TABLE, NFT_HOOKS, NFT_OWN_TABLE


@dataclass(frozen=True, slots=True)
class ChangeNames:
    change: str  # the change id, 6 hex digits
    chain: str  # iptables / ip6tables
    nft_own: bool  # True: a table of its own; False: a chain inside `nft_table`
    nft_table: str  # "FAMILY NAME"
    nft_chain: str  # own table: the base chain; else the change's regular chain
    nft_base_chain: str  # the base chain whose rules decide (the jump's source)
    pf_anchor: str
    pf_prefix: str  # of the pf tables


def nft_base_chain(nft_table: str, nft_chain: str | None, hook: str) -> str:
    """The nft base chain the rules are decided in: --nft-chain, else named for the hook
    (`forward`, as in Debian's /etc/nftables.conf)."""
    if nft_chain is not None and nft_table != NFT_OWN_TABLE:
        return nft_chain
    return NFT_HOOKS.get(hook, hook.lower())


def change_names(
    plan: Plan,
    *,
    chain: str | None = None,
    nft_table: str = DEFAULT_NFT_TABLE,
    nft_chain: str | None = None,
    hook: str = "FORWARD",
) -> ChangeNames:
    """The names of `plan`'s change: `chain` is --chain, `nft_table` "FAMILY NAME" or "own",
    `nft_chain` --nft-chain, `hook` --hook."""
    change = plan.change_id
    own = nft_table == NFT_OWN_TABLE
    nft = nft_name(plan.site, change)
    base = nft_base_chain(nft_table, nft_chain, hook)
    return ChangeNames(
        change=change,
        chain=chain or chain_name(plan.site, change),
        nft_own=own,
        nft_table=f"inet {nft}" if own else nft_table,
        nft_chain=base if own else nft,
        nft_base_chain=base,
        pf_anchor=pf_anchor(plan.site, change),
        pf_prefix=pf_table_prefix(plan.site, change),
    )
