"""The scheduled nightly job: units and crontab text, and the unattended-safety of the cron
command proven by running it (with a stand-in auditor that records its calls)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from support.systemd import verify_units

from auditor.errors import UsageError
from auditor.history.schedule import (
    ScheduleSpec,
    job_script,
    render_cron,
    render_systemd,
    systemd_units,
)


def spec(tmp_path: Path, **kw: object) -> ScheduleSpec:
    base: dict[str, object] = {
        "auditor": Path("/opt/auditor/bin/auditor"),
        "inventory": Path("/etc/auditor/pair.yaml"),
        "workdir": Path("/var/lib/auditor"),
        "store": Path("/var/lib/auditor/reports/history.sqlite"),
        "site": "support.example.com",
    }
    base.update(kw)
    return ScheduleSpec(**base)  # type: ignore[arg-type]


def test_systemd_units(tmp_path: Path) -> None:
    units = systemd_units(spec(tmp_path, at="03:15", user="auditor"))
    service = units["auditor-support.example.com.service"]
    timer = units["auditor-support.example.com.timer"]
    assert "Type=oneshot" in service
    assert "User=auditor" in service
    assert "TimeoutStartSec=7200" in service  # bounded: a oneshot ignores RuntimeMaxSec
    assert "StandardInput=null" in service
    assert "EnvironmentFile=-/etc/auditor/auditor-support.example.com.env" in service
    assert "PASSWORD=" not in service.replace("AUDITOR_BIND_PASSWORD=...", "")
    assert (
        'ExecStart=/bin/sh -c "/opt/auditor/bin/auditor audit /etc/auditor/pair.yaml --store '
        "/var/lib/auditor/reports/history.sqlite --keep 60 </dev/null; rc=$$?; "
        '[ \\"$$rc\\" -le 1 ] || [ \\"$$rc\\" -eq 4 ] || exit \\"$$rc\\"; '
        "/opt/auditor/bin/auditor drift "
        "/etc/auditor/pair.yaml --store /var/lib/auditor/reports/history.sqlite "
        "--baseline last-green --format text </dev/null; d=$$?;"
    ) in service
    assert "OnCalendar=*-*-* 03:15:00" in timer
    assert "Persistent=true" in timer
    assert "Unit=auditor-support.example.com.service" in timer


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
    reason="systemd-analyze not here (make deps installs it; in CI this test never skips)",
)
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    stub = tmp_path / "auditor"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    units = systemd_units(spec(tmp_path, auditor=stub, workdir=tmp_path))
    assert verify_units(tmp_path, units, "auditor-support") == []


def test_cron_line(tmp_path: Path) -> None:
    text = render_cron(spec(tmp_path, at="2:05"))
    line = [x for x in text.splitlines() if not x.startswith("#")]
    assert len(line) == 1
    assert line[0].startswith("5 2 * * * cd /var/lib/auditor && ")
    assert "flock -n /var/lib/auditor/reports/.auditor-support.example.com.lock" in line[0]
    assert "timeout --kill-after=60 7200 /bin/sh -c" in line[0]
    assert "--baseline last-green" in line[0]


def test_cron_escapes_percent_signs(tmp_path: Path) -> None:
    line = render_cron(spec(tmp_path, inventory=Path("/srv/100%/pair.yaml"))).splitlines()[-1]
    assert "100\\%" in line and "100%" not in line.replace("100\\%", "")


def test_a_bad_time_of_day_is_a_usage_error(tmp_path: Path) -> None:
    for bad in ("24:00", "7", "07:60", "noon"):
        with pytest.raises(UsageError, match="HH:MM"):
            render_systemd(spec(tmp_path, at=bad))


def test_paths_with_spaces_and_quotes_survive_the_shell(tmp_path: Path) -> None:
    odd = spec(tmp_path, inventory=Path("/srv/my pair's/pair.yaml"))
    script = job_script(odd)
    out = subprocess.run(
        ["/bin/sh", "-n", "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr


STUB = """#!/bin/sh
echo "$* stdin=$(cat | wc -c)" >> {log}
case "$1" in
  audit) {hold}sleep {sleep}; exit {audit_rc} ;;
  drift) exit 1 ;;
esac
"""


def cron_command(
    tmp_path: Path,
    *,
    sleep: float = 0,
    audit_rc: int = 1,
    timeout_s: int = 60,
    hold: Path | None = None,
) -> str:
    """The cron line's command, running a stub auditor whose audit sleeps `sleep` seconds, or
    waits until the file `hold` exists."""
    log = tmp_path / "calls.log"
    stub = tmp_path / "auditor"
    wait = f"while [ ! -e '{hold}' ]; do sleep 0.02; done; " if hold else ""
    stub.write_text(STUB.format(log=log, sleep=sleep, audit_rc=audit_rc, hold=wait))
    stub.chmod(0o755)
    s = spec(
        tmp_path, auditor=stub, workdir=tmp_path, store=tmp_path / "h.sqlite",
        inventory=tmp_path / "pair.yaml", timeout_s=timeout_s, env_file=tmp_path / "none.env",
    )  # fmt: skip
    line = render_cron(s).splitlines()[-1]
    # Cron's own parsing: the five time fields go, `\\%` becomes `%`.
    return line.split(" ", 5)[5].replace("\\%", "%")


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_cron_job_runs_audit_then_drift_and_exits_with_the_drift_code(tmp_path: Path) -> None:
    done = subprocess.run(["/bin/sh", "-c", cron_command(tmp_path)], timeout=60, check=False)
    assert [c.split()[0] for c in calls(tmp_path)] == ["audit", "drift"]
    assert all(c.endswith("stdin=0") for c in calls(tmp_path)), "never reads a terminal"
    assert done.returncode == 1  # the stub's drift found something


def test_an_unproven_audit_still_gets_its_drift_report(tmp_path: Path) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", cron_command(tmp_path, audit_rc=4)], timeout=60, check=False
    )
    assert [c.split()[0] for c in calls(tmp_path)] == ["audit", "drift"]
    assert done.returncode == 1  # the stub's drift found something


def test_an_audit_that_cannot_run_ends_the_job_with_its_code(tmp_path: Path) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", cron_command(tmp_path, audit_rc=3)], timeout=60, check=False
    )
    assert done.returncode == 3
    assert [c.split()[0] for c in calls(tmp_path)] == ["audit"]


def test_a_second_run_while_the_first_holds_the_lock_does_not_start(tmp_path: Path) -> None:
    release = tmp_path / "release"
    command = cron_command(tmp_path, hold=release)
    first = subprocess.Popen(["/bin/sh", "-c", command])
    try:
        deadline = time.monotonic() + 30
        while not calls(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls(tmp_path), "the first run started"
        second = subprocess.run(["/bin/sh", "-c", command], timeout=60, check=False)
        assert second.returncode == 1  # flock -n: lock busy, nothing run
        assert len(calls(tmp_path)) == 1
    finally:
        release.touch()
        first.wait(timeout=60)
    assert [c.split()[0] for c in calls(tmp_path)] == ["audit", "drift"]


def test_a_hung_run_is_killed_at_the_time_bound(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["/bin/sh", "-c", cron_command(tmp_path, sleep=300, timeout_s=1)], timeout=120, check=False
    )
    assert done.returncode == 124  # timeout(1)'s code for "timed out"
    assert time.monotonic() - started < 60  # about the bound, nowhere near the 300 s hang


def test_the_cron_d_file_name_is_one_debian_cron_reads() -> None:
    # cron(8) on Debian skips /etc/cron.d files whose names hold anything but letters,
    # digits, underscores and hyphens: a site name like support.example.com must not leak in.
    text = render_cron(replace(spec(Path("/var/lib/auditor")), user="auditor"))
    (name,) = re.findall(r"install with /etc/cron\.d/(\S+)\)", text)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name), name
