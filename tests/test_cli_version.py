"""`auditor --version` is answered before the CLI's imports (a fleet asks every probe host it
first, over SSH): the installed command prints exactly what the group's `--version` option
prints, exits 0, and imports neither click nor the pipeline on the way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.cli import auditor

from auditor import __version__

SCRIPT = Path(sys.executable).parent / "auditor"


def test_the_installed_command_prints_what_the_option_prints() -> None:
    fast = subprocess.run([str(SCRIPT), "--version"], capture_output=True, check=False)
    through_click = auditor("--version")  # the group's eager option (auditor.cli.app.main)
    assert fast.returncode == 0 == through_click.returncode
    assert fast.stdout.decode() == through_click.stdout == f"auditor, version {__version__}\n"
    assert fast.stderr == b""


def test_the_version_alone_imports_no_cli() -> None:
    code = (
        "import sys\nfrom auditor.cli import main\ncode = main(['--version'])\n"
        "print(code, sorted(m for m in sys.modules if m == 'click' or m.startswith('auditor.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [f"auditor, version {__version__}", "0 ['auditor.cli']"]


def test_anything_else_goes_through_the_cli() -> None:
    helped = subprocess.run([str(SCRIPT), "-h"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "Exit codes:" in helped.stdout
    wrong = subprocess.run(  # a command's own options: `check` has no --version
        [str(SCRIPT), "check", "--version"], capture_output=True, text=True, check=False
    )
    assert (wrong.returncode, wrong.stdout) == (2, "")
    assert "No such option '--version'" in wrong.stderr
