"""Commands: claim check, claim cleanup; and the claim wrapper probe and audit share."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click

from auditor.claim import (
    Claim,
    ClaimRequest,
    claim_session,
    cleanup_stale,
    detect_only,
    probe_with_claim,
)
from auditor.claim.detect import require_root
from auditor.claim.request import claim_addresses, claim_request
from auditor.cli.options import inventory_argument, no_resolve_option, rules_option
from auditor.flows.prepare import prepare
from auditor.model.inventory import Flow, Inventory
from auditor.model.record import ProbeRecord
from auditor.model.verdict import claim_check_verdict, exit_code

Prober = Callable[..., tuple[ProbeRecord, ...]]


def describe(claim: Claim) -> list[str]:
    lines = [f"claim on {claim.parent}: {claim.mode.reason}"]
    lines += [f"  claimed {c.ip} (MAC {c.mac}, gateway {c.gateway})" for c in claim.claimed]
    lines += [f"  in use  {u.ip} (answered by {u.mac}): not claimed" for u in claim.in_use]
    lines += [f"  held    {ip} (already on this host)" for ip in claim.held]
    return lines


@contextlib.contextmanager
def claimed_prober(
    request: ClaimRequest | None,
    inventory: Inventory,
    flows: Sequence[Flow],
    *,
    quiet: bool,
) -> Iterator[tuple[Prober | None, Claim | None]]:
    """Nothing without --claim (the caller probes as usual), else probe_with_claim bound to a
    claim that lasts the block."""
    if request is None:
        yield None, None
        return
    with claim_session(request, claim_addresses(inventory, flows)) as claim:
        if not quiet:
            click.echo("\n".join(describe(claim)), err=True)
        yield functools.partial(probe_with_claim, claim=claim), claim


@click.group(help="Claim mode: detect which of the pair's addresses are free, clean up after a "
           "killed run. See docs/claim.md.")  # fmt: skip
def claim() -> None:
    pass


@claim.command(
    "check",
    help="Detection only: for each source address of INVENTORY not on this host, send RFC 5227 "
    "ARP probes (IPv4) or run the kernel's DAD (IPv6) on IFACE and say whether it is free or "
    "in use, and by which MAC. Nothing is announced. Exit 0 all free, 1 some in use.",
)
@inventory_argument
@click.option("--claim", "claim_iface", required=True, metavar="IFACE")
@click.option("--claim-mode", type=click.Choice(["ipvlan", "macvlan"]), default=None)
@rules_option
@no_resolve_option
def check(
    *,
    inventory: Path,
    claim_iface: str,
    claim_mode: str | None,
    rules: tuple[Path, ...],
    no_resolve: bool,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve)
    request = claim_request(claim_iface, claim_mode, ())
    assert request is not None
    result = detect_only(request, claim_addresses(prepared.inventory, prepared.flows))
    click.echo(f"claim check on {result.parent}: {result.mode.reason}")
    for c in result.claimed:
        click.echo(f"  free    {c.ip}")
    for u in result.in_use:
        click.echo(f"  in use  {u.ip} by {u.mac}")
    for ip in result.held:
        click.echo(f"  held    {ip} (already on this host)")
    return exit_code(claim_check_verdict(len(result.in_use)))


@claim.command(
    "cleanup",
    help="Remove the namespaces and state a killed claim run left (/run/auditor-claim). A run "
    "still alive is left alone.",
)
def cleanup() -> int:
    require_root()
    removed = cleanup_stale()
    click.echo(
        f"removed {len(removed)} namespace(s)" + (f": {', '.join(removed)}" if removed else "")
    )
    return 0
