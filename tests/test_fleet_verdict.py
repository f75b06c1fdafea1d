"""The fleet's verdict is its worst pair's, from the one judgement: every run verdict has a
severity (a new verdict cannot be half-wired), and the order is the documented one."""

from __future__ import annotations

from auditor.model.verdict import (
    VERDICT_SEVERITY,
    Verdict,
    exit_code,
    got_worse,
    worst_verdict,
)


def test_every_verdict_has_a_severity() -> None:
    assert set(VERDICT_SEVERITY) == set(Verdict)


def test_the_worst_pair_decides_the_fleet() -> None:
    assert worst_verdict([]) is Verdict.INCOMPLETE  # no judged pair proves nothing
    assert worst_verdict([Verdict.COMPLIANT, Verdict.FINDINGS]) is Verdict.FINDINGS
    # a pair that could not be judged outranks findings elsewhere: nothing is vouched for there
    assert worst_verdict([Verdict.FINDINGS, Verdict.INCOMPLETE]) is Verdict.INCOMPLETE
    assert exit_code(worst_verdict([Verdict.FINDINGS, Verdict.COMPLIANT])) == 1


def test_got_worse() -> None:
    assert got_worse(Verdict.COMPLIANT, Verdict.FINDINGS)
    assert got_worse(Verdict.FINDINGS, Verdict.INCOMPLETE)
    assert not got_worse(Verdict.FINDINGS, Verdict.COMPLIANT)
    assert not got_worse(None, Verdict.FINDINGS)  # a first run has nothing to be worse than
