"""`auditor audit`, the job users run: its exit codes, its report folder, its history, and the
whole go-live story in the lab (findings, the generated fix applied, compliant, drift)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml
from support.cli import auditor

from auditor.lab import Lab

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"
REPORT_FILES = {"report.html", "report.md", "results.json", "flows.csv", "junit.xml", "run.json"}


def in_lab(lab: Lab, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return lab.exec(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_bad_input_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "pair.yaml"
    bad.write_text(EXAMPLE.read_text().replace("peer_port: 443", "peer_port: https"))
    done = auditor("audit", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {bad}:24: pair.failover.peer_port: ")
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair.yaml"]


def test_a_missing_bind_password_stops_before_any_probe(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AUDITOR_BIND_PASSWORD"}
    done = auditor("audit", str(EXAMPLE), cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert "providers[0].bind.password_env" in done.stderr
    assert "AUDITOR_BIND_PASSWORD" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_nothing_probeable_from_this_host_is_exit_3_with_reports(tmp_path: Path) -> None:
    # No address of examples/pair.yaml is on this host (documentation ranges): every flow is
    # not-local, so the run cannot say anything about the firewall.
    env = with_password()
    done = auditor(
        "audit", str(EXAMPLE), "-o", str(tmp_path / "out"), "--store", str(tmp_path / "h.db"),
        "--timeout", "0.5", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "nothing could be probed from this host" in done.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} >= REPORT_FILES
    junit = JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    # every flow check is skipped (not testable here); only the lint testcase passes
    assert (junit.failures, junit.errors) == (0, 0)
    assert junit.tests == 27 and junit.skipped == 26


@pytest.mark.lab
def test_go_live_story_findings_fix_compliant_drift(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    inventory = str(lab.inventory_path())
    store = str(tmp_path / "history.sqlite")
    before = tmp_path / "before"

    first = in_lab(lab, "audit", inventory, "--timeout", "1", "--store", store,
                   "-o", str(before), cwd=tmp_path)  # fmt: skip
    assert first.returncode == 1, first.stderr
    assert "FINDINGS (exit 1)" in first.stdout
    assert {p.name for p in before.iterdir()} >= REPORT_FILES
    snippets = {p.name for p in (before / "rules").iterdir()}
    assert {"iptables.rules", "iptables.jump.rules", "nftables.nft", "pf.conf", "ticket.md",
            "change-request.csv"} <= snippets  # fmt: skip
    junit = JUnitXml.fromfile(str(before / "junit.xml"))
    assert junit.failures == 8  # shared IP rejected, site2's unique IP dropped: 2 ports x 4
    results = json.loads((before / "results.json").read_text())
    assert results["summary"]["refused"] == 4 and results["summary"]["filtered"] == 4

    applied = subprocess.run(
        [sys.executable, "-m", "auditor", "lab", "apply", "--prefix", lab.prefix,
         *(str(before / "rules" / n) for n in ("iptables.rules", "iptables.jump.rules",
                                               "ip6tables.rules", "ip6tables.jump.rules"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr

    second = in_lab(lab, "audit", inventory, "--timeout", "1", "--store", store,
                    "-o", str(tmp_path / "after"), "--baseline", str(before / "run.json"),
                    cwd=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    assert "COMPLIANT (exit 0)" in second.stdout
    assert "8 change(s), none that matter" in second.stdout
    assert JUnitXml.fromfile(str(tmp_path / "after" / "junit.xml")).failures == 0

    history = auditor("history", "--store", store, "--format", "json", cwd=tmp_path)
    assert [r["verdict"] for r in json.loads(history.stdout)] == ["findings", "compliant"]
    drift = auditor("drift", inventory, "--store", store, "--baseline", str(before / "run.json"),
                    "--format", "json", cwd=tmp_path)  # fmt: skip
    assert drift.returncode == 0, drift.stderr
    kinds = [item["kind"] for item in json.loads(drift.stdout)["items"]]
    assert kinds == ["newly-open"] * 8

    # the bind password is nowhere: not in any report, snippet, store row or output
    password = lab.password_file().read_text().strip()
    texts = [first.stdout, first.stderr, second.stdout, second.stderr]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
              and p.suffix != ".sqlite"]  # fmt: skip
    with sqlite3.connect(store) as conn:
        texts += [str(row) for table in ("runs", "records")
                  for row in conn.execute(f"SELECT * FROM {table}")]  # fmt: skip
    assert all(password not in text for text in texts)


def test_an_unreadable_password_file_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bind.pw").write_bytes(b"\xff\xfesecret")
    inv = tmp_path / "pair.yaml"
    inv.write_text(
        EXAMPLE.read_text().replace("password_env: AUDITOR_BIND_PASSWORD", "password_file: bind.pw")
    )
    done = auditor("audit", str(inv), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {inv}:33: providers[0].bind.password_file: provider corp-ad: cannot read "
        f"{tmp_path / 'bind.pw'}: not UTF-8 text (a file holding the bind password)\n"
    )


def test_an_unwritable_output_is_one_line_exit_3(tmp_path: Path) -> None:
    done = auditor("graph", "-o", "/proc/auditor-test/graph.dot", str(EXAMPLE), cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert "/proc/auditor-test" in done.stderr


def with_password() -> dict[str, str]:
    return dict(os.environ, AUDITOR_BIND_PASSWORD="not-a-real-password")


def test_a_foreign_sqlite_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = foreign.read_bytes()
    for args in (["history"], ["drift", str(EXAMPLE)], ["audit", str(EXAMPLE)]):
        done = auditor(*args, "--store", str(foreign), cwd=tmp_path, env=with_password())
        assert done.returncode == 2, (args, done.stderr)
        assert "not a history store of this auditor" in done.stderr
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


def test_a_baseline_of_another_site_is_refused_before_probing(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(EXAMPLE.read_text().replace("support.example.com", "other.example.com"))
    made = auditor("audit", str(other), "-o", str(tmp_path / "other"), "--no-store",
                   "--timeout", "0.2", cwd=tmp_path, env=with_password())  # fmt: skip
    assert made.returncode == 3, made.stderr  # nothing probeable here, but run.json is written
    baseline = tmp_path / "other" / "run.json"
    work = tmp_path / "work"
    work.mkdir()
    done = auditor("audit", str(EXAMPLE), "--baseline", str(baseline), cwd=work,
                   env=with_password())  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: baseline {baseline} is an audit of site other.example.com, not "
        "support.example.com (expected a run of the same site)\n"
    )
    assert list(work.iterdir()) == []


def test_an_earlier_report_folder_is_replaced_whole_and_a_foreign_one_refused(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    common = ("--no-store", "--timeout", "0.2", "-o", str(out))
    first = auditor("audit", str(EXAMPLE), *common, cwd=tmp_path, env=with_password())
    assert first.returncode == 3, first.stderr
    assert "iptables.rules" in {p.name for p in (out / "rules").iterdir()}
    again = auditor(
        "audit", str(EXAMPLE), *common, "--format", "csv", cwd=tmp_path, env=with_password()
    )
    assert again.returncode == 3, again.stderr
    assert sorted(p.name for p in (out / "rules").iterdir()) == ["change-request.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = auditor("audit", str(EXAMPLE), "--no-store", "-o", str(mine), cwd=tmp_path,
                      env=with_password())  # fmt: skip
    assert refused.returncode == 2
    assert "exists and is not an audit report folder" in refused.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.lab
def test_a_starttls_certificate_problem_fails_the_audit(lab: Lab, tmp_path: Path) -> None:
    # lab-ldap (StartTLS on 389) pointed at the slapd whose certificate is for another name:
    # the appliance would treat it as down, so the audit must fail on it, not skip it.
    data = yaml.safe_load(lab.inventory_path().read_text())
    data["providers"] = [p for p in data["providers"] if p["name"] == "lab-ldap"]
    data["providers"][0]["endpoints"] = ["203.0.113.11"]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    done = in_lab(lab, "audit", str(inventory), "--timeout", "1", "--no-store",
                  "-o", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    cases = {
        case.name: case
        for suite in JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
        for case in suite
    }
    tls = cases["198.51.100.11 -> 203.0.113.11:389/tcp [tls]"]
    assert tls.result and "hostname-mismatch" in tls.result[0].message


def test_a_missing_ca_file_is_bad_input_before_any_probe(tmp_path: Path) -> None:
    inv = tmp_path / "pair.yaml"
    inv.write_text(
        EXAMPLE.read_text().replace(
            "    tls_name: ad.corp.example.com\n",
            "    tls_name: ad.corp.example.com\n    ca_file: certs/corp-ca.pem\n",
        )
    )
    for command in ("probe", "audit"):
        done = auditor(command, str(inv), cwd=tmp_path, env=with_password())
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr == (
            f"error: {inv}:30: providers[0].ca_file: provider corp-ad: "
            f"{tmp_path / 'certs' / 'corp-ca.pem'} is not found (expected the PEM bundle of "
            "the CA that signed the provider's certificate)\n"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pair.yaml"]


def test_keep_prunes_only_this_sites_oldest_report_folders(tmp_path: Path) -> None:
    from auditor.report.folder import prune_reports

    def report(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run.json").write_text("{}")
        return folder

    old = [report(f"support.example.com-2026112{d}T020000Z-ab1{d}") for d in range(5)]
    other_site = report("other.example.com-20261120T020000Z-abcd")
    not_ours = tmp_path / "support.example.com-20261119T020000Z-0000"
    not_ours.mkdir()  # no run.json: not a report folder the audit wrote
    prune_reports(tmp_path, "support.example.com", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [old[3].name, old[4].name, other_site.name, not_ours.name]
    )
