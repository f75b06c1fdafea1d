"""systemd-analyze, the oracle for the units `auditor schedule --print systemd` writes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def verify_units(folder: Path, units: dict[str, str], name_prefix: str) -> list[str]:
    """Write the units into `folder` and run `systemd-analyze verify` on them: the lines it
    says about units named `name_prefix...` (verify exits 0 even on "Failed to parse ...,
    ignoring": any such line is a defect). Fails the test when verify itself fails."""
    for name, text in units.items():
        (folder / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(folder / n) for n in units)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if name_prefix in line]
