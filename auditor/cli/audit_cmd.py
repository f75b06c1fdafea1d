"""Commands on finished audits: history, drift, schedule (and audit, added by the lead)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click

from auditor.cli.app import cli
from auditor.cli.options import (
    F,
    IntRange,
    SafePath,
    inventory_argument,
    max_flows_option,
    no_resolve_option,
    probe_options,
    rules_option,
)
from auditor.cli.placement import Placement, placement_options
from auditor.cli.progress import ProgressBar
from auditor.cli.tables import SOURCE_VERDICT_HEADER, render_table, source_verdict_rows
from auditor.documents.jsonsource import load_json
from auditor.documents.run import MAX_BYTES as RUN_MAX_BYTES
from auditor.documents.run import is_run_document, run_from_document
from auditor.errors import RunError, UsageError
from auditor.filemode import folder_mode
from auditor.findings import AuditRun, compute_verdict
from auditor.flows.prepare import prepare
from auditor.history.drift import compare
from auditor.history.schedule import DEFAULT_AT, ScheduleSpec, render_cron, render_systemd
from auditor.history.store import DEFAULT_STORE, Store
from auditor.inventory.load import load_inventory
from auditor.probe.document import ResultsDocument, results_from_json
from auditor.probe.engine import Observers, ProbeObserver, ProbeOptions
from auditor.probe.journal import Journal
from auditor.probe.preflight import preflight
from auditor.render import OutputFormat
from auditor.report.drift_formats import DriftFormat, render_drift
from auditor.run import (
    AuditRequest,
    BaselineLoader,
    rehearse_templates,
    run_audit,
    summary_lines,
)
from auditor.textout import printable


def store_option(func: F) -> F:
    return click.option(
        "--store",
        type=SafePath(dir_okay=False, path_type=Path),
        default=DEFAULT_STORE,
        show_default=True,
        help="The history store (SQLite).",
    )(func)


@cli.command(
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
@click.option("--only-proven", is_flag=True, help="Leave unverified flows out of the snippets.")
@placement_options
@rules_option
@max_flows_option
@no_resolve_option
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
    only_proven: bool,
    placement: Placement,
    rules: tuple[Path, ...],
    no_resolve: bool,
    max_flows: int,
    quiet: bool,
) -> int:
    prepared = prepare(inventory, rules_dirs=rules, resolve=not no_resolve, max_flows=max_flows)
    # CA files and bind passwords: bad input here, before anything is probed or written
    passwords = preflight(prepared.inventory, prepared.flows)
    site = prepared.inventory.site.name
    db = None if no_store else Store(store)
    loader = _baseline_loader(db, store, site, baseline)
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
    )
    rehearse_templates(request, prepared)  # a broken template folder: before anything is written
    if db is not None:
        db.ensure()  # a bad or foreign store fails now, not after the probes
    if output_dir is not None:
        check_report_folder(output_dir)
    parent = (output_dir.parent if output_dir is not None else Path("reports")).absolute()
    parent.mkdir(parents=True, exist_ok=True)
    journal_path = parent / f".audit-{os.getpid()}.journal.jsonl"
    with Journal(journal_path) as journal:
        observers: list[ProbeObserver] = [journal]
        try:
            if not quiet and sys.stderr.isatty():
                with ProgressBar() as bar:
                    result = run_audit(
                        request, observer=Observers(*observers, bar), baseline=loader,
                        prepared=prepared, passwords=passwords,
                    )  # fmt: skip
            else:
                result = run_audit(
                    request,
                    observer=Observers(*observers),
                    baseline=loader,
                    prepared=prepared,
                    passwords=passwords,
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


def _baseline_loader(
    db: Store | None, store: Path, site: str, ref: str | None
) -> BaselineLoader | None:
    """Read and check the baseline now (bad input fails before any probe); the loader only
    completes a results.json baseline with the current run's inventory and flows."""
    if ref is None:
        return None
    if Path(ref).is_file():
        path = Path(ref)
        found = _read_baseline_file(path)
        if isinstance(found, ResultsDocument):
            return lambda current: _run_from_results(path, found, current)
        run = found
    elif db is None:
        raise UsageError("--baseline last-green or RUN_ID needs the history store (not --no-store)")
    elif ref == "last-green":
        green = db.last_green(site)
        if green is None:
            raise UsageError(
                f"{store}: no compliant audit of site {site} recorded yet to compare with "
                "(give --baseline RUN_ID or FILE, or leave --baseline out)"
            )
        run = db.load_run(green)
    else:
        run = db.load_run(ref)
    if run.site != site:
        raise UsageError(
            f"baseline {ref} is an audit of site {run.site}, not {site} (expected a run of the "
            "same site)"
        )
    return lambda current: run


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


@cli.command(help="List the audit runs in the history store, oldest first.")
@store_option
@click.option("--site", default=None, help="Only the runs of this site.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def history(store: Path, site: str | None, fmt: str) -> int:
    runs = Store(store).list_runs(site)
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in runs], indent=2, sort_keys=True))
        return 0
    if not runs:
        click.echo(f"no runs recorded in {store}" + (f" for site {site}" if site else ""))
        return 0
    header = ["run", "started (UTC)", "site", "verdict", "flows", "ok", "blocked", "failed",
              "unverified", "lint errors"]  # fmt: skip
    rows = [
        [
            r.run_id,
            r.started_at,
            r.site,
            r.verdict,
            *(
                str(r.counts.get(k, 0))
                for k in ("flows", "ok", "blocked", "failed", "unverified", "lint_errors")
            ),
        ]
        for r in runs
    ]
    click.echo(render_table(f"audit history: {store}", header, rows), nl=False)
    return 0


def _read_baseline_file(path: Path) -> AuditRun | ResultsDocument:
    """A run document (`run.json`) or a probe results document (`results.json`), read once."""
    doc, text = load_json(path, str(path), RUN_MAX_BYTES, "a run.json or results.json document")
    if is_run_document(doc):
        return run_from_document(doc, text, str(path))
    return results_from_json(doc, text, str(path))


def _run_from_results(path: Path, doc: ResultsDocument, current: AuditRun) -> AuditRun:
    """A probe results document holds records only: its inventory is taken to be the current
    one (address changes and failovers cannot show against it)."""
    return AuditRun(
        run_id=str(path),
        site=current.site,
        started_at=doc.meta.started_at,
        finished_at=doc.meta.finished_at,
        inventory_digest=doc.meta.inventory_digest,
        inventory=current.inventory,
        flows=current.flows,
        records=doc.records,
        verdict=compute_verdict(current.flows, doc.records),
    )


def _baseline_from_file(path: Path, current: AuditRun) -> AuditRun:
    """A run document (`run.json`), or a probe results document (`results.json`)."""
    found = _read_baseline_file(path)
    if isinstance(found, ResultsDocument):
        return _run_from_results(path, found, current)
    return found


@cli.command(
    help="Compare the newest audit of INVENTORY's site with a baseline: flows newly blocked, "
    "open or unverified; certificates changed or crossing the expiry threshold; TLS and bind "
    "results changed; addresses added or removed; a failover (the shared IP now enabled on "
    "the other appliance).\n\nBASELINE is `last-green` (the newest compliant run before the "
    "newest), a run id from `auditor history`, or a file (run.json or results.json).\n\n"
    "Exit 0 when nothing that matters changed, 1 on drift that matters, 2 on bad input."
)
@inventory_argument
@store_option
@click.option("--baseline", default="last-green", show_default=True, metavar="BASELINE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in DriftFormat]),
    default=DriftFormat.TEXT.value,
    show_default=True,
    help="Output format.",
)
def drift(inventory: Path, store: Path, baseline: str, fmt: str) -> int:
    site = load_inventory(inventory).site.name
    db = Store(store)
    newest = db.latest(site)
    if newest is None:
        raise UsageError(f"{store}: no complete audit of site {site} recorded yet")
    current = db.load_run(newest)
    if baseline == "last-green":
        green = db.last_green(site, before=newest)
        if green is None:
            # Not bad input: the nightly job meets this until the first compliant audit. No
            # baseline, no drift; the exit code still says whether the newest run is green.
            click.echo(
                printable(
                    f"no compliant audit of site {site} before {newest} to compare with: no "
                    f"drift report (the newest run is {current.verdict.value}; give --baseline "
                    "RUN_ID or FILE to compare with another run)"
                )
            )
            return 0 if current.exit_code == 0 else 1
        base = db.load_run(green)
    elif Path(baseline).is_file():
        base = _baseline_from_file(Path(baseline), current)
    else:
        base = db.load_run(baseline)
    if base.site != current.site:
        raise UsageError(
            f"baseline {baseline} is an audit of site {base.site}, not {current.site} "
            "(expected a run of the same site)"
        )
    report = compare(base, current)
    click.echo(render_drift(report, DriftFormat(fmt)), nl=False)
    return report.exit_code


def _auditor_executable() -> Path:
    """The auditor the scheduled job runs: the one beside this Python (a venv), else PATH."""
    beside = Path(sys.executable).parent / "auditor"
    if beside.exists():
        return beside.absolute()
    found = shutil.which("auditor")
    return Path(found).absolute() if found else beside.absolute()


@cli.command(
    help="Print systemd units (a oneshot service and a timer) or a crontab line that run a "
    "nightly audit of INVENTORY plus a drift report against the last compliant run. "
    "Unattended-safe: no prompt, bounded run time, never two runs at once. Nothing is "
    "installed: redirect the output and follow the comments at its top."
)
@click.option(
    "--print", "kind", type=click.Choice(["systemd", "cron"]), required=True, help="What to print."
)
@inventory_argument
@click.option("--at", "at", default=DEFAULT_AT, show_default=True, help="Time of day (HH:MM).")
@click.option("--user", default=None, help="Run as this user (systemd User=, /etc/cron.d).")
@store_option
def schedule(kind: str, inventory: Path, at: str, user: str | None, store: Path) -> int:
    inv = load_inventory(inventory)
    workdir = Path.cwd()
    spec = ScheduleSpec(
        auditor=_auditor_executable(),
        inventory=inventory.absolute(),
        workdir=workdir,
        store=store if store.is_absolute() else workdir / store,
        site=inv.site.name,
        at=at,
        user=user,
    )
    click.echo(render_systemd(spec) if kind == "systemd" else render_cron(spec), nl=False)
    return 0
