"""The split-brain demo (examples/state-demo.sh, called by `make demo`) shows the alarm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_state_demo_raises_the_split_brain_alarm() -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "AUDITOR": str(bin_dir / "auditor"), "PYTHON": sys.executable}
    done = subprocess.run(
        [str(ROOT / "examples" / "state-demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "error [ip-conflict] shared IP 198.51.100.10 is enabled on both" in done.stdout
    assert "SPLIT-BRAIN (IP CONFLICT ALARM)" in done.stdout
    assert "split-brain detected as expected (exit 1)" in done.stdout
