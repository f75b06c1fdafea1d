"""Command: state. Ask both appliances for their live failover state and judge the pair."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from auditor.cli.options import Duration, FloatRange, inventory_argument
from auditor.health.judge import DEFAULT_MAX_SYNC_AGE, judge
from auditor.health.pair import ask_pair
from auditor.health.render import render_json, render_text
from auditor.inventory.load import load_inventory
from auditor.model.verdict import exit_code, state_verdict


@click.command(
    help="Ask both appliances of INVENTORY (their health: blocks) for their live failover "
    "state: role, enabled shared IPs, version, last data sync; judge the pair.\n\n"
    "Exit 0 when no error (warnings allowed: failed over, stale sync, an unknown shared IP), "
    "1 on an error (IP conflict, two primaries or backups, a shared IP enabled nowhere, a "
    "failed health check, an appliance that cannot be asked), 2 on invalid input, 3 when no "
    "appliance has a health: block."
)
@inventory_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--timeout",
    type=FloatRange(min=0.1, max=300),
    default=10.0,
    show_default=True,
    help="Seconds each request (token, check_health) may take in all.",
)
@click.option(
    "--max-sync-age",
    type=Duration(),
    default=f"{int(DEFAULT_MAX_SYNC_AGE.total_seconds()) // 3600}h",
    show_default=True,
    help="A last data sync older than this is a warning.",
)
def state(inventory: Path, fmt: str, timeout: float, max_sync_age: timedelta) -> int:
    inv = load_inventory(inventory)
    pair_state = ask_pair(inv, timeout=timeout)
    verdict = judge(inv, pair_state, now=pair_state.asked_at, max_sync_age=max_sync_age)
    render = render_json if fmt == "json" else render_text
    click.echo(render(inv, pair_state, verdict), nl=False)
    return exit_code(state_verdict(verdict.errors))
