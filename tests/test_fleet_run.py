"""`auditor fleet run` on evidence files: the fleet file's refusals (located, all at once,
exit 2, nothing written), per-pair report folders and runs, the exit code of the worst pair."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import report_factories as rf
from fleet_support import PAIR, next_second, results_for
from support.cli import auditor

from auditor.history.store import Store
from auditor.model.results import utc_stamp

REPO = Path(__file__).resolve().parent.parent


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def two_pairs(tmp_path: Path, *, green_second: bool = True) -> Path:
    """Two sites, one pair each (examples/pair.yaml under two site names), on evidence."""
    inv_a = tmp_path / "a.yaml"
    inv_b = tmp_path / "b.yaml"
    text = PAIR.read_text()
    inv_a.write_text(text.replace("name: support.example.com", "name: alpha.example.com"))
    inv_b.write_text(text.replace("name: support.example.com", "name: beta.example.com"))
    results_for(inv_a, tmp_path / "a.json")  # the classic gap: findings
    results_for(inv_b, tmp_path / "b.json", rf.everywhere_good if green_second else rf.classic_gap)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "sites:\n"
        "  - name: east\n"
        "    pairs:\n"
        "      - inventory: a.yaml\n"
        "        evidence: a.json\n"
        "  - name: west\n"
        "    pairs:\n"
        "      - inventory: b.yaml\n"
        "        evidence: [b.json]\n"
    )
    return fleet


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used-with-evidence")


def test_each_pair_gets_its_report_folder_and_its_run(tmp_path) -> None:
    fleet = two_pairs(tmp_path)
    store = tmp_path / "h.sqlite"
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store", store)
    out = result.stdout
    assert result.returncode == 1  # the worst pair: alpha has findings, beta is compliant
    for site, pair, verdict in (("east", "alpha", "findings"), ("west", "beta", "compliant")):
        folder = tmp_path / "out" / site / f"{pair}.example.com"
        assert {"report.html", "junit.xml", "run.json", "results.json"} <= set(
            p.name for p in folder.iterdir()
        )
        assert json.loads((folder / "run.json").read_text())["verdict"] == verdict
        assert f"{site}/{pair}.example.com: {verdict}" in out
    runs = Store(store).list_runs()
    assert sorted((r.site, r.verdict) for r in runs) == [
        ("alpha.example.com", "findings"),
        ("beta.example.com", "compliant"),
    ]


def test_an_all_green_fleet_exits_0(tmp_path) -> None:
    fleet = two_pairs(tmp_path)
    fleet.write_text(fleet.read_text().replace("a.json", "b.json").replace("a.yaml", "b.yaml"))
    # one pair twice is refused (below); here: beta alone
    fleet.write_text(
        "sites:\n  - name: west\n    pairs:\n      - inventory: b.yaml\n        evidence: b.json\n"
    )
    result = auditor(
        "fleet", "run", fleet, "-o", tmp_path / "o", "--store", tmp_path / "h.sqlite", "-q"
    )
    assert result.returncode == 0


def test_every_problem_of_every_pair_is_one_located_line_and_nothing_is_written(tmp_path) -> None:
    fleet = two_pairs(tmp_path)
    (tmp_path / "b.yaml").write_text(
        (tmp_path / "b.yaml").read_text().replace("port: 636", "port: 99999", 1)
    )
    fleet.write_text(
        fleet.read_text()
        + "  - name: west\n    pairs:\n      - inventory: missing.yaml\n"
        + "notify_on: sometimes\n"
    )
    before = snapshot(tmp_path)
    result = auditor(
        "fleet", "run", fleet, "-o", tmp_path / "out", "--store", tmp_path / "h.sqlite"
    )
    err = result.stderr.splitlines()
    assert result.returncode == 2
    assert any(line.startswith(f"error: {fleet}:10: sites[2].name:") for line in err), err
    assert any(f"{fleet}:12: sites[2].pairs[0].inventory:" in line for line in err), err
    assert any(f"{fleet}:13: notify_on:" in line for line in err), err
    assert snapshot(tmp_path) == before


def test_the_pairs_inputs_are_checked_before_anything_runs(tmp_path) -> None:
    fleet = two_pairs(tmp_path)
    bad = tmp_path / "b.yaml"
    bad.write_text(bad.read_text().replace("site_instance_ip:", "site_instance_ipp:"))
    before = snapshot(tmp_path)
    result = auditor(
        "fleet", "run", fleet, "-o", tmp_path / "out", "--store", tmp_path / "h.sqlite"
    )
    err = result.stderr
    assert result.returncode == 2
    assert f"error: {bad}:" in err and "site_instance_ipp" in err
    assert snapshot(tmp_path) == before  # no report of the good pair, no store


def test_one_pair_twice_is_refused_at_its_line(tmp_path) -> None:
    fleet = two_pairs(tmp_path)
    fleet.write_text(fleet.read_text().replace("b.yaml", "a.yaml").replace("b.json", "a.json"))
    result = auditor("fleet", "run", fleet, "--store", tmp_path / "h.sqlite")
    assert result.returncode == 2
    err = result.stderr
    assert f"{fleet}:8: sites[1].pairs[0]: pair alpha.example.com is audited twice" in err


def test_a_site_that_is_not_local_and_has_no_evidence_is_incomplete(tmp_path) -> None:
    """Probed from here: none of the pair's addresses is on this host, so nothing is proven."""
    shutil.copy(PAIR, tmp_path / "p.yaml")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n  - name: here\n    pairs:\n      - inventory: p.yaml\n")
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store",
                     tmp_path / "h.sqlite", "--timeout", "0.2", "-q")  # fmt: skip
    assert result.returncode == 3
    run = json.loads((tmp_path / "out" / "here" / "support.example.com" / "run.json").read_text())
    assert run["verdict"] == "incomplete"
    assert {r["status"] for r in run["records"]} <= {"not-local", "skipped", "untested"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "sites:\n  - name: x\n    probe_host: ssh://127.0.0.1\n    pairs: []\n",
            "sites[0].probe_host",
        ),
        (
            "sites:\n  - name: x\n    probe_host: ssh://u:pw@h\n    pairs: []\n",
            "sites[0].probe_host",
        ),
        ("sites:\n  - name: x\n    ssh_key: k\n    pairs: []\n", "sites[0].ssh_key"),
        ("sites: []\n", "sites"),
        ("store: ${HOME}/h.sqlite\nsites: []\n", "store"),
        ("store: postgresql://u:secretpw@db/h\nsites: []\n", "store"),
        ("notify: ['json://${NOT_SET_ANYWHERE_X}@h']\nsites: []\n", "notify[0]"),
    ],
)
def test_fleet_file_refusals(tmp_path, text, where) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text)
    result = auditor("fleet", "run", fleet)
    assert result.returncode == 2
    err = result.stderr
    assert f": {where}:" in err
    assert "secretpw" not in err and "pw@" not in err


def test_evidence_older_than_the_max_age_proves_nothing_for_its_pair(tmp_path) -> None:
    """beta's evidence is all good but ten days old: not compliant on stale proof."""
    two_pairs(tmp_path)
    ten_days_ago = utc_stamp(datetime.now(UTC) - timedelta(days=10))
    results_for(tmp_path / "b.yaml", tmp_path / "b.json", rf.everywhere_good, at=ten_days_ago)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "sites:\n  - name: west\n    pairs:\n      - inventory: b.yaml\n        evidence: b.json\n"
    )
    args = ["fleet", "run", str(fleet), "--store", str(tmp_path / "h.sqlite")]
    result = auditor(*args, "-o", tmp_path / "o1")
    assert result.returncode == 3  # nothing proven: the pair could not be judged
    assert "b.json: its records are older than --max-evidence-age 7d" in result.stderr
    result = auditor(*args, "-o", tmp_path / "o2", "--max-evidence-age", "11d")
    assert result.returncode == 0


@pytest.mark.parametrize("which", ["inventory", "fleet file"])
def test_a_path_to_some_other_file_is_one_line_that_repeats_none_of_it(tmp_path, which) -> None:
    """A pair's inventory (or the fleet file itself) that is a symlink to another file, here
    one shaped like /etc/shadow: one located line, exit 2, nothing written, and not one of
    that file's lines in the output (the nightly job's log is read by others)."""
    fleet = two_pairs(tmp_path)
    secret = tmp_path / "shadow"
    secret.write_text("".join(f"user{i}:$6$salt$hash-{i}-s3cr3t:20228:0:99999:7:::\n"
                              for i in range(20)))  # fmt: skip
    link = tmp_path / "link.yaml"
    link.symlink_to(secret)
    if which == "inventory":
        fleet.write_text(fleet.read_text().replace("inventory: b.yaml", "inventory: link.yaml"))
        target = link
    else:
        fleet = target = link
    before = snapshot(tmp_path)
    result = auditor(
        "fleet", "run", fleet, "-o", tmp_path / "out", "--store", tmp_path / "h.sqlite"
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {target}:1: ") and "none of its 20 top-level keys" in line
    assert "s3cr3t" not in result.stdout + result.stderr
    assert snapshot(tmp_path) == before


def test_a_device_or_folder_named_as_a_pair_file_is_not_called_missing(tmp_path) -> None:
    """/dev/zero or a folder is there, and still no file to read: say so, not 'not found'."""
    fleet = two_pairs(tmp_path)
    (tmp_path / "dir.json").mkdir()
    fleet.write_text(fleet.read_text().replace("evidence: a.json", "evidence: /dev/zero")
                     .replace("[b.json]", "[dir.json]"))  # fmt: skip
    result = auditor("fleet", "run", fleet, "--store", tmp_path / "h.sqlite")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {fleet}:5: sites[0].pairs[0].evidence: /dev/zero: not a regular file "
        "(expected a readable file)",
        f"error: {fleet}:9: sites[1].pairs[0].evidence: {tmp_path / 'dir.json'}: not a regular "
        "file (expected a readable file)",
    ]


@pytest.mark.parametrize("port", ["0", "65536", "x"])
def test_a_probe_host_port_that_is_no_port_is_refused(tmp_path, port) -> None:
    """Port 0 was taken as 'no port' and probed on 22: another host's sshd than the one
    written. Every port outside 1-65535 is one located line, exit 2."""
    (tmp_path / "kh").write_text("")
    fleet = two_pairs(tmp_path)
    fleet.write_text(fleet.read_text().replace(
        "  - name: east\n", f"  - name: east\n    probe_host: ssh://u@h.example.com:{port}\n"
        "    known_hosts: kh\n"))  # fmt: skip
    result = auditor("fleet", "run", fleet, "--store", tmp_path / "h.sqlite")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {fleet}:3: sites[0].probe_host: the port is not a number 1-65535 "
        "(expected ssh://USER@HOST[:PORT])"
    ]


def test_keep_prunes_only_older_fleet_runs_in_the_default_place(tmp_path: Path) -> None:
    """`fleet run --keep N` as `audit --keep N`: only folders named fleet-<UTC timestamp>
    holding a fleet.json (a fleet run's) in reports/, never this run's, never anything else
    (a user's folder of that name, a symlink, another name), nothing with -o."""
    import os

    from auditor.fleet.prune import prune_fleet_runs

    reports = tmp_path / "reports"
    reports.mkdir()

    def old_run(stamp: str, *, marker: bool = True) -> Path:
        folder = reports / f"fleet-{stamp}"
        (folder / "east" / "pair").mkdir(parents=True)
        if marker:
            (folder / "fleet.json").write_text("{}")
        return folder

    runs = [old_run(f"2026112{d}T020000Z") for d in range(4)]
    users = old_run("20261101T020000Z", marker=False)  # no fleet.json: not ours
    other = reports / "fleet-latest"
    other.mkdir()
    (other / "fleet.json").write_text("{}")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "fleet.json").write_text("{}")
    os.symlink(target, reports / "fleet-20261102T020000Z")
    # a clock set back: this run's folder sorts before the others, still kept
    current = old_run("20261001T020000Z")
    gone = prune_fleet_runs(current, keep=2)
    assert sorted(gone) == runs[:3]
    left = sorted(p.name for p in reports.iterdir())
    assert left == sorted([runs[3].name, users.name, other.name, current.name,
                           "fleet-20261102T020000Z"])  # fmt: skip
    assert (target / "fleet.json").is_file()
    assert prune_fleet_runs(current, keep=1) == [runs[3]]


def test_fleet_run_keep_through_the_command(tmp_path: Path) -> None:
    """Three nights with --keep 2 leave two fleet folders in reports/ (the newest two); a
    night with -o leaves the default place alone."""
    inv = tmp_path / "a.yaml"
    inv.write_text(PAIR.read_text())
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n  - name: east\n    pairs:\n      - inventory: a.yaml\n"
                     "        evidence: a.json\n")  # fmt: skip
    made = []
    for _ in range(3):
        next_second()
        results_for(inv, tmp_path / "a.json")
        result = auditor("fleet", "run", fleet, "--store", tmp_path / "h.sqlite", "-q",
                         "--keep", "2", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 1, result.stderr
        made.append(sorted((tmp_path / "reports").glob("fleet-*"))[-1].name)
    assert sorted(p.name for p in (tmp_path / "reports").glob("fleet-*")) == made[1:]
    next_second()
    result = auditor("fleet", "run", fleet, "--store", tmp_path / "h.sqlite", "-q", "--keep",
                     "1", "-o", tmp_path / "out", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert sorted(p.name for p in (tmp_path / "reports").glob("fleet-*")) == made[1:]
