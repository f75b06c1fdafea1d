"""The only judgement in the product: status -> outcome -> flow outcome -> run verdict -> exit
code. `probe`, `audit`, `rules`, the plan, the tables, the reports and JUnit all ask here, so the
same evidence always gets the same verdict and the same exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from auditor.model.record import Status


class Outcome(StrEnum):
    """How one check or flow fared; declared from worst to best."""

    BLOCKED = "blocked"  # the firewall (or routing) stops it: a missing rule
    FAILING = "failing"  # reachable, but the application check failed (TLS, bind, secret)
    ERROR = "error"  # the check itself broke
    UNVERIFIED = "unverified"  # not testable from here, not tested, or skipped
    OK = "ok"


OUTCOME_RANK: Mapping[Outcome, int] = {o: i for i, o in enumerate(Outcome)}

# Every status has exactly one outcome (tests/test_verdict.py walks the enum, so a new status
# cannot be half-wired).
STATUS_OUTCOME: Mapping[Status, Outcome] = {
    Status.OPEN: Outcome.OK,
    Status.TLS_OK: Outcome.OK,
    Status.BIND_OK: Outcome.OK,
    Status.REFUSED: Outcome.BLOCKED,
    Status.FILTERED: Outcome.BLOCKED,
    Status.UNREACHABLE: Outcome.BLOCKED,
    Status.TLS_FAILED: Outcome.FAILING,
    Status.BIND_FAILED: Outcome.FAILING,
    Status.BIND_INVALID_CREDENTIALS: Outcome.FAILING,
    Status.NOT_LOCAL: Outcome.UNVERIFIED,
    Status.UNTESTED: Outcome.UNVERIFIED,
    Status.SKIPPED: Outcome.UNVERIFIED,
    Status.IN_USE: Outcome.UNVERIFIED,
    Status.ERROR: Outcome.ERROR,
    # application probes: an answer proves the path; silence over UDP is a missing rule
    Status.NO_ANSWER: Outcome.BLOCKED,
    Status.RADIUS_ANSWERED: Outcome.OK,
    Status.KDC_ANSWERED: Outcome.OK,
    Status.DNS_ANSWERED: Outcome.OK,
    Status.NTP_ANSWERED: Outcome.OK,
    Status.SMTP_OK: Outcome.OK,
    Status.CLDAP_ANSWERED: Outcome.OK,
    Status.RADIUS_BAD_SECRET: Outcome.FAILING,
    Status.NTP_UNSYNCHRONIZED: Outcome.FAILING,
    Status.SMTP_FAILED: Outcome.FAILING,
    Status.BAD_REPLY: Outcome.FAILING,
    # Disagreeing evidence is never resolved silently: it is a finding beside conclusive
    # evidence, and nothing is proven where it is all there is.
    Status.CONFLICT: Outcome.ERROR,
}


def outcome_of(status: Status | None) -> Outcome:
    """The outcome of one status (None: no record for a required check)."""
    return Outcome.UNVERIFIED if status is None else STATUS_OUTCOME[status]


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of several outcomes (OK when there are none)."""
    return min(outcomes, key=OUTCOME_RANK.__getitem__, default=Outcome.OK)


def proves_reach(status: Status) -> bool:
    """The path is open: the check passed, or an application answered (and then failed)."""
    return STATUS_OUTCOME[status] in (Outcome.OK, Outcome.FAILING)


def proves_block(status: Status) -> bool:
    return STATUS_OUTCOME[status] is Outcome.BLOCKED


def is_conclusive(outcome: Outcome) -> bool:
    """Evidence about the path or the application (not: untested, not here, broken probe)."""
    return outcome in (Outcome.OK, Outcome.BLOCKED, Outcome.FAILING)


class FlowVerdict(StrEnum):
    """What a required flow needs from the firewall change (the plan's classification)."""

    OPEN = "open"  # reach proven: no rule
    MISSING = "missing"  # a proven block: a rule
    UNVERIFIED = "unverified"  # not proven either way: a rule unless only proven gaps are asked
    APP_FAILED = "app-failed"  # reachable, the application check failed: fix the provider
    NO_ADDRESS = "no-address"  # the destination is a name (--no-resolve): no rule can name it


class Verdict(StrEnum):
    """The verdict of a whole run."""

    COMPLIANT = "compliant"
    FINDINGS = "findings"
    INCOMPLETE = "incomplete"


EXIT_CODES: Mapping[Verdict, int] = {
    Verdict.COMPLIANT: 0,
    Verdict.FINDINGS: 1,
    Verdict.INCOMPLETE: 3,
}


def run_verdict(
    check_outcomes: Iterable[Outcome],
    *,
    lint_error: bool = False,
    state_error: bool = False,
    drift_matters: bool = False,
    server_ignores: bool = False,
) -> Verdict:
    """Compliant: every testable check ok, no lint error, no drift that matters. Findings: a
    check blocked or failing, an error beside conclusive evidence, a lint error or drift that
    matters, the pair's live state in error (a split brain), or a server that ignores
    addresses the firewall admits (`server_ignores`, the application allow-list finding).
    Incomplete: no check was conclusive (nothing could be proven from here) and there is no
    lint, state or allow-list finding."""
    outcomes = list(check_outcomes)
    config_error = lint_error or state_error or server_ignores
    if not any(is_conclusive(o) for o in outcomes):
        return Verdict.FINDINGS if config_error else Verdict.INCOMPLETE
    bad = any(o not in (Outcome.OK, Outcome.UNVERIFIED) for o in outcomes)
    if bad or config_error or drift_matters:
        return Verdict.FINDINGS
    return Verdict.COMPLIANT


def exit_code(verdict: Verdict) -> int:
    return EXIT_CODES[verdict]


# How bad a run verdict is, for a fleet of pairs: a pair that could not be judged is the worst
# (nothing can be vouched for there), then findings.
VERDICT_SEVERITY: Mapping[Verdict, int] = {
    Verdict.COMPLIANT: 0,
    Verdict.FINDINGS: 1,
    Verdict.INCOMPLETE: 2,
}


def worst_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The fleet's verdict: its worst pair's (compliant when there is none)."""
    return max(verdicts, key=VERDICT_SEVERITY.__getitem__, default=Verdict.COMPLIANT)


def got_worse(before: Verdict | None, after: Verdict) -> bool:
    """A pair's verdict is worse than its previous run's (a first run is not)."""
    return before is not None and VERDICT_SEVERITY[after] > VERDICT_SEVERITY[before]


class SourceVerdict(StrEnum):
    """One line per source address in the summary tables."""

    NOT_HERE = "not on this host"
    BLOCKED = "BLOCKED"
    FAILING = "FAILING"
    ERROR = "ERROR"
    UNVERIFIED = "unverified"
    OK = "ok"


def source_verdict(reach: Iterable[Status], outcomes: Iterable[Outcome]) -> SourceVerdict:
    """The verdict of one source address from its reachability statuses and all its checks'
    outcomes."""
    reach = list(reach)
    if reach and all(s is Status.NOT_LOCAL for s in reach):
        return SourceVerdict.NOT_HERE
    return {
        Outcome.BLOCKED: SourceVerdict.BLOCKED,
        Outcome.FAILING: SourceVerdict.FAILING,
        Outcome.ERROR: SourceVerdict.ERROR,
        Outcome.UNVERIFIED: SourceVerdict.UNVERIFIED,
        Outcome.OK: SourceVerdict.OK,
    }[worst(outcomes)]
