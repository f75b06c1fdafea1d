"""One judgement: every status has one outcome, and the run verdict follows from outcomes."""

from __future__ import annotations

import pytest

from auditor.model.record import Status
from auditor.model.verdict import (
    STATUS_OUTCOME,
    Outcome,
    SourceVerdict,
    Verdict,
    exit_code,
    run_verdict,
    source_verdict,
    worst,
)


def test_every_status_has_exactly_one_outcome() -> None:
    assert set(STATUS_OUTCOME) == set(Status)


@pytest.mark.parametrize(
    ("outcomes", "lint_error", "drift", "verdict", "code"),
    [
        ([Outcome.OK], False, False, Verdict.COMPLIANT, 0),
        ([Outcome.OK, Outcome.UNVERIFIED], False, False, Verdict.COMPLIANT, 0),
        ([Outcome.OK], True, False, Verdict.FINDINGS, 1),
        ([Outcome.OK], False, True, Verdict.FINDINGS, 1),
        ([Outcome.OK, Outcome.BLOCKED], False, False, Verdict.FINDINGS, 1),
        ([Outcome.FAILING], False, False, Verdict.FINDINGS, 1),
        ([Outcome.OK, Outcome.ERROR], False, False, Verdict.FINDINGS, 1),
        ([Outcome.ERROR], False, False, Verdict.INCOMPLETE, 3),
        ([Outcome.UNVERIFIED], False, False, Verdict.INCOMPLETE, 3),
        ([Outcome.UNVERIFIED], True, False, Verdict.FINDINGS, 1),
        ([], False, False, Verdict.INCOMPLETE, 3),
    ],
)
def test_run_verdict_and_exit_code(
    outcomes: list[Outcome], lint_error: bool, drift: bool, verdict: Verdict, code: int
) -> None:
    got = run_verdict(outcomes, lint_error=lint_error, drift_matters=drift)
    assert got is verdict
    assert exit_code(got) == code


def test_worst_is_blocked_before_failing_before_error_before_unverified() -> None:
    assert worst([Outcome.OK, Outcome.UNVERIFIED, Outcome.ERROR]) is Outcome.ERROR
    assert worst([Outcome.FAILING, Outcome.BLOCKED]) is Outcome.BLOCKED
    assert worst([]) is Outcome.OK


def test_a_source_with_none_of_its_addresses_here_says_so() -> None:
    not_here = [Status.NOT_LOCAL, Status.NOT_LOCAL]
    assert source_verdict(not_here, [Outcome.UNVERIFIED]) is SourceVerdict.NOT_HERE
    assert source_verdict([Status.OPEN], [Outcome.OK, Outcome.FAILING]) is SourceVerdict.FAILING
