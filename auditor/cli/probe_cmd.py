"""Command: probe. Every required flow, from its own source address; evidence to a file."""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.options import (
    OutputFile,
    accept_unverified_option,
    claim_options,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    probe_options,
    rules_option,
)
from auditor.model.verdict import Acceptance, exit_code
from auditor.outputs import STDOUT
from auditor.probe.engine import ProbeOptions

if TYPE_CHECKING:
    from auditor.probe_run import Prober, ProbeResult, ReadyProbe

DEFAULT_OUTPUT = Path("reports/results.json")


@click.command(
    help="Probe every required flow of INVENTORY from its own source address: TCP connect, "
    "TLS handshake and LDAP bind. Writes a results document and prints a verdict per source. "
    "Bind passwords come only from the environment or a file named in the inventory.\n\n"
    "INVENTORY `-` reads a probe bundle (JSON, sent by `auditor fleet run` over SSH: every "
    "pair of a site with its flows, CA files and secrets, and a pair's claim: settings) from "
    "standard input and writes a probe stream to standard output: each pair's results document "
    "as that pair is done; a claiming pair's addresses are claimed for its probe and released "
    "after it, also on SIGTERM, SIGHUP, Ctrl-C and when nobody reads the stream (docs/fleet.md)."
)
@inventory_argument
@click.option(
    "-o",
    "--output",
    type=OutputFile(),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="The results document (JSON), written atomically at the end (- for standard output: "
    "the table goes to standard error then).",
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
@accept_unverified_option
@rules_option
@max_flows_option
@no_resolve_option
@click.option(
    "--journal",
    type=OutputFile(allow_dash=False),
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
    accept: Acceptance,
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
    journal: Path | None,
    quiet: bool,
) -> int:
    if str(inventory) == "-":
        return _probe_bundle()
    # Imported here: a fleet's probe host runs `probe -` once per site and needs none of it.
    from auditor.claim.request import claim_request  # noqa: PLC0415
    from auditor.cli.claim_cmd import claimed_prober  # noqa: PLC0415
    from auditor.cli.tables import (  # noqa: PLC0415
        SOURCE_VERDICT_HEADER,
        render_table,
        source_verdict_rows,
    )
    from auditor.model.results import dumps  # noqa: PLC0415
    from auditor.probe_run import ProbeRequest, ready_probe  # noqa: PLC0415
    from auditor.report.summary import verdict_notes  # noqa: PLC0415

    claiming = claim_request(claim_iface, claim_mode, claim_gateways)
    request = ProbeRequest(
        inventory=inventory,
        output=output,
        rules_dirs=rules,
        resolve=not no_resolve,
        probe=ProbeOptions(timeout, concurrency, per_destination, retries),
        sources=sources,
        providers=providers,
        max_flows=max_flows,
        journal=journal,
        accept=accept,
    )
    ready = ready_probe(request)
    with claimed_prober(claiming, ready.inventory, ready.flows, quiet=quiet) as (prober, claim):
        result = _run(ready, prober, claim.to_json() if claim is not None else None, quiet=quiet)
    summary = ", ".join(f"{n} {s}" for s, n in result.results.summary.items() if n)
    title = f"Probe of {ready.inventory.site.name} from {socket.gethostname()}: {summary}"
    rows = source_verdict_rows(result.flows, result.results.records)
    to_stdout = output == STDOUT
    if to_stdout:
        click.echo(dumps(result.results), nl=False)
    click.echo(render_table(title, SOURCE_VERDICT_HEADER, rows), nl=False, err=to_stdout)
    if not quiet and not to_stdout:
        click.echo(f"wrote {output}", err=True)
    for note in verdict_notes(result.verdict, result.tally, accept):
        click.echo(note, err=True)
    return exit_code(result.verdict)


def _probe_bundle() -> int:
    """The probe of a fleet run's site bundle: the probe stream to standard output (each
    pair's results document as that pair is done; a pair's own failure is in its frame)."""
    from auditor.probe.bundle import Claimer, probe_bundle, read_bundle  # noqa: PLC0415

    bundle = read_bundle(sys.stdin.buffer)
    claimer: Claimer | None = None
    if any(pair.claim is not None for pair in bundle.pairs):  # the claim code only then
        from auditor.claim.bundle import bundle_claim  # noqa: PLC0415

        claimer = bundle_claim
    probe_bundle(bundle, sys.stdout.buffer, claimer=claimer)
    return 0


def _run(
    ready: ReadyProbe, prober: Prober | None, claim: Mapping[str, Any] | None, *, quiet: bool
) -> ProbeResult:
    """The probes, with a progress bar on a terminal."""
    from auditor.cli.progress import ProgressBar  # noqa: PLC0415
    from auditor.probe_run import run_probe  # noqa: PLC0415

    try:
        if not quiet and sys.stderr.isatty():
            with ProgressBar() as bar:
                return run_probe(ready, observer=bar, prober=prober, claim=claim)
        return run_probe(ready, prober=prober, claim=claim)
    except KeyboardInterrupt:
        click.echo(f"interrupted: finished probes are in {ready.journal}", err=True)
        raise
