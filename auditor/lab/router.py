"""Netfilter in the router namespace: the lab's base ruleset, and loading a snippet on top.

The base ruleset replaces whatever the router had (`nft flush ruleset`, then a whole table), so
loading it again leaves exactly one copy: forward policy DROP, established traffic accepted,
then the lab's rules in the order written. A flow with no rule meets the DROP policy.

Two flavours, because a snippet can only open what its own framework decides: an nftables
`accept` is final only in its own base chain, so an nft snippet cannot open a flow that an
iptables FORWARD policy drops. `iptables` (the default) keeps the base in iptables' filter
table; `nftables` keeps it in the nft table `inet auditor_lab`, chain `forward`, which an nft
snippet can add rules to.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from auditor.documents.yamlsource import read_bytes
from auditor.errors import InputError, Problem, RunError
from auditor.lab.command import run
from auditor.lab.spec import Firewall
from auditor.lab.specparts import Action, RuleSpec

NFT_TABLE = "auditor_lab"
NFT_CHAIN = "forward"


class SnippetFormat(StrEnum):
    IPTABLES = "iptables"
    IP6TABLES = "ip6tables"
    NFTABLES = "nftables"


def render_base(rules: tuple[RuleSpec, ...], version: int) -> str:
    """An iptables-restore document for one IP version."""
    lines = [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    ]
    lines += [_rule(r) for r in rules if r.version == version]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _rule(rule: RuleSpec) -> str:
    parts = ["-A", "FORWARD"]
    if rule.source is not None:
        parts += ["-s", str(rule.source)]
    if rule.destination is not None:
        parts += ["-d", str(rule.destination)]
    parts += ["-p", rule.protocol]
    if len(rule.ports) == 1:
        parts += ["-m", rule.protocol, "--dport", str(rule.ports[0])]
    elif rule.ports:
        parts += ["-m", "multiport", "--dports", ",".join(str(p) for p in rule.ports)]
    if rule.comment:
        parts += ["-m", "comment", "--comment", f'"{rule.comment}"']
    if rule.action is Action.ACCEPT:
        parts += ["-j", "ACCEPT"]
    elif rule.action is Action.DROP:
        parts += ["-j", "DROP"]
    elif rule.protocol == "tcp":
        parts += ["-j", "REJECT", "--reject-with", "tcp-reset"]
    else:
        unreachable = "icmp6-port-unreachable" if rule.version == 6 else "icmp-port-unreachable"
        parts += ["-j", "REJECT", "--reject-with", unreachable]
    return " ".join(parts)


def render_base_nft(rules: tuple[RuleSpec, ...]) -> str:
    """An `nft -f` script with both IP versions in one inet table."""
    lines = [
        f"table inet {NFT_TABLE} {{",
        f"  chain {NFT_CHAIN} {{",
        "    type filter hook forward priority filter; policy drop;",
        "    ct state established,related accept",
    ]
    lines += [f"    {_nft_rule(r)}" for r in rules]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _nft_rule(rule: RuleSpec) -> str:
    family = "ip6" if rule.version == 6 else "ip"
    parts = []
    if rule.source is not None:
        parts += [family, "saddr", str(rule.source)]
    if rule.destination is not None:
        parts += [family, "daddr", str(rule.destination)]
    if len(rule.ports) == 1:
        parts += [rule.protocol, "dport", str(rule.ports[0])]
    elif rule.ports:
        parts += [rule.protocol, "dport", "{ " + ", ".join(str(p) for p in rule.ports) + " }"]
    else:
        parts += ["meta", "l4proto", rule.protocol]
    if rule.action is Action.ACCEPT:
        parts.append("accept")
    elif rule.action is Action.DROP:
        parts.append("drop")
    elif rule.protocol == "tcp":
        parts += ["reject", "with", "tcp", "reset"]
    else:
        parts += ["reject", "with", "icmpx", "port-unreachable"]
    if rule.comment:
        parts += ["comment", f'"{rule.comment}"']
    return " ".join(parts)


def load_base(netns: str, rules: tuple[RuleSpec, ...], firewall: Firewall) -> None:
    """Replace the router's whole ruleset (both frameworks) with the lab's base ruleset."""
    run(["nft", "flush", "ruleset"], netns=netns)
    if firewall is Firewall.NFTABLES:
        run(["nft", "-f", "-"], netns=netns, stdin=render_base_nft(rules))
    else:
        run(["iptables-restore", "-w"], netns=netns, stdin=render_base(rules, 4))
        run(["ip6tables-restore", "-w"], netns=netns, stdin=render_base(rules, 6))


_IPT_JUMP = re.compile(r"^-[IA]\s+(\S+)(?:\s+\d+)?\s+-j\s+(\S+)\s*$")
_NFT_JUMP = re.compile(r"^(?:insert|add)\s+rule\s+(\S+)\s+(\S+)\s+(\S+)\s+jump\s+(\S+)\s*$")


def drop_present_jumps(netns: str, fmt: SnippetFormat, text: str) -> str:
    """Leave out jump rules the router already has, so applying a snippet twice leaves one
    jump: the guarded load the generated tickets document (`iptables -C ... || ...`)."""
    out: list[str] = []
    table = "filter"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("*"):
            table = stripped[1:]
        if fmt is SnippetFormat.NFTABLES:
            nft = _NFT_JUMP.match(stripped)
            if nft is not None:
                family, name, chain, target = nft.groups()
                listed = run(
                    ["nft", "list", "chain", family, name, chain], netns=netns, check=False
                )
                if re.search(rf"\bjump {re.escape(target)}\b", listed.stdout):
                    continue
        else:
            ipt = _IPT_JUMP.match(stripped)
            if ipt is not None:
                tool = "iptables" if fmt is SnippetFormat.IPTABLES else "ip6tables"
                chain, target = ipt.groups()
                check = [tool, "-w", "-t", table, "-C", chain, "-j", target]
                if run(check, netns=netns, check=False).returncode == 0:
                    continue
        out.append(line)
    kept = "\n".join(out) + "\n"
    if fmt is SnippetFormat.NFTABLES and not any(
        s.strip() and not s.strip().startswith("#") for s in out
    ):
        return ""
    return kept


_NFT_START = re.compile(
    r"^(#!.*nft|table|flush|add|create|insert|delete|destroy|define|include|replace)\b"
)
_TABLE = re.compile(r"^\*(filter|nat|mangle|raw|security)\s*$", re.MULTILINE)
_ADDR_ARG = re.compile(r"(?:^|\s)(?:-s|-d|--source|--destination|--src-range|--dst-range)\s+(\S+)")
_V6_HINT = re.compile(r"icmp6|icmpv6|ipv6-icmp|ip6t|--reject-with\s+icmp6")


def detect_format(path: Path, text: str) -> SnippetFormat:
    """iptables-restore fragments have `*table` ... `COMMIT`; the family comes from the file name
    (`ip6tables`) or from the addresses and ICMPv6 names inside. Else an nft script."""
    if _TABLE.search(text) and re.search(r"^COMMIT\s*$", text, re.MULTILINE):
        name = path.name.lower()
        if "ip6tables" in name or name.endswith((".v6", ".ip6")):
            return SnippetFormat.IP6TABLES
        if "iptables" in name or name.endswith(".v4"):
            return SnippetFormat.IPTABLES
        addrs = _ADDR_ARG.findall(text)
        if any(":" in a for a in addrs) or _V6_HINT.search(text):
            return SnippetFormat.IP6TABLES
        return SnippetFormat.IPTABLES
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith("#!")):
            continue
        if _NFT_START.match(stripped):
            return SnippetFormat.NFTABLES
        break
    raise InputError(
        [
            Problem(
                str(path),
                None,
                "",
                "not a firewall snippet the lab knows (expected an iptables-restore fragment "
                "with *filter ... COMMIT, or an nftables script; or pass --format)",
            )
        ]
    )


MAX_SNIPPET_BYTES = 16 * 1024 * 1024


def apply_snippet(netns: str, path: Path, fmt: SnippetFormat | None = None) -> SnippetFormat | None:
    """Load `path` into the router namespace on top of what is there; None when the file holds
    only comments (a change with nothing to allow)."""
    # a regular file of a sane size (a FIFO would block, a huge file would be read whole)
    raw = read_bytes(path, str(path), MAX_SNIPPET_BYTES, "a firewall snippet")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(str(path), None, "", "not UTF-8 text")]) from None
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        return None  # comments only ("nothing to allow"): nothing to load
    fmt = fmt or detect_format(path, text)
    text = drop_present_jumps(netns, fmt, text)
    if fmt is SnippetFormat.NFTABLES:
        if text.strip():
            proc = run(["nft", "-f", "-"], netns=netns, stdin=text, check=False)
        else:
            proc = run(["true"], check=False)
    else:
        tool = "iptables-restore" if fmt is SnippetFormat.IPTABLES else "ip6tables-restore"
        proc = run([tool, "-w", "--noflush"], netns=netns, stdin=text, check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[:400] or f"exit {proc.returncode}"
        line = re.search(r"line:? (\d+)", proc.stderr)
        if line or "Error" in proc.stderr or "failed" in proc.stderr:
            raise InputError(
                [
                    Problem(
                        str(path),
                        int(line.group(1)) if line else None,
                        "",
                        f"{fmt} rejected it: {detail}",
                    )
                ]
            )
        raise RunError(f"lab: loading {path} ({fmt}) failed: {detail}")
    return fmt
