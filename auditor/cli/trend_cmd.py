"""`auditor trend`: how flows, sources and certificates fared over the recorded runs."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.options import (
    IntRange,
    inventory_argument,
    output_option,
    store_option,
    write_output,
)
from auditor.errors import UsageError
from auditor.history.location import StoreLocation
from auditor.history.store import Store
from auditor.history.trend import compute_trend, render_trend_json, render_trend_text
from auditor.inventory.load import load_inventory

# `auditor.report.trend_formats` (jinja2 and the report environment: a quarter of a second)
# is imported only for the formats that need it.
FORMATS = ("text", "md", "html", "json")


@click.command(
    help="The trend of INVENTORY's site over its recorded audits: per flow and per source the "
    "share of runs open, the first and last run that saw it blocked and how often its outcome "
    "changed (flows that flap); the certificates' days left run by run. HTML has inline SVG "
    "charts.\n\nExit 0, or 2 on bad input (no recorded audit of the site)."
)
@inventory_argument
@store_option
@click.option(
    "--runs",
    "last",
    type=IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the newest N runs (default: every recorded run).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@output_option
def trend(
    inventory: Path, store: StoreLocation, last: int | None, fmt: str, output: Path | None
) -> int:
    site = load_inventory(inventory).site.name
    db = Store(store)
    summaries = db.list_runs(site)
    if not summaries:
        raise UsageError(f"{store}: no complete audit of site {site} recorded yet")
    if last is not None:
        summaries = summaries[-last:]
    found = compute_trend(site, db.trend_runs([s.run_id for s in summaries]))
    if fmt == "text":
        text = render_trend_text(found)
    elif fmt == "json":
        text = render_trend_json(found)
    else:
        from auditor.report.trend_formats import TrendFormat, render_trend  # noqa: PLC0415

        text = render_trend(found, TrendFormat(fmt))
    write_output(text, output)
    return 0
