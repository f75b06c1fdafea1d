"""A fleet run over SSH at scale (issue 23, item 7): SITES real sshd servers on loopback (each
its own host key, known_hosts checked), PAIRS pairs per site, every site's pairs probed there by
one `auditor probe -` over the connection (the site's bundle in, each pair's results document
streamed back), then judged, written and recorded (as root: sshd).

    .venv/bin/python bench/fleet_ssh.py --sites 10 --pairs 20     # 200 pairs
    .venv/bin/python bench/fleet_ssh.py --sites 10 --pairs 20 --repeat 5 --gap 20
    .venv/bin/python bench/fleet_ssh.py --sites 2 --pairs 2       # a quick look

The pairs are examples/pair.yaml under their own site names: none of their addresses is on
this host, so each probe ends at once (`not-local`) and what is timed is the fleet's own work
(SSH, bundles, the probe processes, judging, report folders, the store, the fleet report), not
the network. Printed: the fleet run's wall and CPU time, and one site's probe alone over the
same SSH path (`auditor fleet run` of one site's pairs) for comparison.

`--repeat N`: N rounds, each one site then the fleet (`--gap S` seconds before each run), every
round's figures and then the medians. Per run: wall, the CPU of the fleet command (its process
and its workers), the CPU at the probe hosts (the sshd servers, their sessions and the remote
`auditor` processes, from the listeners' reaped-children times) and the load average. Nothing
is deleted until the end: a deletion makes the next file creations dearer on this VM's ext4
(see bench/file_cost.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
AUDITOR = Path(sys.executable).parent / "auditor"
PAIR = ROOT / "examples" / "pair.yaml"


def fleet_file(work: Path, servers: list, pairs: int, sites: range) -> Path:
    lines = ["sites:"]
    for s in sites:
        server = servers[s]
        lines += [
            f"  - name: site{s:02d}",
            f"    probe_host: ssh://root@127.0.0.1:{server.port}",
            f"    ssh_key: {server.client_key}",
            f"    known_hosts: {server.known_hosts}",
            f"    auditor: {AUDITOR}",
            "    pairs:",
        ]
        lines += [f"      - inventory: pairs/site{s:02d}-pair{p:02d}.yaml" for p in range(pairs)]
    path = work / f"fleet-{sites.start}-{sites.stop}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1, 3):
        raise RuntimeError(f"exit {done.returncode}: {done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.returncode


def remote_cpu(servers: list) -> float:
    """CPU (user + system, s) the sshd listeners have reaped so far: their sessions and every
    remote `auditor` those ran (each session waits for its command, each listener for its
    sessions; ended sessions only)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for server in servers:
        fields = Path(f"/proc/{server._procs[0].pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


@dataclass
class Run:
    wall: float
    cpu: float
    remote: float
    load: float


def timed(command: list[str], env: dict[str, str], servers: list, gap: float) -> Run:
    time.sleep(gap)
    load = os.getloadavg()[0]
    before = remote_cpu(servers)
    wall, cpu, _ = run(command, env)
    time.sleep(0.2)  # the last sessions end after the client has gone
    return Run(wall, cpu, remote_cpu(servers) - before, load)


def show(what: str, r: Run) -> str:
    return (f"{what}: {r.wall:.1f} s wall, {r.cpu:.1f} s CPU, at the probe hosts "
            f"{r.remote:.1f} s CPU, load {r.load:.1f}")  # fmt: skip


def main() -> None:
    from file_cost import file_creation_ms
    from support.sshd import SshServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of one site + the fleet")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds to wait before each run")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="fa-bench-ssh-"))
    servers: list[SshServer] = []
    try:
        (work / "pairs").mkdir()
        text = PAIR.read_text()
        for s in range(args.sites):
            for p in range(args.pairs):
                name = f"site{s:02d}-pair{p:02d}.example.com"
                (work / "pairs" / f"site{s:02d}-pair{p:02d}.yaml").write_text(
                    text.replace("name: support.example.com", f"name: {name}")
                )
        for _ in range(args.sites):
            servers.append(SshServer(None).start())
        files_before = file_creation_ms(work)
        env = dict(os.environ, AUDITOR_BIND_PASSWORD="unused-nothing-is-local")
        one = fleet_file(work, servers, args.pairs, range(1))
        whole = fleet_file(work, servers, args.pairs, range(args.sites))
        common = ["--timeout", "1", "-q"]
        total = args.sites * args.pairs
        sites: list[Run] = []
        fleets: list[Run] = []
        for r in range(args.repeat):
            sites.append(timed(
                [str(AUDITOR), "fleet", "run", str(one), "-o", str(work / f"one{r}"), "--store",
                 str(work / f"one{r}.sqlite"), *common], env, servers, args.gap,
            ))  # fmt: skip
            fleets.append(timed(
                [str(AUDITOR), "fleet", "run", str(whole), "-o", str(work / f"all{r}"), "--store",
                 str(work / f"all{r}.sqlite"), "--concurrency", str(args.sites), *common],
                env, servers, args.gap,
            ))  # fmt: skip
            target = 2 * sites[-1].wall + 5
            print(f"round {r + 1}: " + show(f"one site ({args.pairs} pairs)", sites[-1]))
            print(f"round {r + 1}: " + show(f"fleet ({args.sites} x {args.pairs} = {total})",
                  fleets[-1]) + f"; target 2 x {sites[-1].wall:.1f} + 5 = {target:.1f} s: "
                  f"{'met' if fleets[-1].wall <= target else 'NOT met'}", flush=True)  # fmt: skip
        fields = ("wall", "cpu", "remote")
        med = {f: statistics.median(getattr(x, f) for x in sites) for f in fields}
        fmed = {f: statistics.median(getattr(x, f) for x in fleets) for f in fields}
        ratio = fmed["wall"] / (2 * med["wall"] + 5)
        end_load = os.getloadavg()[0]
        loads = [x.load for x in (*sites, *fleets)]
        print(f"medians of {args.repeat}: one site {med['wall']:.1f} s wall, {med['cpu']:.1f} s "
              f"CPU (probe hosts {med['remote']:.1f} s); fleet {fmed['wall']:.1f} s wall, "
              f"{fmed['cpu']:.1f} s CPU (probe hosts {fmed['remote']:.1f} s); target 2 x "
              f"{med['wall']:.1f} + 5 = {2 * med['wall'] + 5:.1f} s; fleet / target "
              f"{ratio:.2f}; load {min(loads):.1f}-{max(loads):.1f} "
              f"(at the start {load_at_start:.1f}, at the end {end_load:.1f})")  # fmt: skip
        after = file_creation_ms(work / "all0")
        print(f"creating a file here: {files_before:.2f} ms CPU before the runs, "
              f"{after:.2f} ms after (a fleet creates 32 a pair)")  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
