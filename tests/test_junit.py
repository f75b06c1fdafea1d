"""JUnit XML as a CI consumer reads it (junitparser)."""

from __future__ import annotations

from pathlib import Path

import report_factories as rf
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.report.junit import render_junit


def load(tmp_path: Path, text: str) -> JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def cases(xml: JUnitXml) -> list:  # type: ignore[type-arg]
    return [case for suite in xml for case in suite]


def test_one_testcase_per_required_flow_and_check(tmp_path: Path) -> None:
    run = rf.findings_run()
    xml = load(tmp_path, render_junit(run))
    checks = sum(len(f.checks) for f in run.flows)
    flow_cases = [c for c in cases(xml) if c.classname != "inventory-lint"]
    assert len(flow_cases) == checks == 25
    # 3 blocked flows + 1 TLS failure; the not-local flows and the checks that could not run
    # after a failure are skipped.
    assert xml.tests == 26  # plus the one lint warning
    assert xml.failures == 4
    assert xml.errors == 0
    assert xml.skipped == 14


def test_names_and_classnames(tmp_path: Path) -> None:
    xml = load(tmp_path, render_junit(rf.findings_run()))
    by_name = {c.name: c for c in cases(xml)}
    blocked = by_name["198.51.100.11 -> 203.0.113.10:636/tcp"]
    assert blocked.classname == "corp-ad"
    (failure,) = blocked.result
    assert isinstance(failure, Failure)
    assert failure.message == "filtered: no answer within 3.0 s"
    tls = by_name["198.51.100.10 -> 203.0.113.11:636/tcp [tls]"]
    assert isinstance(tls.result[0], Failure)
    assert "hostname-mismatch" in tls.result[0].message
    skipped = by_name["198.51.100.12 -> 203.0.113.20:1812/udp"]
    assert isinstance(skipped.result[0], Skipped)
    assert "not on this host" in skipped.result[0].message
    assert by_name["198.51.100.10 -> 203.0.113.10:636/tcp [ldap-bind]"].result == []
    assert by_name["198.51.100.11 -> 198.51.100.12:443/tcp"].classname == "failover-peer"


def test_a_green_run_has_no_failure(tmp_path: Path) -> None:
    xml = load(tmp_path, render_junit(rf.green_run()))
    assert xml.failures == 0 and xml.errors == 0
    assert xml.skipped == 9  # site2's unique address is not on the probing host


def test_probe_errors_and_bind_failures(tmp_path: Path) -> None:
    def outcome(flow: Flow) -> tuple[Status, ...] | None:
        if str(flow.destination) == rf.RADIUS:
            return (Status.ERROR,)
        if str(flow.destination) == rf.AD1 and str(flow.source) == rf.SHARED:
            return (Status.OPEN, Status.TLS_OK, Status.BIND_INVALID_CREDENTIALS)
        return rf.all_good(flow)

    xml = load(tmp_path, render_junit(rf.run(outcome=outcome)))
    by_name = {c.name: c for c in cases(xml)}
    assert isinstance(by_name["198.51.100.10 -> 203.0.113.20:1812/udp"].result[0], Error)
    bind = by_name["198.51.100.10 -> 203.0.113.10:636/tcp [ldap-bind]"].result[0]
    assert isinstance(bind, Failure) and bind.type == "bind-invalid-credentials"
    assert xml.errors == 3 and xml.failures == 1  # RADIUS from each of 3 sources


def test_lint_errors_are_failures_in_their_own_suite(tmp_path: Path) -> None:
    run = rf.green_run(lint=(rf.lint_finding("error"), rf.lint_finding("warning", "w")))
    xml = load(tmp_path, render_junit(run))
    lint = next(s for s in xml if s.name == "inventory-lint")
    assert lint.tests == 2 and lint.failures == 1


def test_hostile_strings_stay_well_formed(tmp_path: Path) -> None:
    run = rf.green_run(lint=(rf.lint_finding("error", '<x a="1">&\x00\x1b]0;t\x07</x>'),))
    xml = load(tmp_path, render_junit(run))
    assert xml.failures == 1


def test_deterministic() -> None:
    assert render_junit(rf.findings_run()) == render_junit(rf.findings_run())
    rf.check_golden("junit.xml", render_junit(rf.findings_run()))
