"""Benchmark: the probe engine against the nmap loop a user would write, and the floor.

A lab-like matrix in network namespaces of its own (documentation ranges only, removed in
`finally`): a probe namespace holding 8 source addresses, a router namespace forwarding with
netfilter that DROPs a quarter of the endpoints, and an endpoint namespace with 64 addresses
listening on 2 of 4 TCP ports (the other 2 answer with RST). 8 x 64 x 4 = 2,048 probes,
512 of them dropped; timeout 1 s. Then 200 LDAP binds (8 sources x 25 slapd endpoints) in the
namespace lab (auditor.lab) with a generated spec.

    sudo .venv/bin/python bench/probe_matrix.py [--reps 5] [--skip-ldap] [--skip-nmap]

Needs root, iproute2, iptables, nmap, slapd. Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
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
from auditor.probe.engine import ProbeOptions  # noqa: E402

DEFAULTS = ProbeOptions()
PORTS = (389, 636, 3268, 3269)
OPEN_PORTS = (389, 636)
ROUTER_PROBE = "198.51.100.1"
ROUTER_ENDPOINT = "203.0.113.1"
ENDPOINT_BASE = 16  # endpoints 203.0.113.16 .. .79
# nmap's --min-rtt-timeout default: on a sub-millisecond path its adaptive timeout sinks to it.
NMAP_MIN_RTT = 0.1
DROPPED_NET = "203.0.113.64/28"  # .64 .. .79: the last quarter of the 64 endpoints


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def sources(n: int) -> list[str]:
    return [f"198.51.100.{101 + i}" for i in range(n)]


def endpoints(n: int) -> list[str]:
    return [f"203.0.113.{ENDPOINT_BASE + i}" for i in range(n)]


class Net:
    def __init__(self, prefix: str, n_sources: int, n_endpoints: int) -> None:
        self.prefix = prefix
        self.probe = f"{prefix}-p"
        self.router = f"{prefix}-r"
        self.endpoint = f"{prefix}-e"
        self.probe_if = f"{prefix}p0"
        self.sources = sources(n_sources)
        self.endpoints = endpoints(n_endpoints)
        self.listener: subprocess.Popen[str] | None = None

    def up(self) -> None:
        p, r, e = self.probe, self.router, self.endpoint
        for ns in (p, r, e):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.probe_if, "netns", p, "type", "veth",
           "peer", "name", f"{self.prefix}r0", "netns", r)  # fmt: skip
        sh("ip", "link", "add", f"{self.prefix}r1", "netns", r, "type", "veth",
           "peer", "name", f"{self.prefix}e0", "netns", e)  # fmt: skip
        for ns, ifname in (
            (p, self.probe_if),
            (r, f"{self.prefix}r0"),
            (r, f"{self.prefix}r1"),
            (e, f"{self.prefix}e0"),
        ):
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        for src in self.sources:
            sh("ip", "-n", p, "addr", "add", f"{src}/24", "dev", self.probe_if)
        sh("ip", "-n", r, "addr", "add", f"{ROUTER_PROBE}/24", "dev", f"{self.prefix}r0")
        sh("ip", "-n", r, "addr", "add", f"{ROUTER_ENDPOINT}/24", "dev", f"{self.prefix}r1")
        for dst in self.endpoints:
            sh("ip", "-n", e, "addr", "add", f"{dst}/24", "dev", f"{self.prefix}e0")
        sh("ip", "-n", p, "route", "add", "default", "via", ROUTER_PROBE)
        sh("ip", "-n", e, "route", "add", "default", "via", ROUTER_ENDPOINT)
        sh("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        ipt = ("ip", "netns", "exec", r, "iptables")
        sh(*ipt, "-P", "FORWARD", "DROP")
        sh(*ipt, "-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
           "-j", "ACCEPT")  # fmt: skip
        sh(*ipt, "-A", "FORWARD", "-d", DROPPED_NET, "-j", "DROP")
        sh(*ipt, "-A", "FORWARD", "-s", "198.51.100.0/24", "-d", "203.0.113.0/24", "-j", "ACCEPT")
        sh(*ipt, "-A", "FORWARD", "-s", "203.0.113.0/24", "-d", "198.51.100.0/24", "-j", "ACCEPT")
        # Listeners inside the endpoint namespace only (0.0.0.0 there is the 64 endpoints).
        code = (
            "import asyncio\n"
            "async def h(r, w):\n    w.close()\n"
            "async def main():\n"
            f"    for port in {OPEN_PORTS!r}:\n"
            "        await asyncio.start_server(h, '0.0.0.0', port, backlog=4096)\n"
            "    print('ready', flush=True)\n"
            "    await asyncio.Event().wait()\n"
            "asyncio.run(main())\n"
        )
        self.listener = subprocess.Popen(
            ["ip", "netns", "exec", e, sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.listener.stdout is not None
        if self.listener.stdout.readline().strip() != "ready":
            raise RuntimeError("endpoint listener did not start")

    def down(self) -> None:
        if self.listener is not None and self.listener.poll() is None:
            self.listener.terminate()
            try:
                self.listener.wait(5)
            except subprocess.TimeoutExpired:
                self.listener.kill()
                self.listener.wait()
        for ns in (self.probe, self.router, self.endpoint):
            sh("ip", "netns", "del", ns, check=False)


@contextmanager
def matrix(n_sources: int, n_endpoints: int) -> Iterator[Net]:
    net = Net(f"pbm{os.getpid() % 100000}", n_sources, n_endpoints)
    try:
        net.up()
        yield net
    finally:
        net.down()


# -- the engine, run inside the probe namespace as a child of its own --------------------------


def engine_child(args: argparse.Namespace) -> None:
    from netaddr import IPAddress

    from auditor.model.inventory import BOTH_STATES, Check, Flow, Protocol, Role
    from auditor.probe.engine import ProbeOptions, probe_flows

    flows = [
        Flow(
            source=IPAddress(src),
            destination=IPAddress(dst),
            protocol=Protocol.TCP,
            port=port,
            providers=("bench",),
            kind="bench",
            checks=(Check.TCP,),
            appliances=frozenset({"bench"}),
            states=BOTH_STATES,
            source_role=Role.UNIQUE,
            endpoint=dst,
        )
        for src in sources(args.sources)
        for dst in endpoints(args.endpoints)
        for port in PORTS
    ]
    options = ProbeOptions(
        timeout=args.timeout, concurrency=args.concurrency, per_destination=args.per_destination
    )
    start = time.perf_counter()
    records = probe_flows(flows, [], {}, options)
    wall = time.perf_counter() - start
    counts = Counter(r.status.value for r in records)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "counts": counts, "rss_kb": rss_kb, "probes": len(records)}))


def run_engine(net: Net, timeout: float, concurrency: int) -> dict[str, Any]:
    start = time.perf_counter()
    done = sh(
        "ip", "netns", "exec", net.probe, sys.executable, str(Path(__file__).resolve()),
        "_engine", "--sources", str(len(net.sources)), "--endpoints", str(len(net.endpoints)),
        "--timeout", str(timeout), "--concurrency", str(concurrency),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    result["process_wall"] = time.perf_counter() - start
    return result


def run_nmap_loop(net: Net, timeout: float, same_timeout: bool = False) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    rss_kb = 0
    ms = int(timeout * 1000)
    same_timeout_args = (f"--min-rtt-timeout={ms}ms", f"--initial-rtt-timeout={ms}ms")
    start = time.perf_counter()
    for src in net.sources:
        done = sh(
            "ip", "netns", "exec", net.probe, "/usr/bin/time", "-f", "RSS %M",
            "nmap", "-n", "-Pn", "-sT", "-S", src, "-e", net.probe_if,
            "--max-retries", "0", f"--max-rtt-timeout={ms}ms",
            *(same_timeout_args if same_timeout else ()),
            "-p", ",".join(map(str, PORTS)), "-oG", "-", *net.endpoints,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            if "Ports:" in line:
                for entry in line.split("Ports:")[1].split("\t")[0].split(","):
                    counts[entry.strip().split("/")[1]] += 1
        rss_line = [x for x in done.stderr.splitlines() if x.startswith("RSS ")][-1]
        rss_kb = max(rss_kb, int(rss_line.split()[1]))
    wall = time.perf_counter() - start
    return {"wall": wall, "counts": counts, "rss_kb": rss_kb}


# -- LDAP binds in the namespace lab -------------------------------------------------------------


def ldap_spec(folder: Path, n_sources: int, n_endpoints: int) -> Path:
    srcs = [f"198.51.100.{10 + i}" for i in range(n_sources)]
    shared = srcs[0]
    uniques = srcs[1:]
    primary = [{"ip": f"{shared}/24", "role": "shared", "enabled": True}] + [
        {"ip": f"{ip}/24", "role": "unique"} for ip in uniques[::2]
    ]
    backup = [{"ip": f"{shared}/24", "role": "shared", "enabled": False}] + [
        {"ip": f"{ip}/24", "role": "unique"} for ip in uniques[1::2]
    ]
    eps = [f"203.0.113.{100 + i}" for i in range(n_endpoints)]
    doc = {
        "site": {"name": "bench.example.com"},
        "pair": {
            "primary": {"name": "site1", "addresses": primary},
            "backup": {"name": "site2", "addresses": backup},
            "failover": {"site_instance_ip": shared, "peer_port": 443},
        },
        "providers": [
            {
                "name": "bench-ldaps",
                "kind": "ldaps",
                "endpoints": eps,
                "tls_name": "ldap.bench.example.com",
                "base_dn": "dc=bench,dc=example,dc=com",
                "ca_file": "/nonexistent/replaced-by-the-lab.pem",
                "bind": {
                    "dn": "cn=svc-bench,ou=service,dc=bench,dc=example,dc=com",
                    "password_env": "AUDITOR_BIND_PASSWORD",
                },
            }
        ],
    }
    lab = {
        "inventory": "bench-inventory.yaml",
        "router": {"probe_side": ["198.51.100.1/24"], "provider_side": ["203.0.113.1/24"]},
        "servers": [{"name": "bench", "addresses": eps, "cert_name": "ldap.bench.example.com"}],
        "rules": [
            {
                "source": "198.51.100.0/24",
                "destination": "203.0.113.0/24",
                "port": [636],
                "action": "accept",
            }
        ],
    }
    (folder / "bench-inventory.yaml").write_text(json.dumps(doc, indent=2))  # JSON is YAML
    path = folder / "bench-lab.yaml"
    path.write_text(json.dumps(lab, indent=2))
    return path


def run_ldap(reps: int, n_sources: int, n_endpoints: int, timeout: float) -> dict[str, Any]:
    from auditor.lab import Lab

    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        folder = Path(tmp)
        spec = ldap_spec(folder, n_sources, n_endpoints)
        lab = Lab(spec, prefix=f"pbl{os.getpid() % 100000}")
        runs = []
        try:
            lab.down()
            lab.up()
            for _ in range(reps):
                out = folder / "results.json"
                start = time.perf_counter()
                done = lab.exec(
                    [
                        "/usr/bin/time", "-f", "RSS %M", sys.executable, "-m", "auditor",
                        "probe", str(lab.inventory_path()), "-o", str(out), "-q",
                        "--provider", "bench-ldaps", "--timeout", str(timeout),
                    ],
                    capture_output=True, text=True, timeout=300,
                )  # fmt: skip
                wall = time.perf_counter() - start
                doc = json.loads(out.read_text())
                binds = [r for r in doc["records"] if r["check"] == "ldap-bind"]
                started = doc["meta"]["started_at"]
                rss_line = [x for x in done.stderr.splitlines() if x.startswith("RSS ")][-1]
                runs.append(
                    {
                        "process_wall": wall,
                        "binds": len(binds),
                        "bind_ok": sum(r["status"] == "bind-ok" for r in binds),
                        "tls_ok": sum(r["status"] == "tls-ok" for r in doc["records"]),
                        "started_at": started,
                        "rss_kb": int(rss_line.split()[1]),
                        "exit": done.returncode,
                    }
                )
                # The engine's own wall time, without interpreter start-up: time the same run
                # through the engine in-process would need the lab's netns; use the CLI's.
        finally:
            lab.down()
    return {"runs": runs}


def ldap_engine_child(args: argparse.Namespace) -> None:
    """Engine-only timing of the LDAP flows (run inside the lab's probe namespace)."""
    from auditor.flows.prepare import prepare
    from auditor.inventory.secrets import read_passwords
    from auditor.probe.engine import ProbeOptions, probe_flows

    prepared = prepare(Path(args.inventory))
    flows = [f for f in prepared.flows if "bench-ldaps" in f.providers]
    passwords = read_passwords(prepared.inventory)
    start = time.perf_counter()
    records = probe_flows(
        flows, prepared.inventory.providers, passwords, ProbeOptions(timeout=args.timeout)
    )
    wall = time.perf_counter() - start
    counts = Counter(f"{r.check}:{r.status.value}" for r in records)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "counts": counts, "rss_kb": rss_kb}))


def run_ldap_engine(reps: int, n_sources: int, n_endpoints: int, timeout: float) -> dict[str, Any]:
    from auditor.lab import Lab

    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        folder = Path(tmp)
        spec = ldap_spec(folder, n_sources, n_endpoints)
        lab = Lab(spec, prefix=f"pbl{os.getpid() % 100000}")
        runs = []
        try:
            lab.down()
            lab.up()
            for _ in range(reps):
                start = time.perf_counter()
                done = lab.exec(
                    [
                        sys.executable, str(Path(__file__).resolve()), "_ldap_engine",
                        "--inventory", str(lab.inventory_path()), "--timeout", str(timeout),
                    ],
                    capture_output=True, text=True, timeout=300, check=True,
                )  # fmt: skip
                result = json.loads(done.stdout)
                result["process_wall"] = time.perf_counter() - start
                runs.append(result)
        finally:
            lab.down()
    return {"runs": runs}


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd")
    child = sub.add_parser("_engine")
    child.add_argument("--sources", type=int, default=8)
    child.add_argument("--endpoints", type=int, default=64)
    child.add_argument("--timeout", type=float, default=1.0)
    child.add_argument("--concurrency", type=int, default=DEFAULTS.concurrency)
    child.add_argument("--per-destination", type=int, default=DEFAULTS.per_destination)
    lchild = sub.add_parser("_ldap_engine")
    lchild.add_argument("--inventory", required=True)
    lchild.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--endpoints", type=int, default=64)
    parser.add_argument("--ldap-endpoints", type=int, default=25)
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULTS.concurrency,
        help="the engine's global cap (default: the CLI's)",
    )  # fmt: skip
    parser.add_argument("--skip-nmap", action="store_true")
    parser.add_argument("--skip-ldap", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()
    if args.cmd == "_engine":
        engine_child(args)
        return 0
    if args.cmd == "_ldap_engine":
        ldap_engine_child(args)
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 3
    # SIGTERM runs the `finally` that removes the namespaces, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    raw: dict[str, Any] = {
        "engine": [],
        "nmap": [],
        "nmap_same_timeout": [],
        "engine_short": [],
        "timeout": args.timeout,
        "concurrency": args.concurrency,
        "loadavg_before": os.getloadavg(),
    }
    with matrix(args.sources, args.endpoints) as net:
        for rep in range(args.reps):
            engine = run_engine(net, args.timeout, args.concurrency)
            raw["engine"].append(engine)
            line = f"rep {rep + 1}: engine {engine['wall']:.3f} s ({engine['process_wall']:.3f} s"
            line += f" with start-up) {dict(engine['counts'])} rss {engine['rss_kb'] / 1024:.0f} MB"
            short = run_engine(net, NMAP_MIN_RTT, args.concurrency)
            raw["engine_short"].append(short)
            line += f"; engine at {NMAP_MIN_RTT:g} s {short['wall']:.3f} s {dict(short['counts'])}"
            if not args.skip_nmap:
                nmap = run_nmap_loop(net, args.timeout)
                raw["nmap"].append(nmap)
                line += f"; nmap loop {nmap['wall']:.3f} s {dict(nmap['counts'])}"
                line += f" rss {nmap['rss_kb'] / 1024:.0f} MB"
                same = run_nmap_loop(net, args.timeout, same_timeout=True)
                raw["nmap_same_timeout"].append(same)
                line += f"; nmap loop, same timeout {same['wall']:.3f} s {dict(same['counts'])}"
            print(line, flush=True)
    if not args.skip_ldap:
        raw["ldap_cli"] = run_ldap(args.reps, args.sources, args.ldap_endpoints, 2.0)
        for run in raw["ldap_cli"]["runs"]:
            print(f"ldap cli: {run}", flush=True)
        raw["ldap_engine"] = run_ldap_engine(args.reps, args.sources, args.ldap_endpoints, 2.0)
        for run in raw["ldap_engine"]["runs"]:
            print(f"ldap engine: {run}", flush=True)

    probes = args.sources * args.endpoints * len(PORTS)
    e_wall = median([r["wall"] for r in raw["engine"]])
    e_proc = median([r["process_wall"] for r in raw["engine"]])
    e_rss = max(r["rss_kb"] for r in raw["engine"]) / 1024
    print()
    print(f"{args.sources} sources x {args.endpoints} endpoints x {len(PORTS)} ports = {probes}")
    print(f"probes, a quarter dropped, timeout {args.timeout:g} s, median of {args.reps} runs")
    print()
    print("| measure | wall (median) | vs floor | peak RSS |")
    print("|---|---|---|---|")
    print(f"| floor (one timeout) | {args.timeout:.3f} s | 1.00x | - |")
    print(f"| auditor engine | {e_wall:.3f} s | {e_wall / args.timeout:.2f}x | {e_rss:.0f} MB |")
    print(
        f"| auditor engine + interpreter start | {e_proc:.3f} s | "
        f"{e_proc / args.timeout:.2f}x | {e_rss:.0f} MB |"
    )
    k_wall = median([r["wall"] for r in raw["engine_short"]])
    print(
        f"| auditor engine, --timeout {NMAP_MIN_RTT:g} (nmap's adaptive floor) | {k_wall:.3f} s "
        f"| - | - |"
    )
    if raw["nmap"]:
        n_wall = median([r["wall"] for r in raw["nmap"]])
        n_rss = max(r["rss_kb"] for r in raw["nmap"]) / 1024
        print(
            f"| nmap loop (8 x sequential) | {n_wall:.3f} s | {n_wall / args.timeout:.2f}x | "
            f"{n_rss:.0f} MB (largest nmap) |"
        )
        s_wall = median([r["wall"] for r in raw["nmap_same_timeout"]])
        print(
            f"| nmap loop, same {args.timeout:g} s timeout (+ --min-rtt-timeout, "
            f"--initial-rtt-timeout) | {s_wall:.3f} s | {s_wall / args.timeout:.2f}x | - |"
        )
        print()
        print(f"speed-up over the nmap loop as written: {n_wall / e_wall:.1f}x (engine), "
              f"{n_wall / e_proc:.1f}x (with interpreter start-up)")  # fmt: skip
        print(f"speed-up over the nmap loop as written, engine at --timeout {NMAP_MIN_RTT:g}: "
              f"{n_wall / k_wall:.1f}x")  # fmt: skip
        print(f"speed-up over the nmap loop with the same timeout: {s_wall / e_wall:.1f}x "
              f"(engine), {s_wall / e_proc:.1f}x (with interpreter start-up)")  # fmt: skip
    if not args.skip_ldap:
        cli_runs = raw["ldap_cli"]["runs"]
        eng_runs = raw["ldap_engine"]["runs"]
        print()
        print(
            f"LDAP: {cli_runs[0]['binds']} binds (tcp + tls + ldap-bind each), "
            f"bind-ok {median([r['bind_ok'] for r in cli_runs]):.0f}: "
            f"engine {median([r['wall'] for r in eng_runs]):.3f} s, "
            f"`auditor probe` process {median([r['process_wall'] for r in cli_runs]):.3f} s; "
            f"peak RSS engine {max(r['rss_kb'] for r in eng_runs) / 1024:.0f} MB, "
            f"CLI {max(r['rss_kb'] for r in cli_runs) / 1024:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=dict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
