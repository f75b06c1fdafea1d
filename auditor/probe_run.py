"""The probe job: the audit's first stage alone. Every selected flow probed from its own source
address, the records written to a results document, and the verdict of those records.

`ready_probe` reads and checks the inputs (inventory, selection, CA files and passwords);
`run_probe` probes and writes the document. The CLI parses options and prints the table.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netaddr import AddrFormatError, IPAddress

from auditor.errors import UsageError
from auditor.flows.limits import DEFAULT_MAX_FLOWS
from auditor.flows.prepare import Prepared, prepare
from auditor.inventory.secrets import Secret
from auditor.model.findings import flow_results, tally_results
from auditor.model.inventory import Flow, Inventory
from auditor.model.record import ProbeRecord
from auditor.model.results import ResultsDocument, results_document, write_results
from auditor.model.verdict import (
    NO_ACCEPTANCE,
    Acceptance,
    Tally,
    Verdict,
    run_verdict,
)
from auditor.outputs import STDOUT, check_target
from auditor.probe.engine import Observers, ProbeObserver, ProbeOptions, probe_flows
from auditor.probe.journal import Journal
from auditor.probe.preflight import preflight
from auditor.textout import quoted
from auditor.values import address_problem

# How the flows are probed: probe_flows, or probe_with_claim bound to the claimed addresses.
Prober = Callable[..., tuple[ProbeRecord, ...]]


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    inventory: Path
    output: Path  # the results document, written atomically at the end (STDOUT: not written)
    rules_dirs: tuple[Path, ...] = ()
    resolve: bool = True
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    sources: tuple[str, ...] = ()  # only flows from these addresses (empty: all)
    providers: tuple[str, ...] = ()  # only flows to these providers (empty: all)
    max_flows: int = DEFAULT_MAX_FLOWS
    journal: Path | None = None  # None: beside the output, removed once the document is written
    accept: Acceptance = NO_ACCEPTANCE  # unproven flows accepted as compliant


@dataclass(frozen=True, slots=True)
class ReadyProbe:
    """A probe whose every input has been read and checked."""

    request: ProbeRequest
    prepared: Prepared
    flows: tuple[Flow, ...]  # the selected flows
    passwords: Mapping[str, Secret]

    @property
    def inventory(self) -> Inventory:
        return self.prepared.inventory

    @property
    def journal(self) -> Path:
        """Finished probes are appended here while the run goes."""
        output = self.request.output
        if self.request.journal is not None:
            return self.request.journal
        if output == STDOUT:
            return Path(tempfile.gettempdir()) / f"auditor-probe-{os.getpid()}.journal.jsonl"
        return output.with_name(output.stem + ".journal.jsonl")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    results: ResultsDocument
    flows: tuple[Flow, ...]
    verdict: Verdict
    tally: Tally


def ready_probe(request: ProbeRequest) -> ReadyProbe:
    """Load the inventory and packs, select the flows, read the CA files and bind passwords.
    Raises on bad input; touches no network."""
    prepared = prepare(
        request.inventory,
        rules_dirs=request.rules_dirs,
        resolve=request.resolve,
        max_flows=request.max_flows,
    )
    flows = select_flows(prepared.flows, request.sources, request.providers)
    if not flows:
        raise UsageError("no required flows to probe")
    ready = ReadyProbe(request, prepared, flows, preflight(prepared.inventory, flows))
    check_target(ready.journal, option="--journal")  # before any probe: a FIFO would block
    return ready


def run_probe(
    ready: ReadyProbe,
    *,
    observer: ProbeObserver | None = None,
    prober: Prober | None = None,
    claim: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ProbeResult:
    """Probe the selected flows (through `prober`: probe_flows, or the claimed addresses'),
    journal every record, write the results document; `claim` describes claimed addresses."""
    request = ready.request
    started = clock()
    watchers = (observer,) if observer is not None else ()
    with Journal(ready.journal) as journal:
        records = (prober or probe_flows)(
            ready.flows,
            ready.inventory.providers,
            ready.passwords,
            request.probe,
            Observers(journal, *watchers),
        )
    doc = results_document(
        inventory=request.inventory,
        digest=ready.inventory.digest,
        host=socket.gethostname(),
        started=started,
        finished=clock(),
        options=_options_json(request, claim),
        records=records,
    )
    if request.output != STDOUT:  # else the CLI prints it
        write_results(request.output, doc)
    if request.journal is None:
        ready.journal.unlink(missing_ok=True)
    flows = tally_results(flow_results(ready.flows, records))
    return ProbeResult(doc, ready.flows, run_verdict(flows, accept=request.accept), flows)


def select_flows(
    flows: Sequence[Flow], sources: Sequence[str], providers: Sequence[str]
) -> tuple[Flow, ...]:
    """The flows from `sources` to `providers` (all when empty); an unknown one is bad input."""
    selected = tuple(flows)
    if sources:
        wanted = _addresses(sources)
        known = {f.source for f in selected}
        unknown = sorted(str(ip) for ip in wanted - known)
        if unknown:
            raise UsageError(
                f"--source {', '.join(unknown)}: not a source of any required flow "
                f"(sources: {', '.join(str(ip) for ip in sorted(known))})"
            )
        selected = tuple(f for f in selected if f.source in wanted)
    if providers:
        known_p = {p for f in selected for p in f.providers}
        unknown_p = sorted(set(providers) - known_p)
        if unknown_p:
            raise UsageError(
                f"--provider {', '.join(unknown_p)}: no required flow for it "
                f"(providers: {', '.join(sorted(known_p))})"
            )
        selected = tuple(f for f in selected if set(f.providers) & set(providers))
    return selected


def _addresses(texts: Sequence[str]) -> set[IPAddress]:
    wanted: set[IPAddress] = set()
    for text in texts:
        try:
            wanted.add(IPAddress(text))
        except (AddrFormatError, ValueError):
            problem = address_problem(text) or "is not an IP address"
            raise UsageError(f"--source {quoted(text)}: {problem}") from None
    return wanted


def _options_json(request: ProbeRequest, claim: Mapping[str, Any] | None) -> dict[str, object]:
    options = request.probe
    return {
        "timeout": options.timeout,
        "concurrency": options.concurrency,
        "per_destination": options.per_destination,
        "retries": options.retries,
        "sources": list(request.sources),
        "providers": list(request.providers),
        "rules": [str(r) for r in request.rules_dirs],
        "resolve": request.resolve,
        **({"claim": claim} if claim is not None else {}),
    }
