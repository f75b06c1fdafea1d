"""Command: probe. Every required flow, from its own source address; evidence to a file."""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from netaddr import AddrFormatError, IPAddress

from auditor import __version__
from auditor.cli.claim_cmd import claim_request, claimed_prober
from auditor.cli.options import (
    SafePath,
    claim_options,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    probe_options,
    rules_option,
)
from auditor.cli.progress import ProgressBar
from auditor.cli.tables import SOURCE_VERDICT_HEADER, render_table, source_verdict_rows
from auditor.errors import RunError, UsageError
from auditor.findings import compute_verdict
from auditor.flows.prepare import prepare
from auditor.inventory.model import Flow
from auditor.probe.document import ResultsDocument, RunMeta, write_results
from auditor.probe.engine import Observers, ProbeObserver, ProbeOptions, probe_flows
from auditor.probe.journal import Journal
from auditor.probe.preflight import preflight
from auditor.verdict import Verdict, exit_code

DEFAULT_OUTPUT = Path("reports/results.json")


def _select(
    flows: Sequence[Flow], sources: Sequence[str], providers: Sequence[str]
) -> tuple[Flow, ...]:
    selected = tuple(flows)
    if sources:
        wanted: set[IPAddress] = set()
        for text in sources:
            try:
                wanted.add(IPAddress(text))
            except (AddrFormatError, ValueError):
                raise UsageError(f"--source {text}: not an IP address") from None
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@click.command(
    help="Probe every required flow of INVENTORY from its own source address: TCP connect, "
    "TLS handshake and LDAP bind. Writes a results document and prints a verdict per source. "
    "Bind passwords come only from the environment or a file named in the inventory."
)
@inventory_argument
@click.option(
    "-o",
    "--output",
    type=SafePath(dir_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="The results document (JSON), written atomically at the end.",
)
@probe_options
@claim_options
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="IP",
    help="Probe only flows from this source address. Repeatable.",
)
@click.option(
    "--provider",
    "providers",
    multiple=True,
    metavar="NAME",
    help="Probe only flows to this provider. Repeatable.",
)
@rules_option
@max_flows_option
@no_resolve_option
@click.option(
    "--journal",
    type=SafePath(dir_okay=False, path_type=Path),
    default=None,
    help="Append each finished record here as JSON Lines while the run goes (kept). "
    "Default: beside the output, removed once the results document is written.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no 'wrote' line.")
def probe(
    *,
    inventory: Path,
    output: Path,
    timeout: float,
    concurrency: int,
    per_destination: int,
    retries: int,
    claim_iface: str | None,
    claim_mode: str | None,
    claim_gateways: tuple[str, ...],
    sources: tuple[str, ...],
    providers: tuple[str, ...],
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
    journal: Path | None,
    quiet: bool,
) -> int:
    claiming = claim_request(claim_iface, claim_mode, claim_gateways)
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    flows = _select(prepared.flows, sources, providers)
    if not flows:
        raise UsageError("no required flows to probe")
    passwords = preflight(prepared.inventory, flows)
    options = ProbeOptions(
        timeout=timeout,
        concurrency=concurrency,
        per_destination=per_destination,
        retries=retries,
    )
    journal_path = journal or output.with_name(output.stem + ".journal.jsonl")
    started_at = _now()
    observers: list[ProbeObserver] = []
    show_progress = not quiet and sys.stderr.isatty()
    with (
        claimed_prober(claiming, prepared.inventory, flows, quiet=quiet) as (claimed, claim),
        Journal(journal_path) as jnl,
    ):
        observers.append(jnl)
        run_probes = claimed or probe_flows
        try:
            if show_progress:
                with ProgressBar() as bar:
                    observers.append(bar)
                    records = run_probes(
                        flows,
                        prepared.inventory.providers,
                        passwords,
                        options,
                        Observers(*observers),
                    )
            else:
                records = run_probes(
                    flows, prepared.inventory.providers, passwords, options, Observers(*observers)
                )
        except KeyboardInterrupt:
            click.echo(f"interrupted: finished probes are in {journal_path}", err=True)
            raise
    doc = ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=str(inventory),
            inventory_digest=prepared.inventory.digest,
            probing_host=socket.gethostname(),
            started_at=started_at,
            finished_at=_now(),
            options={
                "timeout": timeout,
                "concurrency": concurrency,
                "per_destination": per_destination,
                "retries": retries,
                "sources": list(sources),
                "providers": list(providers),
                "rules": [str(r) for r in rules],
                "resolve": not no_resolve,
                **({"claim": claim.to_json()} if claim is not None else {}),
            },
        ),
        records=records,
    )
    write_results(output, doc)
    if journal is None:
        journal_path.unlink(missing_ok=True)
    header = SOURCE_VERDICT_HEADER
    summary = ", ".join(f"{n} {s}" for s, n in doc.summary.items() if n)
    title = f"Probe of {prepared.inventory.site.name} from {socket.gethostname()}: {summary}"
    click.echo(render_table(title, header, source_verdict_rows(flows, records)), nl=False)
    if not quiet:
        click.echo(f"wrote {output}", err=True)
    verdict = compute_verdict(flows, records)
    if verdict is Verdict.INCOMPLETE:
        raise RunError(
            "none of the source addresses is on this host, so nothing could be probed "
            "(run on an appliance, or in the lab: auditor lab exec -- auditor probe ...)"
        )
    return exit_code(verdict)
