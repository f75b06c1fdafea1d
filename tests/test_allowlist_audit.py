"""The application allow-list finding in a finished run: it makes the verdict `findings` and
exit 1 (through auditor.model.verdict), reads back from the run document, is refused there when
damaged, and shows in the Markdown and HTML reports and as a failing JUnit testcase.
(tests/test_app_allowlist_lab.py runs it against a real freeradius.)"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import report_factories as rf
from support.readers import read_run_file

from auditor.errors import InputError
from auditor.evidence.allowlist import ruleset_allowlist
from auditor.history.drift import changes, matters
from auditor.model.allowlist import AllowListFinding
from auditor.model.findings import AuditRun, compute_verdict
from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.rundoc import dumps
from auditor.model.verdict import Verdict, exit_code, run_verdict, tally
from auditor.report.html import render_html
from auditor.report.junit import render_junit
from auditor.report.markdown import render_markdown

FINDING = AllowListFinding(
    provider="corp-radius",
    destination=rf.RADIUS,
    protocol="udp",
    port=1812,
    check="radius",
    answered=(rf.SHARED, rf.PRIMARY_UNIQUE),
    ignored=(rf.BACKUP_UNIQUE,),
    evidence="the ruleset router.rules accepts them",
)


def with_finding(run: AuditRun) -> AuditRun:
    allowlist = (FINDING,)
    verdict = compute_verdict(run.flows, run.records, run.lint, allowlist=allowlist)
    return replace(run, allowlist=allowlist, verdict=verdict)


def test_a_server_that_ignores_an_admitted_address_is_a_finding_even_when_every_check_passed() -> (
    None
):
    assert run_verdict(tally([[Status.OPEN]]), server_ignores=True) is Verdict.FINDINGS
    assert run_verdict(tally([[Status.OPEN]])) is Verdict.COMPLIANT
    run = with_finding(rf.green_run())
    assert run.verdict is Verdict.FINDINGS and run.exit_code == exit_code(Verdict.FINDINGS) == 1


def test_a_baseline_without_drift_that_matters_keeps_the_finding() -> None:
    run = with_finding(rf.green_run())
    items = changes(rf.green_run(run_id="earlier"), run)
    assert not matters(items)
    verdict = compute_verdict(
        run.flows, run.records, run.lint, drift_matters=matters(items), allowlist=run.allowlist
    )
    assert verdict is Verdict.FINDINGS


def test_the_message_names_server_port_addresses_and_the_client_list() -> None:
    text = FINDING.message
    assert text.startswith(f"{rf.RADIUS} udp/1812 (corp-radius) answers ")
    assert f"ignores {rf.BACKUP_UNIQUE}, which the firewall admits" in text
    assert "client list must hold every appliance address" in text
    dns = replace(FINDING, check="dns", port=53)
    assert "RADIUS" not in dns.message and "allowed clients must hold every" in dns.message


def test_ruleset_allowlist_reads_the_records_before_the_merge() -> None:
    def rec(source: str, status: Status, check: str = "radius") -> ProbeRecord:
        return ProbeRecord(source, rf.RADIUS, "udp", 1812, "corp-radius", check, status)

    probed = [
        rec(rf.PRIMARY_UNIQUE, Status.RADIUS_ANSWERED),
        rec(rf.BACKUP_UNIQUE, Status.NO_ANSWER),
    ]
    ruleset = [
        replace(rec(a, Status.OPEN, "udp"), method=Method.RULESET, origin="router.rules")
        for a in (rf.PRIMARY_UNIQUE, rf.BACKUP_UNIQUE)
    ]
    (finding,) = ruleset_allowlist(probed, ruleset)
    assert finding.ignored == (rf.BACKUP_UNIQUE,)
    assert finding.evidence == "the ruleset router.rules accepts them"
    assert ruleset_allowlist(probed, ()) == ()  # no ruleset: silence proves nothing


def test_the_run_document_carries_the_finding_and_reads_it_back(tmp_path: Path) -> None:
    run = with_finding(rf.findings_run())
    path = tmp_path / "run.json"
    path.write_text(dumps(run), encoding="utf-8")
    doc = json.loads(path.read_text())
    assert doc["allowlist"][0]["ignored"] == [rf.BACKUP_UNIQUE]
    assert (doc["allowlist"][0]["provider"], doc["allowlist"][0]["port"]) == ("corp-radius", 1812)
    assert read_run_file(path) == run


def test_a_damaged_finding_in_a_run_document_is_a_located_refusal(tmp_path: Path) -> None:
    doc = json.loads(dumps(with_finding(rf.findings_run())))
    doc["allowlist"][0]["ignored"] = ["site2"]
    doc["allowlist"][0]["port"] = "1812"
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True))
    with pytest.raises(InputError) as err:
        read_run_file(path)
    lines = str(err.value).splitlines()
    assert any('allowlist[0].ignored[0]: is "site2" (expected an IP address)' in t for t in lines)
    assert any("allowlist[0].port: " in t for t in lines)
    assert len(lines) == 2


def test_the_reports_and_junit_show_it() -> None:
    run = with_finding(rf.green_run())
    markdown = render_markdown(run)
    assert "## Servers that ignore some of the pair's addresses" in markdown
    assert f"| {rf.RADIUS} udp/1812 (corp-radius) | " in markdown
    assert f"**{rf.BACKUP_UNIQUE}**" in markdown and "(exit code 1)" in markdown
    assert f'<td class="st failing">{rf.BACKUP_UNIQUE}</td>' in render_html(run)
    root = ET.fromstring(render_junit(run))
    (case,) = root.findall(".//testcase[@classname='application-allow-list']")
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == FINDING.message
    # the strict Ant schema has no totals on testsuites: CI systems sum the suites
    assert sum(int(s.get("failures", "0")) for s in root.iter("testsuite")) >= 1
    # Without a finding there is no such section or testcase.
    green = rf.green_run()
    assert "Servers that ignore" not in render_markdown(green)
    assert 'id="allowlist"' not in render_html(green)
    assert "application-allow-list" not in render_junit(green)


def test_the_history_store_keeps_the_finding(tmp_path: Path) -> None:
    from auditor.history.store import Store

    run = with_finding(rf.findings_run())
    store = Store(tmp_path / "history.sqlite")
    store.save_run(run)
    loaded = store.load_run(run.run_id)
    assert loaded.allowlist == (FINDING,) and loaded.verdict is Verdict.FINDINGS
