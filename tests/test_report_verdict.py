"""The verdict and exit code of an audit run: what a pipeline gate relies on."""

from __future__ import annotations

import report_factories as rf

from auditor.model.findings import compute_verdict
from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.model.verdict import Verdict, exit_code
from auditor.report.bundle import render_reports


def test_every_flow_proven_open_is_compliant_exit_0() -> None:
    def everywhere(flow: Flow) -> tuple[Status, ...] | None:
        return rf.all_good(flow) or tuple(
            {"tcp": Status.OPEN, "udp": Status.OPEN, "tls": Status.TLS_OK}.get(
                c.value, Status.BIND_OK
            )
            for c in flow.checks
        )

    run = rf.run(outcome=everywhere)
    assert run.verdict is Verdict.COMPLIANT
    assert run.exit_code == 0


def test_flows_not_local_here_are_unproven_not_compliant() -> None:
    """The backup's unique IP is not on the probing host: its 4 flows are decided by no
    evidence. Unproven (exit 4), with how many and why, in a neutral banner; JUnit fails one
    testcase that says so."""
    run = rf.run(outcome=rf.all_good, ad_days={rf.AD1: 200, rf.AD2: 150})
    assert run.verdict is Verdict.UNPROVEN and run.exit_code == 4
    files = render_reports(run, None)
    why = "4 of 11 required flows unproven (4 not-local)"
    assert why in files["report.md"] and "**UNPROVEN** (exit code 4)" in files["report.md"]
    assert (
        '<div class="verdict unproven" role="status">UNPROVEN (exit code 4)' in files["report.html"]
    )
    assert ".verdict.unproven { background: #f6f8fa;" in files["report.html"]  # grey, not green
    assert 'classname="unproven-flows"' in files["junit.xml"]
    assert "--accept-unverified 4 accepts them" in files["junit.xml"]


def test_unproven_flows_accepted_knowingly_are_compliant_and_the_report_says_so() -> None:
    run = rf.green_run()  # --accept-unverified 4
    assert run.verdict is Verdict.COMPLIANT and run.exit_code == 0
    md = render_reports(run, None)["report.md"]
    assert "except 4 of 11 required flows unproven (4 not-local), accepted " in md
    assert "(--accept-unverified 4)" in md
    assert rf.green_run(accept_unverified="3").verdict is Verdict.UNPROVEN
    assert rf.green_run(accept_unverified="37%").verdict is Verdict.COMPLIANT


def test_a_blocked_flow_is_findings_exit_1() -> None:
    run = rf.run(outcome=rf.classic_gap)
    assert run.verdict is Verdict.FINDINGS
    assert run.exit_code == 1


def test_a_tls_failure_alone_is_findings() -> None:
    def tls_broken(flow: Flow) -> tuple[Status, ...] | None:
        if str(flow.destination) == rf.AD2 and str(flow.source) == rf.SHARED:
            return (Status.OPEN, Status.TLS_FAILED, Status.SKIPPED)
        return rf.all_good(flow)

    assert rf.run(outcome=tls_broken).verdict is Verdict.FINDINGS


def test_a_bind_failure_alone_is_findings() -> None:
    def bind_broken(flow: Flow) -> tuple[Status, ...] | None:
        if str(flow.destination) == rf.AD1 and str(flow.source) == rf.SHARED:
            return (Status.OPEN, Status.TLS_OK, Status.BIND_INVALID_CREDENTIALS)
        return rf.all_good(flow)

    assert rf.run(outcome=bind_broken).verdict is Verdict.FINDINGS


def test_a_lint_error_is_findings_but_a_warning_is_not() -> None:
    assert rf.green_run(lint=(rf.lint_finding("error"),)).verdict is Verdict.FINDINGS
    assert rf.green_run(lint=(rf.lint_finding("warning"),)).verdict is Verdict.COMPLIANT


def test_drift_that_matters_is_findings() -> None:
    run = rf.green_run()
    assert compute_verdict(run.flows, run.records, drift_matters=True) is Verdict.FINDINGS


def test_nothing_probed_is_incomplete_exit_3() -> None:
    run = rf.run(outcome=lambda flow: None)  # every source not local
    assert run.verdict is Verdict.INCOMPLETE
    assert run.exit_code == 3
    assert compute_verdict(run.flows, ()) is Verdict.INCOMPLETE


def test_a_lint_error_is_findings_even_when_nothing_could_be_probed() -> None:
    run = rf.run(outcome=lambda flow: None)
    assert compute_verdict(run.flows, run.records, (rf.lint_finding("error"),)) is Verdict.FINDINGS
    assert (
        compute_verdict(run.flows, run.records, (rf.lint_finding("warning"),)) is Verdict.INCOMPLETE
    )


def test_probe_errors_only_is_incomplete() -> None:
    run = rf.run(outcome=lambda f: (Status.ERROR,) + (Status.SKIPPED,) * (len(f.checks) - 1))
    assert run.verdict is Verdict.INCOMPLETE


def test_exit_codes_of_every_verdict() -> None:
    assert {v: exit_code(v) for v in Verdict} == {
        Verdict.COMPLIANT: 0,
        Verdict.FINDINGS: 1,
        Verdict.INCOMPLETE: 3,
        Verdict.UNPROVEN: 4,
    }
