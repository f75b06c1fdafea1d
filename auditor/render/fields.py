"""Plan values as the snippet syntaxes spell them."""

from __future__ import annotations

from collections.abc import Sequence

from netaddr import IPNetwork

from auditor.plan import PlannedRule, PortRange
from auditor.render.escape import safe_text


def block(net: IPNetwork) -> str:
    """`198.51.100.10` for a single address, `198.51.100.8/30` for a wider block."""
    return str(net.ip) if net.prefixlen == (32 if net.version == 4 else 128) else str(net.cidr)


def blocks(nets: Sequence[IPNetwork]) -> list[str]:
    return [block(n) for n in nets]


def source_texts(rule: PlannedRule) -> list[str]:
    return list(rule.source_blocks) if rule.source_blocks else blocks(rule.sources)


def destination_texts(rule: PlannedRule) -> list[str]:
    return list(rule.destination_blocks) if rule.destination_blocks else blocks(rule.destinations)


def ports_text(ports: Sequence[PortRange], range_sep: str = "-", list_sep: str = ",") -> str:
    return list_sep.join(
        str(r.low) if r.low == r.high else f"{r.low}{range_sep}{r.high}" for r in ports
    )


def ports_set(ports: Sequence[PortRange], range_sep: str) -> str:
    """A single port as it is, several (or a range) as a `{ a, b-c }` set: nft and pf alike."""
    text = ports_text(ports, range_sep=range_sep, list_sep=", ")
    single = len(ports) == 1 and ports[0].low == ports[0].high
    return text if single else "{ " + text + " }"


def rule_comment(site: str, rule: PlannedRule, limit: int) -> str:
    """`auditor support.example.com: corp-ad ldaps proven filtered`, cut to `limit` bytes."""
    who = safe_text(" ".join(rule.providers), limit // 2)
    text = (
        f"auditor {safe_text(site, 64)}: {who} {' '.join(rule.kinds)} "
        f"{rule.status.value} {' '.join(s.value for s in rule.evidence)}"
    )
    return safe_text(text, limit)
