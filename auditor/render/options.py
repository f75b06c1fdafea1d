"""The render options every format shares (the ticket fields, the template folder) and the host
packet path the host formats (iptables, nftables, pf) match on. Each renderer owns the options
only it reads (`IptablesOptions` in iptables.py, `PanosOptions` in panos.py, ...); option_set.py
bundles them for the CLI and checks them all at once."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from auditor.values import INTERFACE_RE, IPTABLES_CHAIN_RE, has_control

# Matched whole (fullmatch): `--interface 'eth0\n'` must not pass and split a rule in two.
_CHAIN = IPTABLES_CHAIN_RE
_IFACE = INTERFACE_RE
MAX_POSITION = 65535
NFT_HOOKS = {"FORWARD": "forward", "OUTPUT": "output", "INPUT": "input"}
# The table of Debian's /etc/nftables.conf, whose base chains hold the drop policy: an nft accept
# is final only in its own base chain, so the rules must be jumped to from there.
DEFAULT_NFT_TABLE = "inet filter"
NFT_OWN_TABLE = "own"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


def text_problems(fields: tuple[tuple[str, str], ...]) -> list[str]:
    """Free text that lands in the ticket and comments: no control characters."""
    return [
        f"{label}: control characters are refused" for label, value in fields if has_control(value)
    ]


@dataclass(frozen=True, slots=True)
class SharedOptions:
    """What every format may show: the user's template folder, who asks, the ticket id and the
    expiry the change-request formats ask for (YYYY-MM-DD, "" for none)."""

    templates: Path | None = None
    requested_by: str = ""
    ticket: str = ""
    expires: str = ""

    def problems(self) -> list[str]:
        problems: list[str] = []
        if self.expires and (
            not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", self.expires)
            or not _is_date(self.expires)
        ):
            problems.append(f"--expires {self.expires!r}: expected a date, YYYY-MM-DD")
        return problems

    def text_problems(self) -> list[str]:
        return text_problems((("--requested-by", self.requested_by), ("--ticket", self.ticket)))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class HostPath:
    """Where the host formats match: the hook (the iptables built-in chain, the nft hook) and
    the interface with its direction (None: any interface)."""

    hook: str = "FORWARD"
    interface: str | None = None
    direction: Direction = Direction.IN

    def __post_init__(self) -> None:
        with suppress(ValueError):  # a bad value is left for problems() to name
            object.__setattr__(self, "direction", Direction(self.direction))

    def problems(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.direction, Direction):
            problems.append(f"--direction {self.direction!r}: expected in or out")
        if not _CHAIN.fullmatch(self.hook):
            problems.append(f"--hook {self.hook!r}: expected a chain name such as FORWARD")
        if self.interface is not None and not _IFACE.fullmatch(self.interface):
            problems.append(
                f"--interface {self.interface!r}: expected an interface name "
                "(1-15 of A-Z a-z 0-9 _ . -)"
            )
        if self.interface is not None and self.hook == "OUTPUT" and self.direction == Direction.IN:
            problems.append("--interface with --hook OUTPUT needs --direction out")
        return problems
