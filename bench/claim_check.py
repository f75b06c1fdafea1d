"""How long claim mode takes to decide which planned addresses are free (issue 11).

    sudo .venv/bin/python bench/claim_check.py --reps 5

Builds the claim segment lab (namespaces `i11b<pid>...`), lets the live appliance hold
198.51.100.11 and 2001:db8:100::11, and times `auditor claim check examples/claim-pair.yaml
--claim eth0` on the auditor host (5 addresses: 3 IPv4, 2 IPv6, one of each in use). The floor
is RFC 5227's own timing: PROBE_WAIT (0-1 s) + 2 x PROBE_MIN..MAX (1-2 s) + ANNOUNCE_WAIT (2 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from netaddr import IPNetwork

from auditor.lab.segment import Segment

ROOT = Path(__file__).resolve().parent.parent
AUDITOR = str(Path(sys.executable).with_name("auditor"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    reps = parser.parse_args().reps
    live = (IPNetwork("198.51.100.11/24"), IPNetwork("2001:db8:100::11/64"))
    segment = Segment(f"i11b{os.getpid() % 10000}", live)
    try:
        segment.up()
        times = []
        for _ in range(reps):
            start = time.monotonic()
            subprocess.run(
                segment.nsenter([AUDITOR, "claim", "check", str(ROOT / "examples/claim-pair.yaml"),
                                 "--claim", "eth0"]),
                check=False, capture_output=True,
            )  # fmt: skip
            times.append(time.monotonic() - start)
    finally:
        segment.down()
    print(f"claim check, 5 addresses: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, {reps} runs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
