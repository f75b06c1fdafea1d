"""How much CPU the engine spends before the last of 2,048 UDP checks is sent: the part of a
UDP run that the timeout does not cover (wall = that CPU / the share of a core the process gets
+ one timeout). Loopback only, nothing listens: every check is `refused` at once, so the
number does not depend on servers or on the machine's load (CPU time, not wall time).

    .venv/bin/python bench/udp_send_cpu.py [--reps 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from typing import Any

from netaddr import IPAddress

import auditor.probe.app.udp as udp_mod
from auditor.inventory.secrets import Secret
from auditor.model.inventory import (
    BOTH_STATES,
    Check,
    DnsSpec,
    Flow,
    KerberosSpec,
    Protocol,
    Provider,
    RadiusSpec,
    Role,
)
from auditor.probe.engine import ProbeOptions, probe_flows

PORTS = {53: Check.DNS, 88: Check.KERBEROS, 123: Check.NTP, 1812: Check.RADIUS}
KINDS = {53: "dns", 88: "kerberos", 123: "ntp", 1812: "radius"}


def matrix() -> tuple[list[Flow], list[Provider]]:
    """8 x 64 x 4 flows from 127.0.0.1 to 127.0.S.D (loopback: nothing leaves the host)."""
    providers = [
        Provider("dns", "dns", (), dns=DnsSpec("x.bench.example.com")),
        Provider("kerberos", "kerberos", (), kerberos=KerberosSpec("B.EXAMPLE.COM", "probe")),
        Provider("ntp", "ntp", ()),
        Provider("radius", "radius", (), radius=RadiusSpec(secret_env="X")),
    ]
    flows = [
        Flow(
            source=IPAddress("127.0.0.1"),
            destination=IPAddress(f"127.0.{s}.{d}"),
            protocol=Protocol.UDP,
            port=port,
            providers=(KINDS[port],),
            kind=KINDS[port],
            checks=(PORTS[port],),
            appliances=frozenset({"bench"}),
            states=BOTH_STATES,
            source_role=Role.UNIQUE,
            endpoint=f"127.0.{s}.{d}",
        )
        for s in range(1, 9)
        for d in range(16, 80)
        for port in PORTS
    ]
    return flows, providers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    flows, providers = matrix()
    sent: list[float] = []
    original = udp_mod.bound_socket

    def traced(*a: Any) -> Any:
        sock = original(*a)
        sent.append(time.process_time())
        return sock

    udp_mod.bound_socket = traced  # type: ignore[assignment]
    to_last, total = [], []
    for rep in range(args.reps + 1):  # the first run loads the protocol libraries: not counted
        sent.clear()
        cpu = time.process_time()
        records = probe_flows(flows, providers, {"radius": Secret("x")}, ProbeOptions(timeout=1))
        if rep:
            to_last.append(max(sent) - cpu)
            total.append(time.process_time() - cpu)
    print(f"statuses: {dict(Counter(r.status.value for r in records))}")
    print(f"CPU before the last send: median {statistics.median(to_last):.3f} s "
          f"({' '.join(f'{x:.3f}' for x in to_last)})")  # fmt: skip
    print(f"CPU of the whole run:     median {statistics.median(total):.3f} s")


if __name__ == "__main__":
    main()
