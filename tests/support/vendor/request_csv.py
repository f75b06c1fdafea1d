"""The access-request sheet: RFC 4180 CSV with the documented header; every line allows one
source block to one destination block on one protocol and port range."""

from __future__ import annotations

import csv
import io

from support.vendor.common import Allow, Policy, ReaderError, network, port_range

HEADER = [
    "Ticket", "Source", "Source role", "Failover state", "Destination", "Protocol", "Port",
    "Action", "Justification", "Requester", "Expires", "Evidence",
]  # fmt: skip


def read(text: str) -> Policy:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or rows[0] != HEADER:
        raise ReaderError(f"header {rows[:1]}")
    if not text.endswith("\r\n") or "\n" in text.replace("\r\n", ""):
        raise ReaderError("lines must end in CRLF")
    policy = Policy()
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(HEADER):
            raise ReaderError(f"line {number}: {len(row)} cells")
        cells = dict(zip(HEADER, row, strict=True))
        if cells["Action"] != "allow" or cells["Protocol"] not in ("tcp", "udp"):
            raise ReaderError(f"line {number}: {cells['Action']} {cells['Protocol']}")
        policy.rules.append(
            Allow(
                f"line {number}",
                (network(cells["Source"]),),
                (network(cells["Destination"]),),
                cells["Protocol"],
                (port_range(cells["Port"]),),
            )
        )
    return policy
