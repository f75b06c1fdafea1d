"""The only judgement in the product: status -> outcome -> flow outcome -> run verdict -> exit
code. `probe`, `audit`, `rules`, the plan, the tables, the reports and JUnit all ask here, so the
same evidence always gets the same verdict and the same exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    ON_LINK = "on-link"  # source and destination on one connected subnet: no firewall between


class Verdict(StrEnum):
    """The verdict of a whole run, and of every command that judges (see `EXIT_CODES`)."""

    COMPLIANT = "compliant"  # every required flow proven, nothing wrong
    FINDINGS = "findings"  # something is wrong (or the evidence disagrees)
    INCOMPLETE = "incomplete"  # no evidence decided anything
    UNPROVEN = "unproven"  # nothing wrong, but required flows no evidence decided


# The one table: every command's exit code comes from its verdict here (README, "Exit codes").
EXIT_CODES: Mapping[Verdict, int] = {
    Verdict.COMPLIANT: 0,
    Verdict.FINDINGS: 1,
    Verdict.INCOMPLETE: 3,
    Verdict.UNPROVEN: 4,
}


def exit_code(verdict: Verdict) -> int:
    return EXIT_CODES[verdict]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """How many unproven flows a user accepts knowingly (`--accept-unverified N` or `N%`);
    the default accepts none."""

    count: int = 0
    percent: float | None = None  # when given, `count` is ignored

    def allows(self, unproven: int, flows: int) -> bool:
        if self.percent is not None:
            return unproven * 100 <= self.percent * flows
        return unproven <= self.count

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)

    @classmethod
    def parse(cls, text: str) -> Acceptance | None:
        """`N` or `N%` (0-100); None when the text is neither."""
        digits = text.strip().removesuffix("%")
        if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
            return None
        if text.strip().endswith("%"):
            return cls(percent=float(digits)) if int(digits) <= 100 else None
        return cls(count=int(digits))


NO_ACCEPTANCE = Acceptance()


@dataclass(frozen=True, slots=True)
class Tally:
    """The required flows of a run by outcome (each flow by its worst check), and what the
    verdict needs besides: whether any evidence was conclusive, how many flows carry a
    conflict, and why the unproven ones are unproven (their deciding status, or no-record)."""

    flows: int = 0
    ok: int = 0
    blocked: int = 0
    failing: int = 0
    error: int = 0
    unverified: int = 0
    conflicts: int = 0
    conclusive: bool = False
    unproven: tuple[tuple[str, int], ...] = ()  # (status or "no-record", flows), sorted

    @property
    def bad(self) -> int:
        return self.blocked + self.failing + self.error

    @property
    def unproven_text(self) -> str:
        """`30 not-local, 2 untested`: why the unproven flows are unproven."""
        return ", ".join(f"{n} {why}" for why, n in self.unproven)


NO_RECORD = "no-record"


def flow_outcomes(statuses: Sequence[Status | None]) -> list[Outcome]:
    """The outcome of each check of one flow. One status depends on the rest: an application's
    silence (`no-answer`) on a path other evidence proves open (`open`: a ruleset that admits
    it) is the server ignoring the address, not the firewall: failing, not blocked. The plan
    counts it the same way (reachable, no rule)."""
    path_open = Status.OPEN in statuses
    return [
        Outcome.FAILING if path_open and s is Status.NO_ANSWER else outcome_of(s) for s in statuses
    ]


def tally(flows: Iterable[Sequence[Status | None]]) -> Tally:
    """Tally flows given as the statuses of their checks (None: no record for that check)."""
    counts = dict.fromkeys(Outcome, 0)
    why: dict[str, int] = {}
    total = conflicts = 0
    conclusive = False
    for statuses in flows:
        total += 1
        outcomes = flow_outcomes(statuses)
        outcome = worst(outcomes)
        counts[outcome] += 1
        if Status.CONFLICT in statuses:
            conflicts += 1
        if not conclusive:
            conclusive = Status.CONFLICT in statuses or any(is_conclusive(o) for o in outcomes)
        if outcome is Outcome.UNVERIFIED:
            first = next(s for s, o in zip(statuses, outcomes, strict=True) if o is outcome)
            reason = first.value if first is not None else NO_RECORD
            why[reason] = why.get(reason, 0) + 1
    return Tally(
        flows=total,
        ok=counts[Outcome.OK],
        blocked=counts[Outcome.BLOCKED],
        failing=counts[Outcome.FAILING],
        error=counts[Outcome.ERROR],
        unverified=counts[Outcome.UNVERIFIED],
        conflicts=conflicts,
        conclusive=conclusive,
        unproven=tuple(sorted(why.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def run_verdict(
    flows: Tally,
    *,
    lint_error: bool = False,
    state_error: bool = False,
    drift_matters: bool = False,
    server_ignores: bool = False,
    change_unproven: bool = False,
    accept: Acceptance = NO_ACCEPTANCE,
) -> Verdict:
    """The verdict of `probe`, `audit`, `rules` and `evaluate` (each gives what it has).

    Findings: a conflict (disagreeing evidence is never resolved silently, even when it is all
    there is); a check blocked, failing or broken beside conclusive evidence; a lint error; the
    pair's live state in error (a split brain); a server that ignores addresses the firewall
    admits (`server_ignores`); drift that matters; a change not proven against the ruleset.
    Incomplete: no evidence decided anything and there is no lint, state, allow-list or proof
    finding (nothing could be proven from here). Unproven: nothing wrong, but more required
    flows than `accept` allows were decided by no evidence. Compliant: the rest."""
    if flows.conflicts:
        return Verdict.FINDINGS
    config_error = lint_error or state_error or server_ignores or change_unproven
    if not flows.conclusive:
        return Verdict.FINDINGS if config_error else Verdict.INCOMPLETE
    if flows.bad or config_error or drift_matters:
        return Verdict.FINDINGS
    if not accept.allows(flows.unverified, flows.flows):
        return Verdict.UNPROVEN
    return Verdict.COMPLIANT


def lint_verdict(errors: int) -> Verdict:
    """`check`: an error-level lint finding is a finding; warnings are not."""
    return Verdict.FINDINGS if errors else Verdict.COMPLIANT


def state_verdict(errors: int) -> Verdict:
    """`state`: an error-level finding of the pair's live state (an IP conflict, two
    primaries, an appliance that cannot be asked) is a finding; warnings are not."""
    return Verdict.FINDINGS if errors else Verdict.COMPLIANT


def drift_verdict(matters: bool | None, newest: Verdict) -> Verdict:
    """`drift`: findings when a change matters. Without a baseline (`matters` None: no
    compliant run yet) the newest run's own verdict stands."""
    if matters is None:
        return newest
    return Verdict.FINDINGS if matters else Verdict.COMPLIANT


def claim_check_verdict(in_use: int) -> Verdict:
    """`claim check`: a planned address someone else holds is a finding."""
    return Verdict.FINDINGS if in_use else Verdict.COMPLIANT


# How bad a run verdict is, for a fleet of pairs: a pair that could not be judged is the worst
# (nothing can be vouched for there), then findings.
VERDICT_SEVERITY: Mapping[Verdict, int] = {
    Verdict.COMPLIANT: 0,
    Verdict.UNPROVEN: 1,  # nothing wrong found, but not everything proven
    Verdict.FINDINGS: 2,
    Verdict.INCOMPLETE: 3,
}


def worst_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The fleet's verdict: its worst pair's (incomplete when there is none: a fleet with no
    judged pair proves nothing, and a mistyped store must not pass a gate)."""
    return max(verdicts, key=VERDICT_SEVERITY.__getitem__, default=Verdict.INCOMPLETE)


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
