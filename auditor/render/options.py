"""What a renderer may be told besides the plan: placement, interface, ticket fields."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.render.vendor_options import vendor_problems
from auditor.values import INTERFACE_RE, IPTABLES_CHAIN_RE, NFT_NAME_RE, has_control

if TYPE_CHECKING:
    from auditor.ruleset.proof import ChangeProofReport

# Matched whole (fullmatch): `--interface 'eth0\n'` must not pass and split a rule in two.
_CHAIN = IPTABLES_CHAIN_RE
_IFACE = INTERFACE_RE
_NFT_NAME = NFT_NAME_RE
NFT_FAMILIES = ("inet", "ip", "ip6")
MAX_POSITION = 65535
IPTABLES_TABLES = ("filter", "mangle", "raw", "security")
NFT_HOOKS = {"FORWARD": "forward", "OUTPUT": "output", "INPUT": "input"}
# The table of Debian's /etc/nftables.conf, whose base chains hold the drop policy: an nft accept
# is final only in its own base chain, so the rules must be jumped to from there.
DEFAULT_NFT_TABLE = "inet filter"
NFT_OWN_TABLE = "own"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """`chain=None` names the chain after the site. `inventory` and `results` are the paths the
    ticket's verify command uses (as the user typed them)."""

    chain: str | None = None
    table: str = "filter"
    hook: str = "FORWARD"
    position: int = 1
    interface: str | None = None
    direction: Direction = Direction.IN
    requested_by: str = ""
    ticket: str = ""
    templates: Path | None = None
    inventory: str = "INVENTORY"
    results: str = "results.json"
    # nftables: "FAMILY NAME" of the existing table that holds the drop policy (None: the
    # default, DEFAULT_NFT_TABLE); the rules go into a chain of the change there, jumped to from
    # its base chain `nft_chain` (None: named for the hook). "own": a table of the change's own,
    # which opens a flow only where no other table's chain on the hook drops it.
    nft_table: str | None = None
    nft_chain: str | None = None
    # Vendor formats (vendor_options.py checks them): the deny rule to insert ahead of, the
    # Panorama device group, zones, FortiGate interfaces, the ASA ACL (Check Point layer), the
    # expiry the request sheet asks for, and the vendor whose snippet the ticket shows.
    before: str | None = None
    panos_device_group: str | None = None
    from_zone: str = "any"
    to_zone: str = "any"
    srcintf: str = "any"
    dstintf: str = "any"
    acl: str | None = None
    expires: str = ""
    vendor: str | None = None
    # FortiOS version the FortiGate file is written for; PAN-OS log forwarding profile,
    # security profile group and tag of the rules (None: not set).
    fortios: str = "7.4"
    panos_log_setting: str | None = None
    panos_profile_group: str | None = None
    panos_tag: str | None = None
    # The SecureChange workflow the Tufin import file names.
    tufin_workflow: str = "Access Request"
    # Placed by the customer's ruleset (--ruleset, render/proof.py): the ip6tables jump position
    # when it differs from `position`, the nft handle the jump goes before (nft_append: after
    # the last rule, only the policy denies), and the proof of the change the ticket shows.
    position6: int | None = None
    nft_before: int | None = None
    nft_append: bool = False
    proof: ChangeProofReport | None = None

    def __post_init__(self) -> None:
        problems: list[str] = vendor_problems(self)
        try:
            object.__setattr__(self, "direction", Direction(self.direction))
        except ValueError:
            problems.append(f"--direction {self.direction!r}: expected in or out")
        problems += _placement_problems(self)
        problems += _text_problems(self)
        problems += _nft_problems(self)
        if problems:
            raise UsageError("\n".join(problems))

    @property
    def nft_own_table(self) -> bool:
        return self.nft_table == NFT_OWN_TABLE

    @property
    def nft_base_chain(self) -> str:
        """The nft base chain the rules are decided in: --nft-chain, else named for the hook
        (`forward`, as in Debian's /etc/nftables.conf)."""
        if self.nft_chain is not None and not self.nft_own_table:
            return self.nft_chain
        return NFT_HOOKS.get(self.hook, self.hook.lower())

    @property
    def nft_hook(self) -> str:
        try:
            return NFT_HOOKS[self.hook]
        except KeyError:
            raise UsageError(
                f"--hook {self.hook}: nftables output supports {', '.join(NFT_HOOKS)}"
            ) from None


def _placement_problems(options: RenderOptions) -> list[str]:
    """Chain, table, hook, position and interface: where the iptables rules go."""
    problems: list[str] = []
    if options.position > MAX_POSITION:
        problems.append(f"--position {options.position}: expected at most {MAX_POSITION}")
    if options.position6 is not None and not 1 <= options.position6 <= MAX_POSITION:
        problems.append(f"ip6tables position {options.position6}: expected 1-{MAX_POSITION}")
    if options.chain is not None and not _CHAIN.fullmatch(options.chain):
        problems.append(
            f"--chain {options.chain!r}: expected 1-28 of A-Z a-z 0-9 _ -, not starting with -"
        )
    if options.table not in IPTABLES_TABLES:
        problems.append(f"--table {options.table!r}: expected one of {', '.join(IPTABLES_TABLES)}")
    if not _CHAIN.fullmatch(options.hook):
        problems.append(f"--hook {options.hook!r}: expected a chain name such as FORWARD")
    if options.position < 1:
        problems.append(f"--position {options.position}: expected 1 or more")
    if options.interface is not None and not _IFACE.fullmatch(options.interface):
        problems.append(
            f"--interface {options.interface!r}: expected an interface name "
            "(1-15 of A-Z a-z 0-9 _ . -)"
        )
    if (
        options.interface is not None
        and options.hook == "OUTPUT"
        and options.direction is Direction.IN
    ):
        problems.append("--interface with --hook OUTPUT needs --direction out")
    return problems


def _text_problems(options: RenderOptions) -> list[str]:
    """Free text that lands in the ticket and comments: no control characters."""
    fields = (
        ("--inventory", options.inventory),
        ("--results", options.results),
        ("--requested-by", options.requested_by),
        ("--ticket", options.ticket),
        ("--tufin-workflow", options.tufin_workflow),
    )
    return [
        f"{label}: control characters are refused" for label, value in fields if has_control(value)
    ]


def _nft_problems(options: RenderOptions) -> list[str]:
    """Check --nft-table and --nft-chain, and normalise the table to `FAMILY NAME`."""
    problems: list[str] = []
    if options.nft_table is None:
        object.__setattr__(options, "nft_table", DEFAULT_NFT_TABLE)
    elif options.nft_table != NFT_OWN_TABLE:
        parts = options.nft_table.split()
        if len(parts) != 2 or parts[0] not in NFT_FAMILIES or not _NFT_NAME.fullmatch(parts[1]):
            problems.append(
                f"--nft-table {options.nft_table!r}: expected FAMILY NAME, e.g. 'inet filter', "
                f"or {NFT_OWN_TABLE}"
            )
        else:
            object.__setattr__(options, "nft_table", " ".join(parts))
    if options.nft_chain is not None and not _NFT_NAME.fullmatch(options.nft_chain):
        problems.append(f"--nft-chain {options.nft_chain!r}: expected an nft chain name")
    if options.nft_chain is not None and options.nft_table == NFT_OWN_TABLE:
        problems.append(
            "--nft-chain names the base chain of an existing table to jump from: "
            f"not with --nft-table {NFT_OWN_TABLE} (its base chain is named for --hook)"
        )
    return problems
