"""Missing-rule analysis: classify every required flow against its probe evidence, then fold
the flows that need a rule into as few exact rules as possible.

Classification (one verdict per flow):
- *open*: reachability proven (an `open`, `tls-*` or `bind-*` record); never gets a rule;
- *missing*: reachability evidence `filtered`, `refused` or `unreachable`: a proven gap;
- *unverified*: not testable from here (`not-local`, `untested`, an `error`, or no record);
  planned as `unverified` rules unless `only_proven`;
- *app-failed*: reachable, but TLS or the bind failed: listed with its cause, never a rule.

Aggregation is exact: the union of the planned rules is the set of flows that need one, nothing
more. Addresses are merged into CIDR blocks only where every address of the block is required,
ports are grouped into lists an iptables `multiport` match accepts (15 slots, a range uses two).
The planner works on integers and frozensets so 768,000 flows plan in about a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netaddr import IPAddress

from auditor.model.checks import REACH_CHECKS
from auditor.model.inventory import Flow, Protocol
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import FlowVerdict, Outcome, outcome_of, proves_block, proves_reach
from auditor.plan.aggregate import aggregate_cells
from auditor.plan.model import (
    CODE_MISSING,
    CODE_NO_ADDRESS,
    CODE_OPEN,
    CODE_UNVERIFIED,
    EVIDENCE_SAMPLE,
    AppFailure,
    Cell,
    CellKey,
    FlowEvidence,
    Plan,
    PlanCounts,
    SourceInfo,
)

# -- classification ------------------------------------------------------------------------


def _rank(status: Status) -> int:
    """Which of several reachability records for one flow wins: proof of reach, then proof of a
    block, then anything else."""
    if proves_reach(status):
        return 3
    if proves_block(status):
        return 2
    if status is Status.SKIPPED:
        return 0
    return 1


# The hot loop runs once per flow (768,000 in the benchmark). Enum members hash through Python
# code, so it looks them up by id() and keeps small ints and plain strings in its keys.
_CODE_OF = {
    id(s): CODE_OPEN if proves_reach(s) else CODE_MISSING if proves_block(s) else CODE_UNVERIFIED
    for s in Status
}
_RANK_OF = {id(s): _rank(s) for s in Status}
_APP_FAILED_IDS = frozenset(id(s) for s in Status if outcome_of(s) is Outcome.FAILING)
_PROTO_TEXT = {id(p): p.value for p in Protocol}
_VERDICTS = (FlowVerdict.OPEN, FlowVerdict.MISSING, FlowVerdict.UNVERIFIED, FlowVerdict.NO_ADDRESS)

_Key = tuple[str, str, str, int]


def _index(
    records: Iterable[ProbeRecord],
) -> tuple[dict[_Key, ProbeRecord], dict[_Key, list[ProbeRecord]]]:
    """The deciding reachability record per flow key, and the application failures."""
    best: dict[_Key, ProbeRecord] = {}
    failures: dict[_Key, list[ProbeRecord]] = {}
    skipped, no_answer = id(Status.SKIPPED), id(Status.NO_ANSWER)
    rank = _RANK_OF
    for rec in records:
        # str.__str__ turns a Protocol member into the plain string a results file holds.
        key = (rec.source, rec.destination, str.__str__(rec.protocol), rec.port)
        sid = id(rec.status)
        # A failed application check, or an application's silence: on a path other evidence
        # proves open (a ruleset that admits it) that is the server, not the firewall
        # (auditor.model.verdict.flow_outcomes); on any other it is the block that decides.
        if (sid in _APP_FAILED_IDS or sid == no_answer) and rec.check not in REACH_CHECKS:
            failures.setdefault(key, []).append(rec)
        if sid == skipped:
            continue
        prev = best.get(key)
        if prev is None or rank[sid] > rank[id(prev.status)]:
            best[key] = rec
    return best, failures


# -- the plan ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """What the one pass over the flows collects."""

    cells: dict[CellKey, Cell] = field(default_factory=dict)
    # id(source object) -> (address as an integer, its entry in the plan's source list)
    sources: dict[int, tuple[int, SourceInfo]] = field(default_factory=dict)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # by verdict code
    app_failed: int = 0
    failures: list[AppFailure] = field(default_factory=list)
    sample: list[FlowEvidence] = field(default_factory=list)
    on_link: list[FlowEvidence] = field(default_factory=list)


def make_plan(
    flows: Sequence[Flow],
    records: Iterable[ProbeRecord],
    *,
    site: str,
    only_proven: bool = False,
) -> Plan:
    """Classify `flows` against `records` and aggregate the ones that need a rule."""
    best, app_failures = _index(records)
    tally = _classify(flows, best, app_failures, only_proven)
    tally.failures.sort(key=lambda f: (f.provider, f.source, f.destination, f.port, f.check))
    counts = tally.counts
    return Plan(
        site=site,
        rules=aggregate_cells(tally.cells),
        counts=PlanCounts(
            required=len(flows),
            open=counts[CODE_OPEN],
            missing=counts[CODE_MISSING],
            unverified=counts[CODE_UNVERIFIED],
            app_failed=tally.app_failed,
            no_address=counts[CODE_NO_ADDRESS],
            on_link=len(tally.on_link),
        ),
        app_failures=tuple(tally.failures),
        evidence=tuple(tally.sample),
        sources=_merge_sources(tally.sources.values()),
        only_proven=only_proven,
        on_link=tuple(tally.on_link),
    )


def _classify(
    flows: Sequence[Flow],
    best: dict[_Key, ProbeRecord],
    app_failures: dict[_Key, list[ProbeRecord]],
    only_proven: bool,
) -> _Tally:
    """The hot loop, once per flow: its verdict, and the cell of the flows that need a rule.
    Rare work (a new address, a sampled flow) is in functions; the common path calls none."""
    tally = _Tally()
    cells, source_info, counts = tally.cells, tally.sources, tally.counts
    failures, sample = tally.failures, tally.sample
    # Addresses recur across flows (64 sources, a few thousand endpoints): convert each object
    # once. Keyed by id(): every object stays alive in `flows` for the whole call.
    addr_cache: dict[int, tuple[int, int, str]] = {}
    untested = id(Status.UNTESTED)
    code_of = _CODE_OF
    proto_text = _PROTO_TEXT
    for flow in flows:
        if flow.link:
            tally.on_link.append(_on_link(flow, best))
            continue
        s = flow.source
        sid = id(s)
        got = addr_cache.get(sid)
        if got is None:
            got = addr_cache[sid] = _address(s)
        family, src, src_text = got
        if sid not in source_info:
            source_info[sid] = (src, _source_info(flow, src_text))
        d = flow.destination
        got = addr_cache.get(id(d))
        if got is None:
            got = addr_cache[id(d)] = _address(d)
        dst, dst_text = got[1], got[2]
        ptext = proto_text[id(flow.protocol)]
        key = (src_text, dst_text, ptext, flow.port)
        rec = best.get(key)
        code = CODE_UNVERIFIED if rec is None else code_of[id(rec.status)]
        if code == CODE_OPEN:
            if app_failures and key in app_failures:
                tally.app_failed += 1
                failures.extend(_failure(r) for r in app_failures[key])
            else:
                counts[CODE_OPEN] += 1
            continue
        if dst < 0:
            code = CODE_NO_ADDRESS
        counts[code] += 1
        if len(sample) < EVIDENCE_SAMPLE:
            sample.append(_evidence(flow, (src_text, dst_text, ptext), code, rec))
        if code == CODE_NO_ADDRESS or (only_proven and code == CODE_UNVERIFIED):
            continue
        ckey = (code, family, ptext, dst, flow.port)
        cell = cells.get(ckey)
        if cell is None:
            cell = cells[ckey] = (set(), set(), set(), set())
        cell[0].add(src)
        cell[1].update(flow.providers)
        cell[2].add(flow.kind)
        cell[3].add(untested if rec is None else id(rec.status))
    return tally


def _on_link(flow: Flow, best: dict[_Key, ProbeRecord]) -> FlowEvidence:
    """An on-link flow, with what was seen of it: it gets no rule whatever the evidence."""
    source, destination, protocol, port = flow.key
    rec = best.get(flow.key)
    return FlowEvidence(
        source=source,
        destination=destination,
        protocol=protocol,
        port=port,
        providers=flow.providers,
        verdict=FlowVerdict.ON_LINK,
        status=rec.status if rec is not None else None,
        reason=f"on-link: source and destination share the connected subnet {flow.link}, so no "
        "firewall is between them and no rule can admit it",
        link=flow.link,
    )


def _address(address: IPAddress | str) -> tuple[int, int, str]:
    """(family, integer, text) of an address; a name (--no-resolve) is (0, -1, name)."""
    if isinstance(address, IPAddress):
        return address.version, address.value, str(address)
    return 0, -1, address


def _source_info(flow: Flow, text: str) -> SourceInfo:
    return SourceInfo(text, tuple(sorted(flow.appliances)), flow.source_role.value)


def _evidence(
    flow: Flow, texts: tuple[str, str, str], code: int, rec: ProbeRecord | None
) -> FlowEvidence:
    """One sampled flow that needs a rule (or cannot get one), with the record that says so."""
    source, destination, protocol = texts
    return FlowEvidence(
        source=source,
        destination=destination,
        protocol=protocol,
        port=flow.port,
        providers=flow.providers,
        verdict=_VERDICTS[code],
        status=rec.status if rec is not None else None,
        reason=rec.reason if rec is not None else "no probe record",
    )


def _merge_sources(infos: Iterable[tuple[int, SourceInfo]]) -> tuple[SourceInfo, ...]:
    """One entry per address (the same address can arrive as several objects)."""
    by_text: dict[str, tuple[tuple[int, int], SourceInfo]] = {}
    for value, seen in infos:
        version = 6 if ":" in seen.address else 4
        prev = by_text.get(seen.address)
        info = seen
        if prev is not None:
            info = SourceInfo(
                seen.address,
                tuple(sorted(set(prev[1].appliances) | set(seen.appliances))),
                seen.role,
            )
        by_text[seen.address] = ((version, value), info)
    return tuple(info for _, info in sorted(by_text.values(), key=lambda p: p[0]))


def _failure(rec: ProbeRecord) -> AppFailure:
    return AppFailure(
        source=rec.source,
        destination=rec.destination,
        protocol=rec.protocol,
        port=rec.port,
        provider=rec.provider,
        check=rec.check,
        status=rec.status,
        reason=rec.reason,
    )
