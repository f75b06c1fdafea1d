"""Several sources of evidence for the same flows (probe hosts, claimed addresses, the
firewall's ruleset) combined into one record per flow and check.

Conclusive evidence (the path open, blocked, or the application answering) beats evidence that
proves nothing (`not-local`, `in-use`, `untested`, `skipped`, a broken probe). Two conclusive
records that disagree become one `conflict` record naming both sources: never resolved
silently. A `conflict` merged before (another run's results) beats any single source and stays
a conflict, naming every side. So a probe on node A merged with a probe on node B equals one
probe from a host that holds both nodes' addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.verdict import Outcome, is_conclusive, outcome_of

_Key = tuple[tuple[str, str, str, int], str]

# Among inconclusive records, the most informative one is kept (a refusal to borrow an
# address says more than "not on this host"). An error is a finding wherever it came from: a
# host holding both nodes' addresses would have met it too, so it beats them all.
_INCONCLUSIVE_RANK = {
    Status.SKIPPED: 1,
    Status.NOT_LOCAL: 2,
    Status.UNTESTED: 3,
    Status.IN_USE: 4,
    Status.ERROR: 5,
}


DISAGREES = "the evidence disagrees: "


def _where(record: ProbeRecord) -> str:
    return f"{record.method.value} from {record.origin or 'an unnamed host'}"


def _side(rec: ProbeRecord) -> str:
    return f"{rec.status.value} ({_where(rec)}{': ' + rec.reason if rec.reason else ''})"


def _combine(records: Sequence[ProbeRecord]) -> ProbeRecord:
    conflicts = [r for r in records if r.status is Status.CONFLICT]
    conclusive = [r for r in records if is_conclusive(outcome_of(r.status))]
    if not conclusive and not conflicts:
        return max(records, key=lambda r: _INCONCLUSIVE_RANK.get(r.status, 0))
    outcomes: dict[Outcome, ProbeRecord] = {}
    for rec in conclusive:
        outcomes.setdefault(outcome_of(rec.status), rec)
    if len(outcomes) == 1 and not conflicts:
        # Agreeing sources: the first (in the order given) speaks for all.
        return conclusive[0]
    if len(conflicts) == 1 and not conclusive:
        return conflicts[0]
    # A conflict already merged elsewhere beats any single source: it stays a conflict, and
    # names every side it had and every side added here.
    sides = "; ".join(
        [r.reason.removeprefix(DISAGREES) for r in conflicts]
        + [_side(rec) for rec in outcomes.values()]
    )
    first = (conflicts or conclusive)[0]
    origins = (o for r in [*conflicts, *conclusive] for o in r.origin.split(", ") if o)
    return replace(
        first,
        status=Status.CONFLICT,
        reason=f"{DISAGREES}{sides}",
        method=Method.MERGED,
        origin=", ".join(dict.fromkeys(origins)),
        cert=None,
        latency_ms=None,
    )


def merge_records(sources: Iterable[Iterable[ProbeRecord]]) -> tuple[ProbeRecord, ...]:
    """One record per (flow key, check), in first-seen order."""
    grouped: dict[_Key, list[ProbeRecord]] = {}
    for records in sources:
        for rec in records:
            grouped.setdefault((rec.key, rec.check), []).append(rec)
    return tuple(_combine(group) for group in grouped.values())
