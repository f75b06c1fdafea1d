"""Every option of the nightly `fleet run` (and of a pair's `audit`) given to `auditor schedule`
reaches the command the unit or the crontab line runs: the printed job is run as systemd and
cron would run it, with a stand-in auditor that writes down its argv, and that argv goes through
the auditor's own parser (a misspelt option or a value the command refuses fails here). The
options that make no sense nightly are refused with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.cli import auditor
from support.command_line import parse_auditor, systemd_words, unit_value
from support.systemd import verify_units

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"
# legal in a path, and each one meaningful to sh, systemd or cron
AWKWARD = "we ird 'q' \"dq\" $HOME %d %n ;&*#`x`"


def _stand_in(folder: Path) -> tuple[Path, Path]:
    """An `auditor` that appends its argv (as JSON) to a log, exit 0."""
    folder.mkdir(parents=True, exist_ok=True)
    log, stub = folder / "argv.log", folder / "auditor"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    stub.chmod(0o755)
    return stub, log


def _run_job(kind: str, printed: str, workdir: Path) -> None:
    """Run the printed job as systemd (ExecStart=, split by systemd's rules) or cron (the
    crontab line's command, its `\\%` read back as `%`) would."""
    if kind == "systemd":
        service = printed.split(".service ----\n")[1].split("\n# ---- ", maxsplit=1)[0]
        argv = systemd_words(unit_value(service, "ExecStart"))
        # a path setting: its %-specifiers are expanded, the rest of the line is the path
        assert unit_value(service, "WorkingDirectory").replace("%%", "%") == str(workdir)
        writable = systemd_words(unit_value(service, "ReadWritePaths").replace("$", "$$"))
        assert str(workdir) in writable, writable  # one path, however many spaces
    else:
        line = printed.splitlines()[-1]
        command = line.split(" ", 5)[5]
        assert "%" not in command.replace("\\%", ""), "cron turns a bare % into a line break"
        argv = ["/bin/sh", "-c", command.replace("\\%", "%")]
    env = {"PATH": os.environ["PATH"]}
    done = subprocess.run(argv, cwd=workdir, env=env, timeout=60, check=False)
    assert done.returncode == 0


def _calls(log: Path) -> list[tuple[list[str], dict[str, Any]]]:
    return [parse_auditor(json.loads(line)) for line in log.read_text().splitlines()]


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    stub, log = _stand_in(tmp_path / AWKWARD / "bin")
    monkeypatch.setattr("auditor.cli.history_cmd._auditor_executable", lambda: stub)
    return stub, log


def _fleet(folder: Path, sites: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fleet, body = folder / "fleet.yaml", EXAMPLE.read_text()
    entries = []
    for i in range(sites):  # a pair is named by its inventory's site: one each
        inventory = folder / f"p{i}.yaml"
        inventory.write_text(body.replace("name: support.example.com", f"name: p{i}.example", 1))
        entries.append(f"  - name: s{i}\n    pairs:\n      - inventory: {inventory.name}\n")
    fleet.write_text("sites:\n" + "".join(entries))
    return fleet


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_every_nightly_fleet_run_option_reaches_the_fleet_run(tmp_path, stand_in, kind) -> None:
    _, log = stand_in
    work = tmp_path / AWKWARD / "work"
    work.mkdir(parents=True)
    fleet = _fleet(tmp_path / AWKWARD / "etc")
    store = tmp_path / AWKWARD / "store" / "h.sqlite"
    hook = "json://hooks.example.com/auditor/${HOOK_TOKEN}"
    result = auditor(
        "schedule", "--print", kind, "--fleet", fleet, "--store", store, "--notify", hook,
        "--notify-on", "drift", "--keep", "14", "--max-evidence-age", "36h",
        "--concurrency", "3", "--site-timeout", "900", "--ssh-keepalive", "5",
        "--timeout", "2.5", "--retries", "2", "--quiet", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    _run_job(kind, result.stdout, work)
    ((names, params),) = _calls(log)
    assert names == ["fleet", "run"]
    assert params["fleet_file"] == fleet
    assert params["store"].argument == str(store)
    assert params["notify"] == (hook,) and params["notify_on"] == "drift"
    assert params["keep"] == 14 and params["max_evidence_age"] == timedelta(hours=36)
    assert params["sites"] == 3 and params["site_timeout"] == 900
    assert params["ssh_keepalive"] == 5
    assert params["timeout"] == 2.5 and params["retries"] == 2 and params["quiet"] is True
    assert params["output_dir"] is None  # the default place, which --keep prunes
    if kind == "systemd":  # the alert unit's command too, as systemd runs it
        failed = result.stdout.split("-failed.service ----\n")[1]
        done = subprocess.run(systemd_words(unit_value(failed, "ExecStart")), timeout=60,
                              env={"PATH": os.environ["PATH"]}, check=False)  # fmt: skip
        assert done.returncode == 0
        names, params = _calls(log)[1]
        assert names == ["notify"] and params["notify"] == (hook,)
    if kind == "systemd" and shutil.which("systemd-analyze"):
        units = {
            name.strip(): "\n".join(text.split("\n")[1:])
            for name, text in (
                chunk.split(" ----", 1) for chunk in result.stdout.split("# ---- ")[1:]
            )
        }
        assert verify_units(tmp_path, units, "auditor-fleet") == []


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_a_fleet_run_given_nothing_gets_its_own_defaults(tmp_path, stand_in, kind) -> None:
    _, log = stand_in
    fleet = _fleet(tmp_path / "etc")
    result = auditor("schedule", "--print", kind, "--fleet", fleet, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _run_job(kind, result.stdout, tmp_path)
    ((_, params),) = _calls(log)
    assert (params["sites"], params["site_timeout"], params["ssh_keepalive"]) == (4, 3600, 15)
    assert (params["timeout"], params["retries"], params["quiet"]) == (3.0, 0, False)
    for flag in ("--concurrency", "--site-timeout", "--ssh-keepalive", "--timeout", "--quiet"):
        assert flag not in result.stdout


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_a_pair_job_passes_the_probe_options_to_its_audit(tmp_path, stand_in, kind) -> None:
    _, log = stand_in
    evidence = tmp_path / AWKWARD / "node b.json"
    evidence.write_text("{}")
    args = ["schedule", "--print", kind, EXAMPLE, "--evidence", evidence]
    result = auditor(*args, "--timeout", "1.5", "--retries", "3", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _run_job(kind, result.stdout, tmp_path)
    (audit_names, audit), (drift_names, drift) = _calls(log)
    assert audit_names == ["audit"] and drift_names == ["drift"]
    assert audit["evidence"] == (evidence,)
    assert (audit["timeout"], audit["retries"], audit["quiet"]) == (1.5, 3, True)
    assert drift["inventory"] == EXAMPLE


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--concurrency", "2"], "error: --concurrency: a fleet run's"),
        (["--site-timeout", "900"], "error: --site-timeout: a fleet run's"),
        (["--ssh-keepalive", "5"], "error: --ssh-keepalive: a fleet run's"),
        (["-o", "reports/x"], "error: -o/--output-dir: a nightly run writes"),
        (["--fleet", "{fleet}", "-o", "x"], "error: -o/--output-dir: a nightly run writes"),
        # a week of site timeouts in one wave: the job's bound would be over a week
        (["--fleet", "{fleet}", "--site-timeout", "604800"], "error: --site-timeout 604800: "),
    ],
)
def test_what_does_not_fit_a_nightly_job_is_refused_in_one_line(tmp_path, given, said) -> None:
    fleet = _fleet(tmp_path)
    args = [a.format(fleet=fleet) for a in given]
    if "--fleet" not in args:
        args.insert(0, str(EXAMPLE))
    result = auditor("schedule", "--print", "cron", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "given",
    [
        ["--site-timeout", "5"],
        ["--concurrency", "0"],
        ["--ssh-keepalive", "0"],
        ["--timeout", "0"],
        ["--retries", "11"],
        ["--timeout", "nan"],
    ],
)
def test_a_value_fleet_run_would_refuse_is_refused_now(tmp_path, given) -> None:
    """The schedule checks with the fleet run's own ranges: a night never fails on one."""
    fleet = _fleet(tmp_path)
    result = auditor("schedule", "--print", "cron", "--fleet", fleet, *given, cwd=tmp_path)
    assert result.returncode == 2
    assert f"Invalid value for '{given[0]}'" in result.stderr and result.stdout == ""
    assert auditor("fleet", "run", fleet, *given, cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_the_jobs_time_bound_fits_its_site_timeouts(tmp_path, kind) -> None:
    """Five sites, two at a time, 3000 s each: three waves may take 9000 s; a job stopped at
    two hours would stop every night whose sites are slow, before any of them timed out."""
    fleet = _fleet(tmp_path, sites=5)
    args = ["schedule", "--print", kind, "--fleet", fleet]
    result = auditor(*args, "--concurrency", "2", "--site-timeout", "3000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bound = 3 * 3000 + 1800
    if kind == "systemd":
        assert f"TimeoutStartSec={bound}\n" in result.stdout
    else:
        assert f" timeout --kill-after=60 {bound} " in result.stdout
    result = auditor(*args, cwd=tmp_path)  # the defaults: two waves of an hour
    assert result.returncode == 0
    assert (f"TimeoutStartSec={2 * 3600 + 1800}" if kind == "systemd"
            else f" {2 * 3600 + 1800} /bin/sh") in result.stdout  # fmt: skip
