"""A fleet run over SSH at scale (issue 23, item 7): SITES real sshd servers on loopback (each
its own host key, known_hosts checked), PAIRS pairs per site, every site's pairs probed there by
one `auditor probe -` over the connection (the site's bundle in, each pair's results document
streamed back), then judged, written and recorded (as root: sshd).

    .venv/bin/python bench/fleet_ssh.py --sites 10 --pairs 20     # 200 pairs
    .venv/bin/python bench/fleet_ssh.py --sites 2 --pairs 2       # a quick look

The pairs are examples/pair.yaml under their own site names: none of their addresses is on
this host, so each probe ends at once (`not-local`) and what is timed is the fleet's own work
(SSH, bundles, the probe processes, judging, report folders, the store, the fleet report), not
the network. Printed: the fleet run's wall and CPU time, and one site's probe alone over the
same SSH path (`auditor fleet run` of one site's pairs) for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
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


def main() -> None:
    from file_cost import file_creation_ms
    from support.sshd import SshServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=20)
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
        site_wall, site_cpu, _ = run(
            [str(AUDITOR), "fleet", "run", str(one), "-o", str(work / "one"), "--store",
             str(work / "one.sqlite"), *common], env,
        )  # fmt: skip
        wall, cpu, code = run(
            [str(AUDITOR), "fleet", "run", str(whole), "-o", str(work / "all"), "--store",
             str(work / "all.sqlite"), "--concurrency", str(args.sites), *common], env,
        )  # fmt: skip
        print(
            f"one site ({args.pairs} pairs) over SSH: {site_wall:.1f} s wall, {site_cpu:.1f} s CPU"
        )
        total = args.sites * args.pairs
        print(f"fleet of {args.sites} sites x {args.pairs} pairs = {total} pairs: "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU (exit {code})")  # fmt: skip
        print(f"target: 2 x {site_wall:.1f} + 5 = {2 * site_wall + 5:.1f} s; "
              f"load average {load_at_start:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
        after = file_creation_ms(work / "all")
        print(f"creating a file here: {files_before:.2f} ms CPU before the runs, "
              f"{after:.2f} ms after (a fleet creates 32 a pair)")  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
