"""Commands on finished audits: history, drift, schedule (and audit, added by the lead)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from auditor.cli.claim_cmd import claim_request, claimed_prober
from auditor.cli.options import (
    IntRange,
    SafePath,
    claim_options,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    probe_options,
    rules_option,
    store_option,
)
from auditor.cli.placement import Placement, placement_options
from auditor.cli.progress import ProgressBar
from auditor.cli.ruleset_options import auto_place, ruleset_options
from auditor.cli.tables import SOURCE_VERDICT_HEADER, render_table, source_verdict_rows
from auditor.errors import RunError, UsageError
from auditor.filemode import folder_mode
from auditor.history.baseline import baseline_loader
from auditor.history.store import Store
from auditor.probe.engine import Observers, ProbeObserver, ProbeOptions
from auditor.probe.journal import Journal
from auditor.render import OutputFormat
from auditor.run import (
    AuditRequest,
    ready_audit,
    run_audit,
    summary_lines,
)


@click.command(
    help="Audit INVENTORY in one run: failover lint, required flows, probes from every source "
    "address (TCP, TLS, LDAP bind), missing rules, firewall snippets and reports, written to "
    "reports/<site>-<UTC timestamp>/ (report.html, report.md, results.json, flows.csv, "
    "junit.xml, run.json, rules/), and recorded in the history store.\n\n"
    "BASELINE (optional) is `last-green`, a run id from `auditor history`, or a run.json / "
    "results.json file: drift against it that matters makes the run non-compliant.\n\n"
    "Exit codes: 0 compliant (every testable flow open, every TLS check and bind ok, no lint "
    "error, no drift that matters); 1 findings; 2 bad input or usage; 3 the run could not "
    "complete (e.g. none of the pair's addresses is on this host)."
)
@inventory_argument
@click.option(
    "-o",
    "--output-dir",
    type=SafePath(file_okay=False, path_type=Path),
    default=None,
    help="Report folder (default: reports/<site>-<UTC timestamp>/).",
)
@store_option
@click.option("--no-store", is_flag=True, help="Do not record the run in the history store.")
@click.option(
    "--keep",
    type=IntRange(min=1, max=100_000),
    default=None,
    metavar="N",
    help="Keep only the newest N report folders of this site in the default place "
    "(reports/<site>-<timestamp>/); older ones are removed. Default: keep all.",
)
@click.option("--baseline", default=None, metavar="BASELINE", help="Compare with this run.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice([*(f.value for f in OutputFormat), "all"]),
    default=("all",),
    show_default=True,
    help="Snippet formats to write into rules/ (repeatable).",
)
@probe_options
@claim_options
@click.option("--only-proven", is_flag=True, help="Leave unverified flows out of the snippets.")
@placement_options
@rules_option
@max_flows_option
@no_resolve_option
@click.option(
    "--evidence",
    multiple=True,
    type=SafePath(dir_okay=False, path_type=Path),
    help="Audit these results documents (from `auditor probe` on one or several hosts, merged "
    "per flow and check) instead of probing from this host. Repeatable.",
)
@click.option(
    "--any-inventory",
    is_flag=True,
    help="With --evidence: accept documents probed with another version of the inventory.",
)
@ruleset_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def audit(
    *,
    inventory: Path,
    output_dir: Path | None,
    store: Path,
    no_store: bool,
    keep: int | None,
    baseline: str | None,
    formats: tuple[str, ...],
    timeout: float,
    concurrency: int,
    per_destination: int,
    retries: int,
    claim_iface: str | None,
    claim_mode: str | None,
    claim_gateways: tuple[str, ...],
    only_proven: bool,
    placement: Placement,
    rules: tuple[Path, ...],
    no_resolve: bool,
    evidence: tuple[Path, ...],
    any_inventory: bool,
    max_flows: int,
    quiet: bool,
    **ruleset: Any,
) -> int:
    claiming = claim_request(claim_iface, claim_mode, claim_gateways)
    if claiming is not None and evidence:
        raise UsageError("--claim probes; --evidence takes probes already made: give one of them")
    placement.check_formats(list(OutputFormat) if "all" in formats else formats)
    chosen = tuple(OutputFormat) if "all" in formats else tuple(OutputFormat(f) for f in formats)
    request = AuditRequest(
        inventory=inventory,
        rules_dirs=rules,
        resolve=not no_resolve,
        probe=ProbeOptions(
            timeout=timeout,
            concurrency=concurrency,
            per_destination=per_destination,
            retries=retries,
        ),
        render=placement.options(inventory=str(inventory), results="results.json"),
        formats=chosen,
        only_proven=only_proven,
        evidence=evidence,
        any_inventory=any_inventory,
        **ruleset,
        auto_place=auto_place(),
        max_flows=max_flows,
    )
    # Every input is read and checked here: after this line nothing is bad input.
    ready = ready_audit(request)
    site = ready.inventory.site.name
    db = None if no_store else Store(store)
    loader = baseline_loader(db, store, site, baseline)
    if db is not None:
        db.ensure()  # a bad or foreign store fails now, not after the probes
    if output_dir is not None:
        check_report_folder(output_dir)
    parent = (output_dir.parent if output_dir is not None else Path("reports")).absolute()
    parent.mkdir(parents=True, exist_ok=True)
    journal_path = parent / f".audit-{os.getpid()}.journal.jsonl"
    with (
        claimed_prober(claiming, ready.inventory, ready.prepared.flows, quiet=quiet) as (prober, _),
        Journal(journal_path) as journal,
    ):
        observers: list[ProbeObserver] = [journal]
        try:
            if not quiet and sys.stderr.isatty():
                with ProgressBar() as bar:
                    result = run_audit(
                        ready, observer=Observers(*observers, bar), baseline=loader, prober=prober
                    )
            else:
                result = run_audit(
                    ready, observer=Observers(*observers), baseline=loader, prober=prober
                )
        except BaseException:
            # Whatever stopped the run (Ctrl-C, a broken template, ...), the finished probes
            # are kept: they took the time.
            if journal_path.exists() and journal_path.stat().st_size:
                click.echo(f"the audit stopped: finished probes are in {journal_path}", err=True)
            else:
                journal_path.unlink(missing_ok=True)
            raise
    folder = output_dir.absolute() if output_dir is not None else parent / result.run.run_id
    write_folder(folder, result.files)
    journal_path.unlink(missing_ok=True)
    if keep is not None and output_dir is None:
        prune_reports(parent, site, keep)
    if db is not None:
        db.save_run(result.run)
    if not quiet:
        run = result.run
        title = f"{run.site}: per source address"
        rows = source_verdict_rows(run.flows, run.records)
        click.echo(render_table(title, SOURCE_VERDICT_HEADER, rows), nl=False)
        click.echo("\n".join(summary_lines(result, folder)))
    if result.run.exit_code == 3:
        raise RunError(
            "nothing could be probed from this host: none of the pair's addresses is here "
            f"(reports in {folder}; run on an appliance, or in the lab: "
            "auditor lab exec -- auditor audit ...)"
        )
    return result.run.exit_code


def check_report_folder(folder: Path) -> None:
    """A report folder is new, empty, or an earlier report (replaced whole): never a folder of
    the user's that happens to be there. Checked before any probe."""
    if folder.exists() and (not folder.is_dir() or _foreign(folder)):
        raise UsageError(
            f"{folder} exists and is not an audit report folder (expected a new or empty "
            "folder, or an earlier report folder to replace)"
        )


def _foreign(folder: Path) -> bool:
    return any(folder.iterdir()) and not (folder / "run.json").is_file()


def prune_reports(parent: Path, site: str, keep: int) -> None:
    """Remove all but the newest `keep` report folders `<site>-<UTC timestamp>-<id>` under
    `parent` (only folders the audit wrote: they hold a run.json)."""
    pattern = re.compile(rf"^{re.escape(site)}-\d{{8}}T\d{{6}}Z-[0-9a-f]{{4}}$")
    folders = sorted(
        p for p in parent.iterdir() if pattern.match(p.name) and (p / "run.json").is_file()
    )
    for old in folders[: max(0, len(folders) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def write_folder(folder: Path, files: Mapping[str, str]) -> None:
    """Write every file of a report folder: it appears whole or not at all, and replaces an
    earlier report in the same place (no stale snippet survives)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    old: Path | None = None
    try:
        tmp.chmod(folder_mode())  # mkdtemp's 0700 would hide the report from its readers
        for name, text in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if folder.exists():
            check_report_folder(folder)
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            folder.rename(old)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not folder.exists():
            old.rename(folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
