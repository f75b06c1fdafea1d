"""What claim mode costs a fleet run (the go-live case): one pair at a site whose probe host is
on the pair's segment but holds none of its addresses, probed over a real sshd in the claim
segment lab, without `claim:` (every flow not-local) and with it; and the same claim made by
`auditor probe --claim` on the probe host itself. Wall time and the CPU of this host's
processes (the probe host's auditor runs under its sshd: not counted), medians.

    sudo .venv/bin/python bench/fleet_claim.py --reps 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from claim_support import AUDITOR, LIVE, write_inventory  # noqa: E402
from support.sshd import SshServer  # noqa: E402

from auditor.claim.session import cleanup_stale  # noqa: E402
from auditor.lab.segment import Segment  # noqa: E402


def fleet_file(work: Path, server: SshServer, inventory: Path, *, claim: bool) -> Path:
    text = (
        "sites:\n  - name: go-live\n"
        f"    probe_host: ssh://root@127.0.0.1:{server.port}\n"
        f"    ssh_key: {server.client_key}\n    known_hosts: {server.known_hosts}\n"
        f"    auditor: {AUDITOR}\n    pairs:\n      - inventory: {inventory}\n"
    )
    if claim:
        text += "        claim: eth0\n"
    path = work / f"fleet-{claim}.yaml"
    path.write_text(text)
    return path


def timed(argv: list[str]) -> tuple[int, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = subprocess.run(argv, capture_output=True, check=False).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return code, wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    reps = parser.parse_args().reps
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-claim-"))
    segment = Segment(f"fcb{os.getpid() % 10000}", LIVE)
    segment.up()
    server = SshServer(segment.auditor, share_mounts=True).start()
    try:
        inventory = write_inventory(work)
        cases: dict[str, Callable[[int], list[str]]] = {
            "fleet run, no claim (not-local: incomplete)": lambda i: [
                AUDITOR, "fleet", "run", str(fleet_file(work, server, inventory, claim=False)),
                "-o", str(work / f"a{i}"), "--store", str(work / f"a{i}.sqlite"),
                "--timeout", "1", "-q",
            ],
            "fleet run, claim: eth0 at the probe host": lambda i: [
                AUDITOR, "fleet", "run", str(fleet_file(work, server, inventory, claim=True)),
                "-o", str(work / f"b{i}"), "--store", str(work / f"b{i}.sqlite"),
                "--timeout", "1", "-q",
            ],
            "auditor probe --claim eth0 on the probe host itself": lambda i: segment.nsenter([
                AUDITOR, "probe", str(inventory), "--claim", "eth0", "--timeout", "1", "-q",
                "-o", str(work / f"c{i}.json"),
            ]),
        }  # fmt: skip
        print("load average before:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
        for name, argv in cases.items():
            runs = [timed(argv(i)) for i in range(reps)]
            walls = [r[1] for r in runs]
            print(
                f"{name}: exit {sorted({r[0] for r in runs})}, wall median "
                f"{statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}), CPU "
                f"here median {statistics.median(r[2] for r in runs):.2f} s"
            )
        print("load average after:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    finally:
        server.stop()
        segment.down()
        cleanup_stale()


if __name__ == "__main__":
    main()
