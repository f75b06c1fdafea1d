"""One validation path per kind of value: every pattern is matched whole (`fullmatch`: a trailing
newline never passes, as it does with `re.match(...$)`), and control characters are refused in
every value that can reach a generated file or a terminal.

The inventory, the packs, the JSON documents, the render options and the scheduler all ask here,
so a rule for a kind of value is written once.
"""

from __future__ import annotations

import re
import socket
from typing import Any

# C0 controls, DEL, C1 controls, the Unicode line/paragraph separators and the bidi overrides:
# each can end a line, start a terminal escape sequence or make text read as other text.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

# Names reach firewall comments, chain names, file names and shell commands in tickets.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
NAME_EXPECTED = "1-63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
PACK_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?"
)
ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# ASCII digits only: str.isdigit() and \d accept Arabic-Indic and other Unicode digits.
PORT_TEXT_RE = re.compile(r"([0-9]{1,5})(?:/(tcp|udp))?")
PREFIX_RE = re.compile(r"[0-9]{1,3}")
IPTABLES_CHAIN_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,27}")
INTERFACE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
NFT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# The POSIX portable user name (IEEE Std 1003.1, 3.437), not starting with '-', at most 32 bytes
# (the useradd limit): nothing a unit file, a crontab line or a shell can read as syntax.
POSIX_USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,31}")


def has_control(text: str) -> bool:
    """True when `text` holds a control character or a line break."""
    return CONTROL_RE.search(text) is not None


def is_name(value: Any) -> bool:
    return isinstance(value, str) and NAME_RE.fullmatch(value) is not None


def is_pack_name(value: Any) -> bool:
    return isinstance(value, str) and PACK_NAME_RE.fullmatch(value) is not None


def is_env_name(value: Any) -> bool:
    return isinstance(value, str) and ENV_RE.fullmatch(value) is not None


def is_hostname(value: Any) -> bool:
    """A DNS name, never an address in disguise: `0x7f.1`, `0x0` or `127.1` are IPv4 addresses
    to inet_aton (and so to getaddrinfo), and a top-level label is never all digits."""
    if not isinstance(value, str) or HOSTNAME_RE.fullmatch(value) is None:
        return False
    last = value.rstrip(".").rsplit(".", 1)[-1]
    return not last.isdigit() and not _inet_aton(value.rstrip("."))


def _inet_aton(text: str) -> bool:
    try:
        socket.inet_aton(text)
    except (OSError, ValueError):
        return False
    return True


def is_posix_user(value: Any) -> bool:
    return isinstance(value, str) and POSIX_USER_RE.fullmatch(value) is not None


def prefix_length(text: str, limit: int) -> int | None:
    """`24` from the text after a `/`, when it is 0-`limit` in ASCII digits; else None."""
    if PREFIX_RE.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= limit else None


def port_text(text: str) -> tuple[int, str | None] | None:
    """(port, protocol or None) from `636` or `88/udp`, ASCII digits, 1-65535; else None."""
    match = PORT_TEXT_RE.fullmatch(text)
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        return None
    return int(match.group(1)), match.group(2)


IFNAMSIZ = 16  # the kernel's interface name buffer, with its NUL


def interface_problem(name: str) -> str | None:
    """Why `name` is no Linux interface name (the kernel's dev_valid_name: 1-15 bytes, no
    space, `/` or `:`, not `.` or `..`; here also only letters, digits, `_`, `.`, `-`), or None.
    Every command that takes an interface asks here, so each refuses the same names."""
    expected = "(expected an interface name: 1-15 of A-Z a-z 0-9 _ . -, such as eth0)"
    if not name:
        return f"is empty {expected}"
    if any(ch.isspace() for ch in name):
        return f"contains a space {expected}"
    if len(name.encode("utf-8")) >= IFNAMSIZ:
        return f"is {len(name)} characters long (at most {IFNAMSIZ - 1}: IFNAMSIZ)"
    if name in (".", "..") or INTERFACE_RE.fullmatch(name) is None:
        return f"is not an interface name {expected}"
    return None


def address_problem(text: str) -> str | None:
    """What is wrong with `text` as an IP address beyond its syntax, named: empty, or a zone
    index (`fe80::1%eth0`), which no probe, rule or inventory address carries; else None."""
    if not text.strip():
        return "is empty (expected an IP address)"
    if "%" in text:
        zone = text.partition("%")[2].partition("/")[0]
        return (
            f"carries a zone index (%{zone}) (expected an address without one: a zone names "
            "an interface of one host, no firewall rule or probe can use it)"
        )
    return None
