"""The nightly job for a fleet and for a pair with its evidence options: sandboxed units that
systemd accepts, OnFailure= wired to `auditor notify`, and a night that could not run (exit 3)
alerting differently from a night with findings or drift (exit 1)."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.cli import auditor
from support.command_line import parse_auditor, systemd_words, unit_value
from support.systemd import verify_units

from auditor.errors import UsageError
from auditor.history.schedule import ScheduleSpec, render_cron, systemd_units

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"


def fleet_spec(tmp_path: Path, **kw: Any) -> ScheduleSpec:
    base: dict[str, Any] = {
        "auditor": Path("/opt/auditor/bin/auditor"),
        "inventory": None,
        "fleet": Path("/etc/auditor/fleet.yaml"),
        "workdir": Path("/var/lib/auditor"),
        "store": "postgresql://auditor@db.example.com/history",
        "site": "fleet",
        "notify": ("mailtos://auditor:${SMTP_PASSWORD}@mail.example.com?to=oncall@example.com",),
    }
    base.update(kw)
    return ScheduleSpec(**base)


def alert_command(unit: str) -> tuple[list[str], dict[str, Any]]:
    """The auditor command the alert unit runs, read as systemd and sh read it, through the
    auditor's parser."""
    sh, flag, script = systemd_words(unit_value(unit, "ExecStart"))
    assert (sh, flag) == ("/bin/sh", "-c") and script.startswith("exec ")
    argv = shlex.split(script.removeprefix("exec ").removesuffix(" </dev/null"))
    return parse_auditor(argv[1:])


def test_the_fleet_unit_is_sandboxed_and_alerts_on_failure(tmp_path: Path) -> None:
    units = systemd_units(fleet_spec(tmp_path, user="auditor"))
    service = units["auditor-fleet.service"]
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                 "CapabilityBoundingSet=\n", "User=auditor", "WorkingDirectory=/var/lib/auditor",
                 "ReadWritePaths=/var/lib/auditor", "OnFailure=auditor-fleet-failed.service",
                 "SuccessExitStatus=1"):  # fmt: skip
        assert line in service, line
    assert (
        "fleet run /etc/auditor/fleet.yaml --store postgresql://auditor@db.example.com" in service
    )
    # systemd expands $VAR itself: the secret placeholder reaches the auditor as written
    assert "$${SMTP_PASSWORD}" in service
    names, params = alert_command(units["auditor-fleet-failed.service"])
    assert names == ["notify"] and params["unit"] == "auditor-fleet.service"
    assert params["notify"] == (
        "mailtos://auditor:${SMTP_PASSWORD}@mail.example.com?to=oncall@example.com",
    )


def test_a_pair_job_passes_its_evidence_options_and_claim_keeps_its_capabilities(tmp_path):
    spec = ScheduleSpec(
        auditor=Path("/opt/auditor/bin/auditor"), inventory=Path("/etc/auditor/pair.yaml"),
        workdir=Path("/var/lib/auditor"), store=Path("/var/lib/auditor/reports/h.sqlite"),
        site="support.example.com", claim="eth1",
        ruleset=(Path("/etc/auditor/fw.rules"),), evidence=(Path("/etc/auditor/node-b.json"),),
    )  # fmt: skip
    service = systemd_units(spec)["auditor-support.example.com.service"]
    assert ("audit /etc/auditor/pair.yaml --store /var/lib/auditor/reports/h.sqlite --keep 60 "
            "--evidence /etc/auditor/node-b.json --ruleset /etc/auditor/fw.rules --claim eth1"
            ) in service  # fmt: skip
    # claim mode: links, ARP probes, network namespaces (tests/test_fleet_claim_lab.py runs a
    # claim inside exactly these limits)
    assert "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN\n" in service
    assert "ReadWritePaths=/var/lib/auditor /run/netns /run/auditor-claim\n" in service
    assert "ExecStartPre=+/bin/mkdir -p /run/netns /run/auditor-claim\n" in service
    assert "User=" not in service  # claim mode runs as root
    with pytest.raises(UsageError, match="--user 'auditor': claim mode runs as root"):
        dataclasses.replace(spec, user="auditor")
    assert "SuccessExitStatus" not in service  # exit 1 (drift) is worth the OnFailure= alert


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
    reason="systemd-analyze not here (make deps installs it; in CI this test never skips)",
)
def test_systemd_accepts_the_fleet_units(tmp_path: Path) -> None:
    stub = tmp_path / "auditor"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    units = systemd_units(fleet_spec(tmp_path, auditor=stub, workdir=tmp_path))
    assert verify_units(tmp_path, units, "auditor-fleet") == []


def test_the_schedule_command_refuses_evidence_options_with_a_fleet(tmp_path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"sites:\n  - name: a\n    pairs:\n      - inventory: {EXAMPLE}\n")
    result = auditor("schedule", "--print", "cron", "--fleet", fleet, "--ruleset", fleet)
    assert result.returncode == 2 and "belong in the fleet file" in result.stderr
    result = auditor("schedule", "--print", "cron", "--fleet", fleet)
    assert result.returncode == 0
    assert "fleet run" in result.stdout


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_the_nightly_fleet_run_writes_to_the_fleet_files_store(tmp_path, kind) -> None:
    """A fleet file names the shared store; the schedule printed without --store must not
    send the nightly runs to reports/history.sqlite (--store wins over the fleet file's): the
    shared history would stop at the day the job was installed, and its fleet report show
    those old verdicts. A SQLite store outside the working folder is writable in the unit."""
    fleet = tmp_path / "etc" / "fleet.yaml"
    fleet.parent.mkdir()
    work = tmp_path / "work"  # the stores below are outside it
    work.mkdir()
    body = f"sites:\n  - name: a\n    pairs:\n      - inventory: {EXAMPLE}\n"
    for store, passed in (
        (
            "postgresql://auditor@db.example.com/history",
            "postgresql://auditor@db.example.com/history",
        ),
        (f"{tmp_path}/var/lib/h.sqlite", f"{tmp_path}/var/lib/h.sqlite"),
        ("h.sqlite", f"{fleet.parent}/h.sqlite"),
    ):
        fleet.write_text(f"store: {store}\n{body}")
        result = auditor("schedule", "--print", kind, "--fleet", fleet, cwd=work)
        assert result.returncode == 0, result.stderr
        assert f"fleet run {fleet} --store {passed} " in result.stdout
        assert "history.sqlite" not in result.stdout
        if kind == "systemd" and passed.startswith("/"):
            (writable,) = [x for x in result.stdout.splitlines() if x.startswith("ReadWritePaths=")]
            folders = [Path(w) for w in writable.split("=", 1)[1].split()]
            assert any(w in Path(passed).parents for w in folders), (passed, folders)
    # --store given still wins
    result = auditor(
        "schedule", "--print", kind, "--fleet", fleet, "--store", tmp_path / "x.sqlite"
    )
    assert f"--store {tmp_path / 'x.sqlite'} " in result.stdout


def test_the_schedule_passes_the_evidence_age_to_the_nightly_audit(tmp_path) -> None:
    """Evidence files given to a nightly audit grow old: the job says how old is still proof."""
    evidence = tmp_path / "probes.json"
    evidence.write_text("{}")
    args = ["schedule", "--print", "cron", str(EXAMPLE), "--evidence", str(evidence)]
    result = auditor(*args, "--max-evidence-age", "36h")
    assert result.returncode == 0
    line = result.stdout
    assert f"--evidence {evidence} --max-evidence-age 1d12h </dev/null" in line
    result = auditor(*args, "--max-evidence-age", "none")
    assert result.returncode == 0
    assert "--max-evidence-age none </dev/null" in result.stdout
    result = auditor(*args)
    assert result.returncode == 0  # not given: the audit's own default (7d) applies
    assert "--max-evidence-age" not in result.stdout
    result = auditor(*args, "--max-evidence-age", "7 days")
    assert result.returncode == 2
    err = result.stderr
    assert err.count("\n") == 1 and err.startswith("error: --max-evidence-age: '7 days'"), err
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"sites:\n  - name: a\n    pairs:\n      - inventory: {EXAMPLE}\n")
    result = auditor("schedule", "--print", "systemd", "--fleet", fleet, "--max-evidence-age", "2d")
    assert result.returncode == 0
    assert "fleet run" in (out := result.stdout) and "--max-evidence-age 2d" in out
    result = auditor("fleet", "run", fleet, "--max-evidence-age", "soon")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --max-evidence-age: 'soon'")


@pytest.fixture
def webhook() -> Iterator[tuple[list[dict[str, Any]], int]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_night_that_could_not_run_alerts_differently_from_a_night_with_drift(
    tmp_path, webhook, monkeypatch
) -> None:
    hooks, port = webhook
    url = f"json://127.0.0.1:{port}/"
    monkeypatch.setenv("MONITOR_EXIT_STATUS", "3")  # what systemd hands an OnFailure= unit
    result = auditor("notify", "--unit", "auditor-x.service", "--notify", url)
    assert result.returncode == 0
    result = auditor("notify", "--unit", "auditor-x.service", "--exit-code", "1", "--notify", url)
    assert result.returncode == 0
    # a night whose worst pair is unproven (exit 4): its own words, not "ended abnormally"
    result = auditor("notify", "--unit", "auditor-x.service", "--exit-code", "4", "--notify", url)
    assert result.returncode == 0
    could_not, drift, unproven = hooks
    assert could_not["type"] == "failure" and "could not run" in could_not["title"]
    assert "could not complete" in could_not["message"]
    assert drift["type"] == "warning" and "findings or drift" in drift["message"]
    assert unproven["type"] == "warning" and "unproven" in unproven["title"]
    assert "decided by no evidence" in unproven["message"]
    assert "abnormally" not in unproven["message"]


STUB = """#!/bin/sh
echo "$*" >> {log}
case "$1" in
  audit) exit {rc} ;;
  drift) exit {drift} ;;
esac
"""


# (--notify-on, the audit's exit, the drift report's, the job's exit, alerted). With findings
# (the default) a night with findings alerts whether or not they are drift: the audit's 1 with
# the drift report's 0 (lint errors, conflicts, a flow blocked since before the last green run)
# was silent every night. Only `drift` is quiet on findings without drift; `always` alerts a
# compliant night too.
@pytest.mark.parametrize(
    ("notify_on", "rc", "drift", "ends", "alerted"),
    [
        (None, 0, 0, 0, False),
        (None, 1, 0, 1, True),
        (None, 1, 1, 1, True),
        (None, 4, 0, 4, True),
        (None, 4, 1, 1, True),
        (None, 3, 0, 3, True),
        ("findings", 1, 0, 1, True),
        ("drift", 0, 0, 0, False),
        ("drift", 1, 0, 0, False),
        ("drift", 1, 1, 1, True),
        ("drift", 3, 0, 3, True),
        ("always", 0, 0, 0, True),
        ("always", 1, 0, 1, True),
    ],
)
def test_the_cron_job_alerts_through_auditor_notify(
    tmp_path, notify_on, rc, drift, ends, alerted
) -> None:
    log, stub = tmp_path / "calls.log", tmp_path / "auditor"
    stub.write_text(STUB.format(log=log, rc=rc, drift=drift))
    stub.chmod(0o755)
    spec = ScheduleSpec(
        auditor=stub, inventory=tmp_path / "pair.yaml", workdir=tmp_path,
        store=tmp_path / "h.sqlite", site="support.example.com", timeout_s=60,
        env_file=tmp_path / "none.env", notify=("json://127.0.0.1:9/",), notify_on=notify_on,
    )  # fmt: skip
    line = render_cron(spec).splitlines()[-1]
    command = line.split(" ", 5)[5].replace("\\%", "%")
    done = subprocess.run(["/bin/sh", "-c", command], timeout=60, check=False)
    calls = log.read_text().splitlines()
    notified = [c for c in calls if c.startswith("notify")]
    assert done.returncode == ends
    assert bool(notified) is alerted
    if alerted:
        assert f"--exit-code {ends}" in notified[0]
    # systemd alerts on the same exit code (OnFailure=), and every night with always
    units = systemd_units(dataclasses.replace(spec, auditor=Path("/usr/bin/auditor")))
    service = units["auditor-support.example.com.service"]
    assert ("OnSuccess=auditor-support.example.com-failed.service" in service) is (
        notify_on == "always"
    )
    assert "SuccessExitStatus" not in service


@pytest.mark.parametrize(("rc", "alerted"), [(0, False), (1, False), (4, False), (3, True)])
def test_a_fleet_cron_job_alerts_only_a_night_that_could_not_run(tmp_path, rc, alerted) -> None:
    """`fleet run` sends its own message on findings, unproven pairs and drift (by its
    --notify-on, passed through): the job's alert is for a night that could not run."""
    log, stub = tmp_path / "calls.log", tmp_path / "auditor"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {log}\n[ "$1" = notify ] || exit {rc}\n')
    stub.chmod(0o755)
    spec = ScheduleSpec(
        auditor=stub, inventory=None, fleet=tmp_path / "fleet.yaml", workdir=tmp_path,
        store=tmp_path / "h.sqlite", site="fleet", timeout_s=60, env_file=tmp_path / "none.env",
        notify=("json://127.0.0.1:9/",), notify_on="drift",
    )  # fmt: skip
    line = render_cron(spec).splitlines()[-1]
    command = line.split(" ", 5)[5].replace("\\%", "%")
    done = subprocess.run(["/bin/sh", "-c", command], timeout=60, check=False)
    calls = log.read_text().splitlines()
    assert done.returncode == rc
    assert calls[0].startswith("fleet run ") and "--notify-on drift" in calls[0]
    assert any(c.startswith("notify") for c in calls) is alerted
    service = systemd_units(spec)["auditor-fleet.service"]
    assert "SuccessExitStatus=1 4\n" in service


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_a_fleet_files_own_notify_urls_alert_a_night_that_could_not_run(tmp_path, kind) -> None:
    """The fleet file names where messages go (notify:), the schedule is printed without
    --notify: a night that could not run (the store down, bad input, a crash) must still
    alert there. It had no OnFailure= at all: such a night was silent."""
    fleet = tmp_path / "fleet.yaml"
    hook = "json://hooks.example.com/auditor/${HOOK_TOKEN}"
    fleet.write_text(f"notify:\n  - {hook}\nsites:\n  - name: a\n    pairs:\n"
                     f"      - inventory: {EXAMPLE}\n")  # fmt: skip
    result = auditor("schedule", "--print", kind, "--fleet", fleet)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if kind == "systemd":
        assert "OnFailure=auditor-fleet-failed.service" in out
        failed = out.split("# ---- auditor-fleet-failed.service ----")[1]
        assert alert_command(failed)[1]["notify"] == (hook,)  # systemd leaves ${VAR} to it
        service = out.split("# ---- auditor-fleet.service ----")[1].split("# ----")[0]
        assert "--notify" not in service  # the run reads its fleet file's URLs itself
    else:
        assert "auditor notify --unit auditor-fleet" in out and "${HOOK_TOKEN}" in out
    # a password written in the fleet file's URL is not copied into a unit or a crontab
    fleet.write_text(fleet.read_text().replace("${HOOK_TOKEN}", "?token=s3cr3t-hook"))
    result = auditor("schedule", "--print", kind, "--fleet", fleet)
    assert result.returncode == 2
    assert "notify[0]: a password or token is written in the URL itself" in result.stderr
    assert "s3cr3t-hook" not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_the_schedule_passes_keep_to_the_fleet_run_and_the_audit(tmp_path, kind) -> None:
    """About 200 pair folders a night: a scheduled fleet run prunes its older fleet-<ts>
    folders as a scheduled audit prunes its report folders (--keep, default 60)."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"sites:\n  - name: a\n    pairs:\n      - inventory: {EXAMPLE}\n")
    result = auditor("schedule", "--print", kind, "--fleet", fleet)
    assert result.returncode == 0, result.stderr
    assert "--keep 60" in result.stdout
    result = auditor("schedule", "--print", kind, "--fleet", fleet, "--keep", "14")
    assert "--keep 14" in result.stdout and "--keep 60" not in result.stdout
    result = auditor("schedule", "--print", kind, EXAMPLE, "--keep", "9")
    assert f"audit {EXAMPLE} --store " in result.stdout and "--keep 9" in result.stdout
    assert auditor("schedule", "--print", kind, EXAMPLE, "--keep", "0").returncode == 2
