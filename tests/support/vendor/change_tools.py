"""The change-tool import files: RFC 4180 CSV with the documented header, one flow a line.

Tufin SecureChange (`tufin.csv`): Action `Accept`, one source and one destination address, the
protocol upper-case (`TCP`, `UDP`) and one port, a Workflow and a Requester on every line.
AlgoSec FireFlow (`algosec.csv`, `algosec-ipv6.csv`): the service as `tcp/636`, Action `Allow`,
one IP version per file (FireFlow does not mix them in one request)."""

from __future__ import annotations

import csv
import io
import re

from netaddr import IPNetwork

from support.vendor.common import Allow, Policy, ReaderError, network, port

TUFIN = [
    "Subject", "Workflow", "Requester", "Access Request", "Action", "Source", "Destination",
    "Protocol", "Port", "Comment",
]  # fmt: skip
ALGOSEC = [
    "Requestor", "Subject", "Source", "Destination", "Service", "Action", "Expires", "Comment",
]  # fmt: skip


def _rows(text: str, header: list[str]) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or rows[0] != header:
        raise ReaderError(f"header {rows[:1]}")
    if not text.endswith("\r\n") or "\n" in text.replace("\r\n", ""):
        raise ReaderError("lines must end in CRLF")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ReaderError(f"line {number}: {len(row)} cells")
        out.append(dict(zip(header, row, strict=True)))
    return out


def _host(text: str) -> IPNetwork:
    net = network(text)
    if net.size != 1:
        raise ReaderError(f"{text}: one address per line expected")
    return net


def read_tufin(text: str) -> Policy:
    policy = Policy()
    seen: set[str] = set()
    for row in _rows(text, TUFIN):
        ar = row["Access Request"]
        if not re.fullmatch(r"AR[0-9]+", ar) or ar in seen:
            raise ReaderError(f"access request {ar!r}")
        seen.add(ar)
        if row["Action"] != "Accept" or row["Protocol"] not in ("TCP", "UDP"):
            raise ReaderError(f"{ar}: {row['Action']} {row['Protocol']}")
        if not row["Workflow"] or not row["Subject"]:
            raise ReaderError(f"{ar}: no workflow or subject")
        p = port(row["Port"])
        policy.rules.append(
            Allow(
                ar,
                (_host(row["Source"]),),
                (_host(row["Destination"]),),
                row["Protocol"].lower(),
                ((p, p),),
            )
        )
    return policy


def read_algosec(files: dict[str, str]) -> Policy:
    policy = Policy()
    for name, text in files.items():
        family = {"algosec.csv": 4, "algosec-ipv6.csv": 6}.get(name)
        if family is None:
            raise ReaderError(f"unexpected file {name}")
        for number, row in enumerate(_rows(text, ALGOSEC), start=2):
            m = re.fullmatch(r"(tcp|udp)/([0-9]+)", row["Service"])
            if m is None or row["Action"] != "Allow":
                raise ReaderError(f"{name}:{number}: {row['Service']} {row['Action']}")
            src, dst = _host(row["Source"]), _host(row["Destination"])
            if src.version != family or dst.version != family:
                raise ReaderError(f"{name}:{number}: not IPv{family}")
            if row["Requestor"] and "@" not in row["Requestor"]:
                raise ReaderError(f"{name}:{number}: requestor {row['Requestor']!r}")
            p = port(m[2])
            policy.rules.append(Allow(f"{name}:{number}", (src,), (dst,), m[1], ((p, p),)))
    return policy
