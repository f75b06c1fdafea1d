"""Evidence given to a run instead of (or besides) probing: results documents written by
`auditor probe` on one or several hosts, checked against the inventory and merged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.documents.jsonsource import locate
from auditor.errors import InputError, Problem, UsageError
from auditor.evidence.age import DEFAULT_MAX_AGE, span
from auditor.evidence.merge import merge_records
from auditor.inventory.secrets import register_configured_secrets
from auditor.model.inventory import PEER_PROVIDER, Flow, Inventory
from auditor.model.record import ProbeRecord, redacted
from auditor.model.results import ResultsDocument, read_results

# How far a record's `observed_at` may lie ahead of this host's clock (the probing host's clock
# may run a little ahead); beyond it the record is refused, not believed.
CLOCK_SKEW = timedelta(minutes=5)
# Evidence older than this is not proof of what the firewall does today (`--max-evidence-age`):
# its records are left out, so their flows count as having no evidence.


@dataclass(frozen=True, slots=True)
class GivenEvidence:
    records: tuple[ProbeRecord, ...]
    hosts: tuple[str, ...]  # the probing host of each document, in the order given
    warnings: tuple[str, ...] = ()


def _observed_at(value: str) -> datetime | None:
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00")) if value else None


def _future_problems(path: Path, doc: ResultsDocument, now: datetime) -> list[Problem]:
    """Records observed after `now` plus the clock skew: evidence from the future is refused."""
    latest = now + CLOCK_SKEW
    found = {
        f"records[{index}].observed_at": f"{rec.observed_at} is in the future (expected at most "
        f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes after this host's clock, "
        f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
        for index, rec in enumerate(doc.records)
        if (seen := _observed_at(rec.observed_at)) is not None and seen > latest
    }
    # Records without their own time take the document's: from the future, they never age.
    finished = _observed_at(doc.meta.finished_at)
    if finished is not None and finished > latest and any(not r.observed_at for r in doc.records):
        found["meta.finished_at"] = (
            f"{doc.meta.finished_at} is in the future and is the time of records without "
            f"observed_at (expected at most {int(CLOCK_SKEW.total_seconds() // 60)} minutes "
            f"after this host's clock, {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
        )
    if not found:
        return []
    lines = locate(path.read_text(encoding="utf-8"), found)
    return [Problem(str(path), lines.get(at), at, message) for at, message in found.items()]


def _fresh(
    path: Path, doc: ResultsDocument, now: datetime, max_age: timedelta | None
) -> tuple[list[ProbeRecord], str | None]:
    """The records observed within `max_age` of `now`, and a warning naming the file and the
    age of the ones left out (none: None). A record without `observed_at` takes the
    document's `finished_at`."""
    if max_age is None:
        return list(doc.records), None
    try:
        oldest = now - max_age
    except OverflowError:  # older than the calendar: any age
        return list(doc.records), None
    kept: list[ProbeRecord] = []
    stale: list[datetime] = []
    undated = 0
    for rec in doc.records:
        seen = _observed_at(rec.observed_at or doc.meta.finished_at)
        if seen is None:  # no time at all: its age is not known, so it proves nothing today
            undated += 1
        elif seen < oldest:
            stale.append(seen)
        else:
            kept.append(rec)
    if not stale and not undated:
        return kept, None
    left = len(stale) + undated
    which = "its records are" if not kept else f"{left} of its {len(doc.records)} records are"
    if stale:
        first = min(stale)
        age = f"observed {span(now - first)} ago ({first.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
        why = f"older than --max-evidence-age {span(max_age)} (the oldest {age})"
        if undated:
            why += f" or undated ({undated} without observed_at, and no finished_at)"
    else:
        why = (
            "undated (no observed_at, and the document has no finished_at), so not known to "
            f"be within --max-evidence-age {span(max_age)}"
        )
    return kept, (
        f"{path}: {which} {why} and are not used as proof: their flows count as having no evidence"
    )


def _outside(
    path: Path, records: Sequence[ProbeRecord], flows: Sequence[Flow]
) -> tuple[list[ProbeRecord], str | None]:
    """The records of required flows, and a warning naming the ones dropped (none: None)."""
    if not flows:
        return list(records), None
    keys = {flow.key for flow in flows}
    kept = [r for r in records if r.key in keys]
    dropped = [r for r in records if r.key not in keys]
    if not dropped:
        return kept, None
    first = dropped[0]
    return kept, (
        f"{path}: {len(dropped)} record(s) of flows this inventory does not require were "
        f"dropped (the first: {first.check} of {first.source} -> {first.destination} "
        f"{first.protocol}/{first.port})"
    )


def _record_problems(
    path: Path, doc: ResultsDocument, inventory: Inventory, flows: Sequence[Flow]
) -> list[Problem]:
    """Records no probe of this inventory writes: a source that is no address of the pair, a
    provider it does not name, the same flow and check twice with another answer."""
    sources = {str(a.ip) for appliance in inventory.pair.appliances for a in appliance.addresses}
    providers = {p for flow in flows for p in flow.providers}
    providers |= {provider.name for provider in inventory.providers} | {PEER_PROVIDER}
    seen: dict[tuple[tuple[str, str, str, int], str], int] = {}
    found: dict[str, str] = {}
    for index, rec in enumerate(doc.records):
        where = f"records[{index}]"
        first = seen.setdefault((rec.key, rec.check), index)
        if rec.source not in sources:
            found[f"{where}.source"] = f"{rec.source} is no address of the pair in this inventory"
        elif rec.provider and rec.provider not in providers:
            found[f"{where}.provider"] = f"{rec.provider} is no provider of this inventory"
        elif first != index and doc.records[first].status != rec.status:
            found[where] = (
                f"{rec.check} of {rec.source} -> {rec.destination} {rec.protocol}/{rec.port} is "
                f"also records[{first}], with another status (one probe writes one record)"
            )
    if not found:
        return []
    lines = locate(path.read_text(encoding="utf-8"), found)
    return [Problem(str(path), lines.get(at), at, message) for at, message in found.items()]


def load_evidence(
    paths: Sequence[Path],
    inventory: Inventory,
    *,
    any_inventory: bool = False,
    flows: Sequence[Flow] = (),
    now: datetime | None = None,
    max_age: timedelta | None = DEFAULT_MAX_AGE,
) -> GivenEvidence:
    """Read every results document (bad input raises before anything else happens), refuse one
    probed with another inventory unless `any_inventory`, refuse records no probe of this
    inventory writes or observed in the future, drop (and say so) records older than
    `max_age` (None: any age) and records of flows the inventory does not require, and merge
    the rest."""
    register_configured_secrets(inventory)  # what the files echo of them is redacted below
    documents = [(path, read_results(path)) for path in paths]
    moment = now or datetime.now(UTC)
    problems = [
        problem for path, doc in documents for problem in _future_problems(path, doc, moment)
    ]
    problems += [
        problem
        for path, doc in documents
        if doc.meta.inventory_digest == inventory.digest
        for problem in _record_problems(path, doc, inventory, flows)
    ]
    if problems:
        raise InputError(problems)
    warnings: list[str] = []
    for path, doc in documents:
        if doc.meta.inventory_digest == inventory.digest:
            continue
        message = (
            f"{path} was probed with another inventory or another version of it "
            f"({doc.meta.inventory}, {doc.meta.inventory_digest[:19]}...; this one "
            f"is {inventory.digest[:19]}...)"
        )
        if not any_inventory:
            # Evidence about other addresses would be called proven: refuse unless asked.
            raise UsageError(
                f"{message}: probe again with this inventory, or pass --any-inventory to use "
                "its evidence anyway"
            )
        warnings.append(f"{message}: flows it has no record of count as unverified")
    # Records written before records carried their origin take the document's host.
    per_document = []
    for path, doc in documents:
        fresh, stale = _fresh(path, doc, moment, max_age)
        if stale is not None:
            warnings.append(stale)
        kept, dropped = _outside(path, fresh, flows)
        if dropped is not None:
            warnings.append(dropped)
        per_document.append(
            [redacted(r if r.origin else replace(r, origin=doc.meta.probing_host)) for r in kept]
        )
    return GivenEvidence(
        records=merge_records(per_document),
        hosts=tuple(doc.meta.probing_host for _, doc in documents),
        warnings=tuple(warnings),
    )
