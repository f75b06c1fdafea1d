"""The guard against parallel lab tests (tests/support/lab_guard.py), in a real pytest run
with xdist workers: refused with one line and exit code 4 before any test runs; one worker,
or lab tests deselected, runs as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SUITE = """\
import pytest
from pathlib import Path

@pytest.mark.lab
def test_in_a_lab():
    Path("lab-ran").touch()

def test_plain():
    Path("plain-ran").touch()
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    lab: a lab test\n")
    (folder / "test_suite.py").write_text(SUITE)
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    # Hypothesis's plugin (autoloaded, imported in every worker) has no part in the guard: off,
    # each of these pytest processes starts in a quarter of the CPU time.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "support.lab_guard", "-p", "no:cacheprovider",
         "-p", "no:hypothesispytest", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_lab_tests_under_two_workers_are_refused_before_anything_runs(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-n", "2")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    refusals = [line for line in done.stdout.splitlines() if "must run serially" in line]
    assert refusals[0] == (
        "lab tests must run serially: 1 selected with -n 2; run them without -n "
        '(`make pytest` runs -m "not lab" with -n 2, then -m lab serially)'
    )
    assert not (tmp_path / "lab-ran").exists()
    assert not (tmp_path / "plain-ran").exists()  # nothing ran, not even the rest
    assert "Traceback" not in done.stdout + done.stderr
    assert "INTERNALERROR" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "ran"),
    [
        (("-n", "2", "-m", "not lab"), {"plain-ran"}),
        (("-n", "1"), {"lab-ran", "plain-ran"}),
        ((), {"lab-ran", "plain-ran"}),
    ],
    ids=["two-workers-without-lab", "one-worker", "no-xdist"],
)
def test_serial_runs_and_runs_without_lab_tests_go_on(
    tmp_path: Path, args: tuple[str, ...], ran: set[str]
) -> None:
    done = _pytest(tmp_path, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in tmp_path.glob("*-ran")} == ran
