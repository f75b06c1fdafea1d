"""One judgement: every status has one outcome, and the run verdict follows from outcomes."""

from __future__ import annotations

import pytest

from auditor.model.record import Status
from auditor.model.verdict import (
    EXIT_CODES,
    STATUS_OUTCOME,
    Acceptance,
    Outcome,
    SourceVerdict,
    Verdict,
    claim_check_verdict,
    drift_verdict,
    exit_code,
    run_verdict,
    source_verdict,
    state_verdict,
    tally,
    worst,
)


def test_every_status_has_exactly_one_outcome() -> None:
    assert set(STATUS_OUTCOME) == set(Status)


S = Status
OPEN, NOT_LOCAL, FILTERED, TLS_FAILED = S.OPEN, S.NOT_LOCAL, S.FILTERED, S.TLS_FAILED


@pytest.mark.parametrize(
    ("flows", "lint_error", "drift", "verdict", "code"),
    [
        ([[OPEN]], False, False, Verdict.COMPLIANT, 0),
        ([[OPEN, S.TLS_OK]], False, False, Verdict.COMPLIANT, 0),
        # a flow no evidence decided: not compliant
        ([[OPEN], [NOT_LOCAL]], False, False, Verdict.UNPROVEN, 4),
        ([[OPEN, None]], False, False, Verdict.UNPROVEN, 4),
        ([[OPEN]], True, False, Verdict.FINDINGS, 1),
        ([[OPEN]], False, True, Verdict.FINDINGS, 1),
        ([[OPEN], [NOT_LOCAL]], True, False, Verdict.FINDINGS, 1),
        ([[OPEN], [FILTERED]], False, False, Verdict.FINDINGS, 1),
        ([[OPEN, TLS_FAILED]], False, False, Verdict.FINDINGS, 1),
        ([[OPEN], [S.ERROR]], False, False, Verdict.FINDINGS, 1),
        ([[S.ERROR]], False, False, Verdict.INCOMPLETE, 3),
        ([[NOT_LOCAL]], False, False, Verdict.INCOMPLETE, 3),
        ([[NOT_LOCAL]], True, False, Verdict.FINDINGS, 1),
        ([], False, False, Verdict.INCOMPLETE, 3),
        # disagreeing evidence is a finding, even when it is all there is
        ([[S.CONFLICT]], False, False, Verdict.FINDINGS, 1),
        ([[S.CONFLICT], [NOT_LOCAL]], False, False, Verdict.FINDINGS, 1),
    ],
)
def test_run_verdict_and_exit_code(
    flows: list[list[Status | None]], lint_error: bool, drift: bool, verdict: Verdict, code: int
) -> None:
    got = run_verdict(tally(flows), lint_error=lint_error, drift_matters=drift)
    assert got is verdict
    assert exit_code(got) == code


def test_unproven_says_how_many_and_why() -> None:
    flows = tally([[OPEN], [NOT_LOCAL], [NOT_LOCAL], [OPEN, None], [S.UNTESTED]])
    assert (flows.flows, flows.unverified) == (5, 4)
    assert flows.unproven_text == "2 not-local, 1 no-record, 1 untested"


@pytest.mark.parametrize(
    ("accept", "verdict"),
    [
        (Acceptance(count=1), Verdict.UNPROVEN),
        (Acceptance(count=2), Verdict.COMPLIANT),
        (Acceptance(percent=49), Verdict.UNPROVEN),
        (Acceptance(percent=50), Verdict.COMPLIANT),
    ],
)
def test_unproven_flows_accepted_knowingly(accept: Acceptance, verdict: Verdict) -> None:
    flows = tally([[OPEN], [OPEN], [NOT_LOCAL], [S.UNTESTED]])
    assert run_verdict(flows, accept=accept) is verdict


def test_acceptance_reads_a_count_or_a_percentage() -> None:
    assert Acceptance.parse("3") == Acceptance(count=3)
    assert Acceptance.parse("10%") == Acceptance(percent=10.0)
    assert str(Acceptance.parse("10%")) == "10%"
    for bad in ("", "-1", "101%", "1.5", "٣", "x%"):
        assert Acceptance.parse(bad) is None


def test_every_verdict_has_an_exit_code_and_the_codes_differ() -> None:
    assert set(EXIT_CODES) == set(Verdict)
    assert sorted(EXIT_CODES.values()) == [0, 1, 3, 4]


def test_the_other_commands_judge_through_the_same_table() -> None:
    assert exit_code(state_verdict(0)) == 0
    assert exit_code(state_verdict(2)) == 1
    assert exit_code(claim_check_verdict(0)) == 0
    assert exit_code(claim_check_verdict(1)) == 1
    assert exit_code(drift_verdict(True, Verdict.COMPLIANT)) == 1
    assert exit_code(drift_verdict(False, Verdict.FINDINGS)) == 0
    # no baseline yet: the newest run's own verdict
    assert exit_code(drift_verdict(None, Verdict.UNPROVEN)) == 4


def test_worst_is_blocked_before_failing_before_error_before_unverified() -> None:
    assert worst([Outcome.OK, Outcome.UNVERIFIED, Outcome.ERROR]) is Outcome.ERROR
    assert worst([Outcome.FAILING, Outcome.BLOCKED]) is Outcome.BLOCKED
    assert worst([]) is Outcome.OK


def test_a_source_with_none_of_its_addresses_here_says_so() -> None:
    not_here = [Status.NOT_LOCAL, Status.NOT_LOCAL]
    assert source_verdict(not_here, [Outcome.UNVERIFIED]) is SourceVerdict.NOT_HERE
    assert source_verdict([Status.OPEN], [Outcome.OK, Outcome.FAILING]) is SourceVerdict.FAILING
