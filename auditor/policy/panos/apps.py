"""The application table: the standard ports ("default ports") of PAN-OS applications, as Palo
Alto Networks' Applipedia and the administrator's guide ("Safely Enable Applications on
Default Ports") list them. Only applications whose default ports are documented there and used
by the providers this product audits are listed; a rule naming any other application (unless
the configuration defines it, with its default ports) is `unknown` naming the application.

Sources: Applipedia (applipedia.paloaltonetworks.com) entries, and the PAN-OS knowledge base
article "What does application-default under Service mean?" (dns: udp/53,5353, tcp/53).
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.ruleset.model import Intervals

# application -> "proto/ports;proto/ports"
TABLE: Mapping[str, str] = {
    "dns": "udp/53,5353;tcp/53",
    "dns-base": "udp/53,5353;tcp/53",
    "web-browsing": "tcp/80",
    "ssl": "tcp/443",
    "ldap": "tcp/389;udp/389",
    "kerberos": "tcp/88;udp/88",
    "radius": "udp/1812,1813,1645,1646",
    "ntp": "udp/123",
    "ntp-base": "udp/123",
    "syslog": "udp/514",
    "smtp": "tcp/25",
    "smtp-base": "tcp/25",
    "snmp": "udp/161,162",
    "snmp-base": "udp/161,162",
}


def parse_ports(text: str) -> dict[str, list[tuple[int, int]]]:
    """`tcp/80,8080-8090;udp/53` (or PAN-OS `default/port` members `tcp/80`) -> spans per
    protocol. ValueError names what is wrong."""
    out: dict[str, list[tuple[int, int]]] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", " ").split())):
        protocol, _, ports = part.partition("/")
        if protocol not in ("tcp", "udp", "sctp") or not ports:
            raise ValueError(f"{part!r} (expected tcp/PORTS, udp/PORTS or sctp/PORTS)")
        out.setdefault(protocol, []).extend(port_spans(ports))
    return out


def port_spans(text: str) -> list[tuple[int, int]]:
    """`80,443,1000-2000` -> [(80, 80), (443, 443), (1000, 2000)]."""
    spans = []
    for item in text.split(","):
        low, _, high = item.strip().partition("-")
        if not low.isascii() or not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"port {item.strip()!r} (expected N or N-M, 0-65535)")
        lo, hi = int(low), int(high or low)
        if hi > 65535 or lo > hi:
            raise ValueError(f"port {item.strip()!r} (expected N or N-M, 0-65535, N <= M)")
        spans.append((lo, hi))
    return spans


def shipped_table() -> dict[str, dict[str, Intervals]]:
    return {
        name: {proto: Intervals(spans) for proto, spans in parse_ports(ports).items()}
        for name, ports in TABLE.items()
    }
