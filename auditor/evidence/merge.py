"""Several sources of evidence for the same flows (probe hosts, claimed addresses, the
firewall's ruleset) combined into one record per flow and check.

Conclusive evidence (the path open, blocked, or the application answering) beats evidence that
proves nothing (`not-local`, `in-use`, `untested`, `skipped`, a broken probe). Two conclusive
records that disagree become one `conflict` record naming both sources: never resolved
silently. So a probe on node A merged with a probe on node B equals one probe from a host that
holds both nodes' addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.verdict import Outcome, is_conclusive, outcome_of

_Key = tuple[tuple[str, str, str, int], str]

# Among inconclusive records, the most informative one is kept (a refusal to borrow an
# address says more than "not on this host").
_INCONCLUSIVE_RANK = {
    Status.ERROR: 0,
    Status.SKIPPED: 1,
    Status.NOT_LOCAL: 2,
    Status.UNTESTED: 3,
    Status.IN_USE: 4,
}


def _where(record: ProbeRecord) -> str:
    return f"{record.method.value} from {record.origin or 'an unnamed host'}"


def _combine(records: Sequence[ProbeRecord]) -> ProbeRecord:
    conclusive = [r for r in records if is_conclusive(outcome_of(r.status))]
    if not conclusive:
        return max(records, key=lambda r: _INCONCLUSIVE_RANK.get(r.status, 0))
    outcomes: dict[Outcome, ProbeRecord] = {}
    for rec in conclusive:
        outcomes.setdefault(outcome_of(rec.status), rec)
    if len(outcomes) == 1:
        # Agreeing sources: the first (in the order given) speaks for all.
        return conclusive[0]
    sides = "; ".join(
        f"{rec.status.value} ({_where(rec)}{': ' + rec.reason if rec.reason else ''})"
        for rec in outcomes.values()
    )
    first = conclusive[0]
    return replace(
        first,
        status=Status.CONFLICT,
        reason=f"the evidence disagrees: {sides}",
        method=Method.MERGED,
        origin=", ".join(dict.fromkeys(r.origin for r in conclusive if r.origin)),
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
