"""A fleet run: every pair of every site read and checked first (`ready_fleet`), then the
evidence gathered site by site in parallel (probes over SSH at the sites that have a probe
host, here for the others), then each pair judged by the one audit (`run_audit`), its report
folder written and its run recorded, exactly as `auditor audit --evidence` does.

Nothing here prints: progress and warnings go to the observer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.util
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from auditor.claim.detect import inspect_parent
from auditor.claim.request import claim_addresses
from auditor.errors import AuditorError, InputError, Problem, ResolveError, RunError, UsageError
from auditor.evidence.load import DEFAULT_MAX_AGE, load_evidence
from auditor.fleet.load import load_fleet, notify_secret_problems
from auditor.fleet.local import probe_here
from auditor.fleet.notify import compose, pair_news, send, unjudged_message
from auditor.fleet.report import write_fleet_report
from auditor.fleet.spec import FleetSpec, NotifyOn, NotifyTarget, PairSpec, SiteSpec
from auditor.fleet.split import split_map
from auditor.fleet.ssh import KEEPALIVE_S, RemoteAnswer, SiteFailure, probe_site
from auditor.history import DEFAULT_STORE
from auditor.history.location import StoreLocation, sqlite_location
from auditor.history.store import DamagedRun, Store
from auditor.model.inventory import Flow
from auditor.model.record import Method, ProbeRecord, Status, flow_record
from auditor.model.results import utc_stamp
from auditor.model.verdict import Verdict, worst_verdict
from auditor.probe.bundle import BundleClaim, make_bundle
from auditor.probe.engine import ProbeOptions, probe_flows
from auditor.probe.preflight import preflight
from auditor.report.folder import check_fleet_folder, check_report_folder
from auditor.run import AuditRequest, AuditResult, ReadyAudit, keep_audit, ready_audit, run_audit

READ_SPLIT_MIN = 64  # pairs: a smaller fleet is read here alone (the fork costs more)
PROBES_DIR = "probes"  # <output>/probes/<site>/<pair>.results.json: what each probe host said
DEFAULT_SITE_TIMEOUT_S = 3600.0


@dataclass(frozen=True, slots=True)
class FleetRequest:
    fleet: Path
    output_dir: Path | None = None  # None: reports/fleet-<UTC timestamp>/
    store: StoreLocation | None = None  # overrides the fleet file's `store:`
    notify: tuple[NotifyTarget, ...] = ()  # added to the fleet file's `notify:`
    notify_on: NotifyOn | None = None  # overrides the fleet file's `notify_on:`
    concurrency: int = 4  # sites probed at once
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    site_timeout: float = DEFAULT_SITE_TIMEOUT_S
    ssh_keepalive: float = KEEPALIVE_S  # seconds between SSH keepalives to a probe host
    max_evidence_age: timedelta | None = DEFAULT_MAX_AGE  # older evidence is no proof


@dataclass(frozen=True, slots=True)
class ReadyPair:
    site: SiteSpec
    spec: PairSpec
    ready: ReadyAudit
    bundle: str | None = None  # its part of the site's bundle (None: no remote probe)
    previous: Verdict | None = None  # its verdict in its newest run when the fleet was read
    damaged: str | None = None  # why its history cannot be trusted: not probed, incomplete

    @property
    def name(self) -> str:
        return self.ready.inventory.site.name

    @property
    def probes_here(self) -> bool:
        """Probed in this process: no probe host, no claim (a claim is probed by an `auditor
        probe -` of its own, as at a probe host), and no evidence files given instead."""
        return (
            self.site.probe_host is None
            and self.spec.claim is None
            and self.ready.evidence is None
            and self.damaged is None
        )

    @property
    def where(self) -> str:
        """Where the pair is probed, as messages name it."""
        return str(self.site.probe_host) if self.site.probe_host is not None else "this host"


@dataclass(frozen=True, slots=True)
class ReadyFleet:
    spec: FleetSpec
    request: FleetRequest
    pairs: tuple[ReadyPair, ...]
    store: Store
    output: Path
    notify: tuple[NotifyTarget, ...]
    notify_on: NotifyOn


@dataclass(frozen=True, slots=True)
class PairOutcome:
    site: str
    pair: str
    result: AuditResult
    folder: Path
    previous: Verdict | None  # the pair's verdict in its run before this one
    failure: str | None = None  # why its site could not be probed (None: it was)
    damaged: bool = False  # its history could not be read: no verdict before is known

    @property
    def verdict(self) -> Verdict:
        return self.result.run.verdict


@dataclass(frozen=True, slots=True)
class FleetResult:
    outcomes: tuple[PairOutcome, ...]
    failures: Mapping[str, str]  # site -> why it could not be probed
    started_at: str
    finished_at: str

    @property
    def verdict(self) -> Verdict:
        return worst_verdict(o.verdict for o in self.outcomes)


class FleetObserver(Protocol):
    def site_failed(self, site: str, reason: str) -> None: ...
    def pair_done(self, outcome: PairOutcome) -> None: ...
    def warning(self, text: str) -> None: ...


class _Quiet:
    def site_failed(self, site: str, reason: str) -> None:
        pass

    def warning(self, text: str) -> None:
        pass

    def pair_done(self, outcome: PairOutcome) -> None:
        pass


def default_output(now: datetime) -> Path:
    return Path("reports") / f"fleet-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def ready_fleet(
    request: FleetRequest, *, now: datetime | None = None, helpers: int | None = None
) -> ReadyFleet:
    """Read and check the fleet file and every input of every pair (inventories, packs,
    rulesets, evidence, CA files, secrets, the store, the baselines); every problem of every
    pair in one InputError. Touches no network; writes nothing but the store's schema. The
    pairs are read by this process and `helpers` forked ones at once (default: one per other
    CPU for a fleet of READ_SPLIT_MIN pairs or more; the same pairs, problems and order)."""
    spec = load_fleet(request.fleet)
    location = request.store or spec.store or sqlite_location(DEFAULT_STORE)
    output = (request.output_dir or default_output(now or datetime.now(UTC))).absolute()
    check_fleet_folder(output)
    entries = [
        (f"sites[{s}].pairs[{p}]", site, pair)
        for s, site in enumerate(spec.sites)
        for p, pair in enumerate(site.pairs)
    ]

    def read(i: int) -> ReadyPair | tuple[Problem, ...]:
        where, site, pair = entries[i]
        try:
            return _ready_pair(request, location, site, pair, output)
        except InputError as exc:
            return tuple(exc.problems)
        except (UsageError, ResolveError) as exc:
            return (Problem(str(spec.source), pair.line, where, str(exc).replace("\n", "; ")),)

    if helpers is None:
        helpers = cpus() - 1 if len(entries) >= READ_SPLIT_MIN else 0
    problems: list[Problem] = []
    pairs: list[ReadyPair] = []
    seen: dict[str, str] = {}
    found = split_map(read, len(entries), helpers=helpers)
    for (where, site, pair), ready in zip(entries, found, strict=True):
        if pair.claim is not None and site.probe_host is None:
            why = local_claim_problem(pair.claim.parent)
            if why is not None:
                problems.append(Problem(str(spec.source), pair.claim_line, f"{where}.claim", why))
        if isinstance(ready, tuple):
            problems.extend(ready)
        elif ready.name in seen:
            first = seen[ready.name]
            why = f"pair {ready.name} is audited twice (first at {first}; each pair once)"
            problems.append(Problem(str(spec.source), pair.line, where, why))
        else:
            seen[ready.name] = where
            pairs.append(ready)
    problems += notify_secret_problems(spec, request.notify, [p.ready.inventory for p in pairs])
    if problems:
        raise InputError(problems)
    store = Store(location)
    store.ensure()  # a bad or foreign store fails here, before anything is probed
    pairs = [replace(p, ready=replace(p.ready, store=store)) for p in pairs]
    return ReadyFleet(
        spec=spec,
        request=request,
        pairs=tuple(_with_baselines(store, pairs)),
        store=store,
        output=output,
        notify=(*spec.notify, *request.notify),
        notify_on=request.notify_on or spec.notify_on or NotifyOn.FINDINGS,
    )


def _ready_pair(
    request: FleetRequest, location: StoreLocation, site: SiteSpec, pair: PairSpec, output: Path
) -> ReadyPair:
    audit = AuditRequest(
        inventory=pair.inventory,
        probe=request.probe,
        evidence=pair.evidence,
        max_evidence_age=request.max_evidence_age,
        ruleset=pair.ruleset,
        ipset=pair.ipset,
    )
    ready = ready_audit(audit)  # the store is opened once, after every pair passed
    folder = output / site.name / ready.inventory.site.name
    check_report_folder(folder)
    ready = replace(ready, request=replace(audit, output_dir=folder, store=location))
    bundle = None
    if site.probe_host is not None or pair.claim is not None:
        flows = ready.prepared.flows
        passwords = ready.passwords or preflight(ready.inventory, flows)
        claim = None
        if pair.claim is not None:
            claim = BundleClaim(
                interface=pair.claim.parent,
                addresses=tuple(claim_addresses(ready.inventory, flows)),
                mode=pair.claim.mode.value if pair.claim.mode is not None else None,
                gateways=pair.claim.gateways,
            )
        bundle = make_bundle(
            ready.inventory.site.name, ready.inventory, flows, passwords, request.probe, claim=claim
        )
    return ReadyPair(site=site, spec=pair, ready=ready, bundle=bundle)


def local_claim_problem(interface: str) -> str | None:
    """Why this host cannot claim on `interface` for a site without a probe host (not root,
    no such interface, down, no layer 2), or None. Read only: nothing is sent."""
    if os.geteuid() != 0:
        return (
            "claim mode on this host (the site has no probe_host) needs root: it creates "
            "network namespaces and sends ARP probes (run the fleet as root, or probe the pair "
            "from a probe_host)"
        )
    try:
        inspect_parent(interface)
    except UsageError as exc:
        return str(exc).replace(f"--claim {interface}: ", f"interface {interface}: ", 1)
    return None


def _with_baselines(store: Store, pairs: list[ReadyPair]) -> list[ReadyPair]:
    """Each pair compared with its last compliant run, when the store has one, else with its
    newest run (a pair never green that gets more blocked flows has drift that matters too,
    told and reported, though not an input of its verdict); and its newest run's verdict (its
    `previous`): one read of its runs for all. The fleet records each pair once, so that
    newest run is still the one before the fleet's when it is judged."""
    found = []
    for pair in pairs:
        try:
            runs = store.list_runs(pair.name)
            green = [r.run_id for r in runs if r.verdict == Verdict.COMPLIANT.value]
            base = store.load_run(green[-1] if green else runs[-1].run_id) if runs else None
        except DamagedRun as exc:  # that pair alone: its baseline cannot be trusted
            found.append(replace(pair, damaged=str(exc)))
            continue
        if base is not None:
            pair = replace(  # noqa: PLW2901
                pair, ready=replace(pair.ready, baseline=base, baseline_judges=bool(green))
            )
        if runs and _is_verdict(runs[-1].verdict):
            pair = replace(pair, previous=Verdict(runs[-1].verdict))  # noqa: PLW2901
        found.append(pair)
    return found


# ---- the run ---------------------------------------------------------------------------

Found = tuple[ProbeRecord, ...] | RemoteAnswer | SiteFailure
Evidence = dict[str, Found]


def gather(ready: ReadyFleet, deliver: Callable[[str, Found], None] | None = None) -> Evidence:
    """Per pair: the records probed here, the probe host's answer, or why its site failed.
    Sites run in parallel, at most `concurrency` at once. `deliver(pair, found)` is called as
    each pair's evidence arrives (a site that fails part-way: its pairs not answered yet get
    the failure)."""
    request = ready.request
    by_site: dict[str, list[ReadyPair]] = {}
    for pair in ready.pairs:
        by_site.setdefault(pair.site.name, []).append(pair)
    merged: Evidence = {}

    def found(name: str, what: Found) -> None:
        merged[name] = what
        if deliver is not None:
            deliver(name, what)

    async def site_job(pairs: list[ReadyPair]) -> None:
        host = pairs[0].site.probe_host
        bundles = {p.name: p.bundle for p in pairs if p.bundle is not None and p.damaged is None}
        claims = any(p.spec.claim is not None for p in pairs)
        try:
            if host is not None:
                await probe_site(
                    host,
                    bundles,
                    timeout=request.site_timeout,
                    keepalive=request.ssh_keepalive,
                    on_answer=found,
                    claims=claims,
                )
                return
            if bundles:  # claims on this host: an `auditor probe -` here, as at a probe host
                await probe_here(bundles, timeout=request.site_timeout, on_answer=found)
        except SiteFailure as failure:
            for name in bundles:
                if name not in merged:
                    found(name, failure)
        for pair in pairs:
            if pair.probes_here:
                records = await asyncio.to_thread(
                    probe_flows,
                    pair.ready.prepared.flows,
                    pair.ready.inventory.providers,
                    pair.ready.passwords,
                    request.probe,
                )
                found(pair.name, records)

    async def main() -> None:
        gate = asyncio.Semaphore(request.concurrency)

        async def bounded(pairs: list[ReadyPair]) -> None:
            async with gate:
                await site_job(pairs)

        await asyncio.gather(*(bounded(p) for p in by_site.values()))

    asyncio.run(main())
    return merged


def unreachable_records(
    flows: tuple[Flow, ...], origin: str, reason: str, at: str
) -> tuple[ProbeRecord, ...]:
    """Every required check of every flow `error`, with why: the site could not be probed,
    so nothing about these flows is known (the one verdict makes that incomplete)."""
    return tuple(
        flow_record(
            flow,
            check,
            Status.ERROR,
            reason=reason,
            attempts=0,
            method=Method.PROBE,
            origin=origin,
            observed_at=at,
        )
        for flow in flows
        for check in flow.checks
    )


def _given(pair: ReadyPair, answer: RemoteAnswer, output: Path) -> ReadyAudit:
    """The pair's audit with the probe host's results document as one more evidence file,
    merged with its other evidence and ruleset as `audit --evidence` does."""
    path = output / PROBES_DIR / pair.site.name / f"{pair.name}.results.json"
    if not answer.document.strip():
        why = answer.error or f"exit status {answer.exit_status}, no results document"
        raise SiteFailure(f"{pair.where}: `auditor probe` failed for {pair.name}: {why}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(answer.document, encoding="utf-8")
    try:
        given = load_evidence(
            (path, *pair.spec.evidence),
            pair.ready.inventory,
            flows=pair.ready.prepared.flows,
            max_age=pair.ready.request.max_evidence_age,
        )
    except AuditorError as exc:
        first = str(exc).split("\n")[0]
        raise SiteFailure(f"{pair.where}: its results document is refused: {first}") from None
    return replace(pair.ready, evidence=given)


def _judge(
    pair: ReadyPair, found: Found | None, output: Path, clock: Callable[[], datetime]
) -> tuple[ReadyAudit, AuditResult, str | None]:
    ready = pair.ready
    if pair.damaged is not None:  # not probed: nothing is known, and why is recorded
        reason = f"not audited: its history is damaged: {pair.damaged}"
        records = unreachable_records(ready.prepared.flows, "history", reason, utc_stamp(clock()))
        ready = replace(ready, evidence=None, from_ruleset=(), ruleset=None)
        return ready, run_audit(ready, prober=lambda *_a, **_k: records), None
    if isinstance(found, RemoteAnswer):
        try:
            ready = _given(pair, found, output)
        except SiteFailure as failure:
            found = failure
    if isinstance(found, SiteFailure):
        reason = str(found)
        records = unreachable_records(ready.prepared.flows, pair.where, reason, utc_stamp(clock()))
        ready = replace(ready, evidence=None, from_ruleset=(), ruleset=None)
        return ready, run_audit(ready, prober=lambda *_a, **_k: records), reason
    if isinstance(found, tuple):
        records = found
        return ready, run_audit(ready, prober=lambda *_a, **_k: records), None
    return ready, run_audit(ready), None


def run_fleet(
    ready: ReadyFleet,
    *,
    observer: FleetObserver | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    workers: int | None = None,
) -> FleetResult:
    """Gather the evidence, then judge, write and record each pair. With more than one worker
    (default: --concurrency, at most the CPUs this process may use, at most the pairs) the
    pairs are judged in worker processes as their evidence arrives, while the other sites
    still probe; each worker records its pairs through the store's own transactions. The
    outcomes, the observer's calls and the report folders are those of judging the pairs one
    after another, in the fleet file's order."""
    watch = observer or _Quiet()
    started = clock()
    count = workers if workers is not None else default_workers(ready)
    judged: dict[str, Judged] = {}
    if count <= 1:
        evidence = gather(ready)
        for pair in ready.pairs:
            judged[pair.name] = judge_pair(ready, pair, evidence.get(pair.name), clock)
    else:
        _fleet_in_workers(ready, clock)
        index = {p.name: i for i, p in enumerate(ready.pairs)}
        pool = _pool(count)
        try:
            waiting: dict[str, Future[Answer]] = {}

            def deliver(name: str, found: Found) -> None:
                waiting[name] = pool.submit(_judge_at, index[name], found)

            evidence = gather(ready, deliver)
            for pair in ready.pairs:  # pairs no site delivered: judged as one alone would
                if pair.name not in waiting:
                    waiting[pair.name] = pool.submit(_judge_at, index[pair.name], None)
            for pair in ready.pairs:
                judged[pair.name] = _unwrap(waiting[pair.name].result())
        except BrokenProcessPool:
            _tell_unjudged(ready, waiting, watch)
            raise RunError(
                "a worker judging the fleet's pairs ended abruptly (killed, or out of memory); "
                "the pairs it had recorded are in the store, the fleet report was not written"
            ) from None
        finally:
            pool.shutdown(cancel_futures=True)
            _fleet_in_workers(None, clock)
    failures: dict[str, str] = {}
    outcomes: list[PairOutcome] = []
    for pair in ready.pairs:
        result, folder, previous, failure, warnings = judged[pair.name]
        for warning in (*warnings, *_why_not_audited(pair)):  # the evidence loader's: stale
            watch.warning(f"{pair.name}: {warning}")  # or foreign records; a damaged history
        if failure is not None and pair.site.name not in failures:
            failures[pair.site.name] = failure
            watch.site_failed(pair.site.name, failure)
        outcome = PairOutcome(
            pair.site.name, pair.name, result, folder, previous, failure, pair.damaged is not None
        )
        outcomes.append(outcome)
        watch.pair_done(outcome)
    done = FleetResult(tuple(outcomes), failures, utc_stamp(started), utc_stamp(clock()))
    try:
        write_fleet_report(ready.store, ready.output, {p.name: p.site.name for p in ready.pairs})
    finally:  # the runs are recorded: their message goes out even when the report cannot
        if ready.notify:
            news = [pair_news(o) for o in outcomes]
            message = compose(news, ready.notify_on, str(ready.output / "index.html"))
            if message is not None:
                for warning in send(message, ready.notify):
                    watch.warning(warning)
    return done


def _tell_unjudged(
    ready: ReadyFleet, waiting: Mapping[str, Future[Answer]], watch: FleetObserver
) -> None:
    """A worker ended abruptly: the pairs judged before are recorded; their message goes out
    all the same (as a failure), naming the pairs that were not judged."""
    outcomes, missing = [], []
    for pair in ready.pairs:
        future = waiting.get(pair.name)
        answer = (
            future.result()
            if future is not None and future.done() and future.exception() is None
            else None
        )
        if answer is None or len(answer) == 2:
            missing.append(f"{pair.site.name}/{pair.name}")
            continue
        result, folder, previous, failure, _warnings = answer
        outcome = PairOutcome(
            pair.site.name, pair.name, result, folder, previous, failure, pair.damaged is not None
        )
        outcomes.append(outcome)
        watch.pair_done(outcome)
    if ready.notify:
        news = [pair_news(o) for o in outcomes]
        for warning in send(unjudged_message(news, missing, ready.notify_on), ready.notify):
            watch.warning(warning)


# ---- judging: here, or in worker processes ----------------------------------------------

# the result (without its files: they are written), the report folder, the pair's previous
# verdict, why its site could not be probed, the evidence loader's warnings
Judged = tuple[AuditResult, Path, Verdict | None, str | None, tuple[str, ...]]
# what a worker answers: the pair judged, or the problems of an InputError
Answer = Judged | tuple[str, tuple[Problem, ...]]


def cpus() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(ready: ReadyFleet) -> int:
    return max(1, min(ready.request.concurrency, cpus(), len(ready.pairs)))


def judge_pair(
    ready: ReadyFleet, pair: ReadyPair, found: Found | None, clock: Callable[[], datetime]
) -> Judged:
    """Judge one pair on its evidence, write its report folder and record its run."""
    audit, result, failure = _judge(pair, found, ready.output, clock)
    folder = keep_audit(audit, result)
    kept = replace(result, files={}, document=None)  # written and recorded: not sent back
    return kept, folder, pair.previous, failure, tuple(audit.warnings)


# What the worker processes judge: set before they are forked (they inherit it, nothing of
# it is pickled), cleared after.
_WORK: tuple[ReadyFleet, Callable[[], datetime]] | None = None


def _fleet_in_workers(ready: ReadyFleet | None, clock: Callable[[], datetime]) -> None:
    global _WORK  # noqa: PLW0603
    _WORK = None if ready is None else (ready, clock)


def _pool(count: int) -> ProcessPoolExecutor:
    """`count` worker processes, forked now (before any thread or event loop of the run):
    with fork, the pool starts all of them at the first task."""
    pool = ProcessPoolExecutor(
        max_workers=count, mp_context=multiprocessing.get_context("fork"), initializer=_forked
    )
    pool.submit(int).result()
    return pool


def _forked() -> None:
    """In a new worker: the store's connections are the parent's; open its own, and keep it
    for the worker's pairs (closed when the worker ends)."""
    if _WORK is not None:
        worker_store(_WORK[0].store)


def worker_store(store: Store) -> None:
    """A judging worker's store: one connection of its own, kept open for all the runs it
    records (each still in its own transaction) and closed as the worker process exits."""
    store.forget_connections(keep_open=True)
    multiprocessing.util.Finalize(store, store.dispose, exitpriority=10)


def _judge_at(index: int, found: Found | None) -> Answer:
    assert _WORK is not None
    ready, clock = _WORK
    try:
        return judge_pair(ready, ready.pairs[index], found, clock)
    except InputError as exc:  # its problems cross back as data (the exception pickles badly)
        return ("input-error", exc.problems)


def _unwrap(answer: Answer) -> Judged:
    if len(answer) == 2:
        raise InputError(answer[1])
    return answer


def _why_not_audited(pair: ReadyPair) -> tuple[str, ...]:
    if pair.damaged is None:
        return ()
    return (f"not audited: its history is damaged: {pair.damaged}",)


def _is_verdict(text: str) -> bool:
    return text in {v.value for v in Verdict}
