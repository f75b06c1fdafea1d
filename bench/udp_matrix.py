"""Benchmark: the UDP application checks against `nmap -sU` on the same matrix, and the floor.

Namespaces of its own (documentation ranges only, removed in `finally`): a probe namespace with
8 source addresses, a router that DROPs a quarter of the endpoints (203.0.113.64/28), and an
endpoint namespace with 64 addresses running real servers: dnsmasq (53), krb5kdc (88), chronyd
(123) and freeradius (1812, every source a client). 8 x 64 x 4 = 2,048 mixed UDP checks
(dns, kerberos, ntp, radius), 512 of them silent; timeout 1 s. The goal: all 2,048 within
1.5 x the timeout.

    sudo .venv/bin/python bench/udp_matrix.py [--reps 5] [--skip-nmap]

Needs root, iproute2, iptables, nmap, dnsmasq, krb5-kdc, chrony, freeradius.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.probe_matrix import Net, endpoints, sh, sources  # noqa: E402

PORTS = {53: "dns", 88: "kerberos", 123: "ntp", 1812: "radius"}
REALM = "BENCH.EXAMPLE.COM"


@contextmanager
def matrix(n_sources: int, n_endpoints: int, state: Path, secret: str) -> Iterator[Net]:
    from netaddr import IPAddress

    from auditor.lab import daemon, dnsd, kdc, ntpd, radiusd

    net = Net(f"iau{os.getpid() % 10000}", n_sources, n_endpoints)
    addrs = [IPAddress(a) for a in net.endpoints]
    try:
        net.up()  # also starts a TCP listener we do not use
        radiusd.write_config(state / "radius", addrs, [IPAddress(s) for s in net.sources], secret)
        radiusd.start(state / "radius", addrs, net.endpoint)
        kdc.write_config(state / "kdc", addrs, REALM)
        kdc.create_realm(state / "kdc", REALM, ["bench-probe"])
        kdc.start(state / "kdc", addrs, REALM, net.endpoint)
        dnsd.write_config(state / "dns", "bench.example.com", [(addrs[0], "x.bench.example.com")])
        dnsd.start(state / "dns", addrs, "bench.example.com", net.endpoint)
        ntpd.write_config(state / "ntp", [], stratum=8)  # wildcard: chrony binds one address
        ntpd.start(state / "ntp", [], net.endpoint)
        deadline = time.monotonic() + 10
        while not daemon.listening(net.endpoint, {"0.0.0.0:123"}, udp=True):
            if time.monotonic() > deadline:
                raise RuntimeError("chronyd did not listen")
            time.sleep(0.05)
        yield net
    finally:
        for mod, sub in ((radiusd, "radius"), (kdc, "kdc"), (dnsd, "dns"), (ntpd, "ntp")):
            mod.stop(state / sub)  # type: ignore[attr-defined]
        net.down()


def bench_flows(args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    """The 2,048 UDP flows of the matrix and their four providers."""
    from netaddr import IPAddress

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

    checks = {53: Check.DNS, 88: Check.KERBEROS, 123: Check.NTP, 1812: Check.RADIUS}
    providers = [
        Provider("dns", "dns", (), dns=DnsSpec("x.bench.example.com")),
        Provider("kerberos", "kerberos", (), kerberos=KerberosSpec(REALM, "bench-probe")),
        Provider("ntp", "ntp", ()),
        Provider("radius", "radius", (), radius=RadiusSpec(secret_env="X")),
    ]
    flows = [
        Flow(
            source=IPAddress(src),
            destination=IPAddress(dst),
            protocol=Protocol.UDP,
            port=port,
            providers=(PORTS[port],),
            kind=PORTS[port],
            checks=(checks[port],),
            appliances=frozenset({"bench"}),
            states=BOTH_STATES,
            source_role=Role.UNIQUE,
            endpoint=dst,
        )
        for src in sources(args.sources)
        for dst in endpoints(args.endpoints)
        for port in PORTS
    ]
    return flows, providers


def trace_sends() -> list[float]:
    """With BENCH_SENDS set: the moments the checks' sockets are opened (just before the send)."""
    sent: list[float] = []
    if os.environ.get("BENCH_SENDS"):
        import auditor.probe.app.udp as udp_mod

        original = udp_mod.bound_socket

        def traced(*a: Any) -> Any:
            sock = original(*a)
            sent.append(time.perf_counter())
            return sock

        udp_mod.bound_socket = traced  # type: ignore[assignment]
    return sent


def timed_run(args: argparse.Namespace, sent: list[float], label: str) -> tuple[float, Any]:
    """One engine run over the matrix (profiled with BENCH_PROFILE=FILE): wall and records."""
    from auditor.inventory.secrets import Secret
    from auditor.probe.engine import ProbeOptions, probe_flows

    flows, providers = bench_flows(args)
    secret = {"radius": Secret(os.environ["BENCH_RADIUS_SECRET"])}
    sent.clear()
    start = time.perf_counter()
    if os.environ.get("BENCH_PROFILE") and label == "run 1":
        import cProfile

        with cProfile.Profile() as prof:
            records = probe_flows(flows, providers, secret, ProbeOptions(timeout=args.timeout))
        prof.dump_stats(os.environ["BENCH_PROFILE"])
    else:
        records = probe_flows(flows, providers, secret, ProbeOptions(timeout=args.timeout))
    wall = time.perf_counter() - start
    if sent:
        print(
            f"{label}: first socket {min(sent) - start:.3f} s, last {max(sent) - start:.3f} s",
            file=sys.stderr,
        )
    return wall, records


def engine_child(args: argparse.Namespace) -> None:
    """Inside the probe namespace: every check through the engine, as `auditor probe` runs it;
    then the same matrix again in the same process, the protocol libraries (dnspython, pyrad,
    pyasn1) loaded by then, as in any run after the first of a long-lived process."""
    sent = trace_sends()
    wall, records = timed_run(args, sent, "run 1")
    time.sleep(args.timeout)  # late answers of the first run are not the second's
    warm, warm_records = timed_run(args, sent, "run 2")
    if Counter(r.status for r in warm_records) != Counter(r.status for r in records):
        print("the second run classified differently", file=sys.stderr)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    doc = {
        "wall": wall,
        "warm": warm,
        "cpu": usage.ru_utime + usage.ru_stime,
        "counts": Counter(r.status.value for r in records),
        "rss_kb": usage.ru_maxrss,
        "probes": len(records),
    }
    print(json.dumps(doc))


def run_engine(net: Net, timeout: float, secret: str) -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run(
        ["ip", "netns", "exec", net.probe, sys.executable, str(Path(__file__).resolve()),
         "_engine", "--sources", str(len(net.sources)), "--endpoints", str(len(net.endpoints)),
         "--timeout", str(timeout)],
        env={**os.environ, "BENCH_RADIUS_SECRET": secret},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    result["process_wall"] = time.perf_counter() - start
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    return result


def run_nmap(net: Net, timeout: float) -> dict[str, Any]:
    """`nmap -sU` per source, one after another (nmap binds one source per run)."""
    counts: Counter[str] = Counter()
    ms = int(timeout * 1000)
    start = time.perf_counter()
    for src in net.sources:
        done = sh(
            "ip", "netns", "exec", net.probe, "nmap", "-n", "-Pn", "-sU", "-S", src,
            "-e", net.probe_if, "--max-retries", "0", f"--max-rtt-timeout={ms}ms",
            "-p", ",".join(map(str, PORTS)), "-oG", "-", *net.endpoints,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            if "Ports:" in line:
                for entry in line.split("Ports:")[1].split("\t")[0].split(","):
                    counts[entry.strip().split("/")[1]] += 1
    return {"wall": time.perf_counter() - start, "counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="bench")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--endpoints", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--skip-nmap", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.mode == "_engine":
        engine_child(args)
        return
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    missing = [
        t for t in ("nmap", "dnsmasq", "krb5kdc", "chronyd", "freeradius") if not shutil.which(t)
    ]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (make deps)")
    secret = secrets.token_urlsafe(16)
    results: dict[str, Any] = {"engine": [], "nmap": []}
    with (
        tempfile.TemporaryDirectory(prefix="i12-udp-bench-") as tmp,
        matrix(args.sources, args.endpoints, Path(tmp), secret) as net,
    ):
        for _ in range(args.reps):
            results["engine"].append(run_engine(net, args.timeout, secret))
            if not args.skip_nmap:
                results["nmap"].append(run_nmap(net, args.timeout))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print("| measure | wall (median) | runs | vs timeout |")
    print("|---|---|---|---|")
    print(f"| floor (one timeout) | {args.timeout:.3f} s | | 1.00x |")
    rows = (
        ("auditor engine, first run (loads the protocol libraries)", "wall"),
        ("auditor engine, second run in the same process", "warm"),
        ("process: interpreter start, both runs and a pause", "process_wall"),
    )
    for name, key in rows:
        walls = [r[key] for r in results["engine"]]
        med = statistics.median(walls)
        runs = " ".join(f"{w:.2f}" for w in walls)
        print(f"| {name} | {med:.2f} s | {runs} | {med / args.timeout:.2f}x |")
    cpus = [r["cpu"] for r in results["engine"]]
    print(
        f"| process CPU (user+sys, start-up and both runs) | {statistics.median(cpus):.2f} s | "
        f"{' '.join(f'{c:.2f}' for c in cpus)} | |"
    )
    if results["nmap"]:
        walls = [r["wall"] for r in results["nmap"]]
        med = statistics.median(walls)
        runs = " ".join(f"{w:.2f}" for w in walls)
        print(f"| nmap -sU loop | {med:.2f} s | {runs} | {med / args.timeout:.2f}x |")
    print()
    print("engine statuses:", dict(results["engine"][-1]["counts"]))
    if results["nmap"]:
        print("nmap states:", dict(results["nmap"][-1]["counts"]))


if __name__ == "__main__":
    main()
