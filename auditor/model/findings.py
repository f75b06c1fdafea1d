"""A finished audit run, its verdict and exit code, and how each flow fared.

The audit command builds an `AuditRun` from the stages (inventory, lint, flows, probes, plan);
reports, JUnit, the history store and drift all read it. Nothing here touches the network or a
clock: timestamps are data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from auditor.documents.fields import NAME, OMIT, As, Via, in_range
from auditor.model.allowlist import AllowListFinding
from auditor.model.checks import transport_check
from auditor.model.inventory import Flow, Inventory, flow_sort_key
from auditor.model.inventory_copy import inventory_from_json, inventory_to_json
from auditor.model.livestate import LiveState
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import (
    EXIT_CODES,
    NO_ACCEPTANCE,
    Acceptance,
    Outcome,
    Tally,
    Verdict,
    flow_outcomes,
    outcome_of,
    run_verdict,
    tally,
    worst,
)


class LintLike(Protocol):
    """What the reports need of a lint finding (auditor.lint.LintFinding has these fields)."""

    @property
    def rule(self) -> str: ...
    @property
    def severity(self) -> object: ...  # a str or StrEnum: "error", "warning", ...
    @property
    def field(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def hint(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredLintFinding:
    """A lint finding read back from the history store or a run document (and the JSON shape
    every finding is written in)."""

    rule: str
    severity: str
    field: str = ""
    line: Annotated[int, in_range(1, 10**9, "a line number")] | None = None
    message: str
    hint: str = ""


def is_lint_error(finding: LintLike) -> bool:
    return str(finding.severity).lower() == "error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One required check of one flow, and the record that answers it (None: not probed)."""

    check: str
    record: ProbeRecord | None
    # Another record of the flow proves its path open (auditor.model.verdict.flow_outcomes).
    path_open: bool = False

    @property
    def status(self) -> str:
        return self.record.status.value if self.record is not None else "no-record"

    @property
    def reason(self) -> str:
        if self.record is None:
            return "no probe record for this check"
        return self.record.reason

    @property
    def outcome(self) -> Outcome:
        status = self.record.status if self.record is not None else None
        if self.path_open:
            return flow_outcomes([Status.OPEN, status])[1]
        return outcome_of(status)


@dataclass(frozen=True, slots=True)
class FlowResult:
    """A required flow with its checks, reachability first."""

    flow: Flow
    checks: tuple[CheckResult, ...]

    @property
    def outcome(self) -> Outcome:
        return worst(c.outcome for c in self.checks)

    @property
    def reach(self) -> CheckResult:
        return self.checks[0]

    @property
    def summary(self) -> str:
        """`open, tls-ok, bind-ok`: the status of each check, in order."""
        return ", ".join(c.status for c in self.checks)

    @property
    def reasons(self) -> str:
        return "; ".join(
            f"{c.check}: {c.reason}"
            for c in self.checks
            # A check skipped after an earlier failure adds nothing the failure does not say.
            if c.outcome is not Outcome.OK
            and c.reason
            and not (c.record is not None and c.record.status is Status.SKIPPED)
        )


@dataclass(frozen=True, slots=True)
class AuditRun:
    """Everything one audit found. `started_at`/`finished_at` are ISO 8601 UTC strings."""

    run_id: str
    site: Annotated[str, NAME]
    started_at: str
    finished_at: str
    inventory_digest: str
    # Written and read by the inventory's definition (auditor.model.inventory_spec).
    inventory: Annotated[Inventory, Via(inventory_to_json, inventory_from_json)]
    flows: tuple[Flow, ...]
    records: tuple[ProbeRecord, ...]
    verdict: Verdict
    lint: tuple[Annotated[LintLike, As(StoredLintFinding)], ...] = ()
    snippets: Mapping[str, str] = field(default_factory=dict)
    # The pair's live state from the appliances' health API (auditor.health.render.live_state),
    # when the inventory has `health:` blocks; None otherwise.
    live_state: Annotated[LiveState | None, OMIT] = None
    # Servers that answer some of the pair's addresses and ignore others the firewall admits
    # (auditor.evidence.allowlist): each one a finding.
    allowlist: Annotated[tuple[AllowListFinding, ...], OMIT] = ()
    # How many unproven flows the user accepted (`--accept-unverified`: N or N%); "": none.
    accept_unverified: Annotated[str, OMIT] = ""

    @property
    def accepted(self) -> Acceptance:
        return Acceptance.parse(self.accept_unverified or "0") or NO_ACCEPTANCE

    @property
    def state_errors(self) -> int:
        return self.live_state.errors if self.live_state is not None else 0

    @property
    def live_status(self) -> str | None:
        """primary-active, backup-active, split-brain or unknown (None: not asked)."""
        return self.live_state.status.value if self.live_state is not None else None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def flow_results(self) -> tuple[FlowResult, ...]:
        return flow_results(self.flows, self.records)

    def lint_errors(self) -> int:
        return sum(1 for f in self.lint if is_lint_error(f))


def required_checks(flow: Flow) -> tuple[str, ...]:
    """The checks a flow is tested with, reachability first (decided once, by the registry,
    when the flow was built)."""
    return tuple(c.value for c in flow.checks)


def flow_results(flows: Iterable[Flow], records: Iterable[ProbeRecord]) -> tuple[FlowResult, ...]:
    """Pair each required flow and check with its record; deterministic order. Evidence about a
    flow's path (a ruleset's record under `tcp`/`udp`) counts for the flow whatever its
    application checks: a RADIUS flow the ruleset drops is blocked, not `not-local`."""
    by_key: dict[tuple[tuple[str, str, str, int], str], ProbeRecord] = {}
    for rec in records:
        # The first record of a check wins: a probe that retried keeps one record anyway.
        by_key.setdefault((rec.key, rec.check), rec)
    results = []
    for flow in sorted(flows, key=flow_sort_key):
        names = required_checks(flow)
        path = transport_check(flow.protocol.value).value
        if path not in names and (flow.key, path) in by_key:
            names = (path, *names)
        found = [by_key.get((flow.key, check)) for check in names]
        path_open = any(r is not None and r.status is Status.OPEN for r in found)
        checks = tuple(
            CheckResult(check, rec, path_open) for check, rec in zip(names, found, strict=True)
        )
        results.append(FlowResult(flow, checks))
    return tuple(results)


def tally_results(results: Iterable[FlowResult]) -> Tally:
    """The flows by outcome, with what the verdict needs (auditor.model.verdict.tally)."""
    return tally(
        tuple(c.record.status if c.record is not None else None for c in r.checks) for r in results
    )


@dataclass(frozen=True, slots=True)
class Counts:
    flows: int
    ok: int
    blocked: int
    failed: int
    error: int
    unverified: int
    lint_errors: int


def count(results: Iterable[FlowResult], lint: Iterable[LintLike] = ()) -> Counts:
    """Flows by outcome (each flow counted once, by its worst check)."""
    tally = dict.fromkeys(Outcome, 0)
    total = 0
    for r in results:
        tally[r.outcome] += 1
        total += 1
    return Counts(
        flows=total,
        ok=tally[Outcome.OK],
        blocked=tally[Outcome.BLOCKED],
        failed=tally[Outcome.FAILING],
        error=tally[Outcome.ERROR],
        unverified=tally[Outcome.UNVERIFIED],
        lint_errors=sum(1 for f in lint if is_lint_error(f)),
    )


def compute_verdict(
    flows: Iterable[Flow],
    records: Iterable[ProbeRecord],
    lint: Iterable[LintLike] = (),
    *,
    drift_matters: bool = False,
    live_state: LiveState | None = None,
    allowlist: Iterable[AllowListFinding] = (),
    change_unproven: bool = False,
    accept: Acceptance = NO_ACCEPTANCE,
) -> Verdict:
    """The run verdict of these flows and records (see `auditor.model.verdict.run_verdict`)."""
    return run_verdict(
        tally_results(flow_results(flows, records)),
        lint_error=any(is_lint_error(f) for f in lint),
        state_error=live_state is not None and live_state.errors > 0,
        drift_matters=drift_matters,
        server_ignores=any(True for _ in allowlist),
        change_unproven=change_unproven,
        accept=accept,
    )


def path_verdict(records: Iterable[ProbeRecord]) -> Verdict:
    """The verdict of evidence about paths only (`evaluate`: one ruleset record per flow)."""
    return run_verdict(tally((r.status,) for r in records))
