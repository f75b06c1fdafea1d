"""Commands on finished audits: history, drift and the scheduled job."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor.cli.fleet_cmd import (
    DEFAULT_SITE_TIMEOUT_S,
    DEFAULT_SITES_AT_ONCE,
    SITE_TIMEOUT,
    SITES_AT_ONCE,
    SSH_KEEPALIVE,
)
from auditor.cli.options import (
    PROBE_RETRIES,
    PROBE_TIMEOUT,
    EvidenceAge,
    SafePath,
    inventory_argument,
    notify_targets,
    store_option,
)
from auditor.cli.tables import render_table
from auditor.documents.codec import to_json
from auditor.errors import UsageError
from auditor.evidence.age import span
from auditor.history.baseline import baseline_from_file
from auditor.history.drift import compare
from auditor.history.location import StoreLocation
from auditor.history.schedule import (
    DEFAULT_AT,
    DEFAULT_TIMEOUT_S,
    ScheduleSpec,
    job_bound,
    render_cron,
    render_systemd,
)
from auditor.history.store import DamagedSummary, RunSummary, Store
from auditor.inventory.load import load_inventory
from auditor.model.verdict import drift_verdict, exit_code
from auditor.report.drift_formats import DriftFormat, render_drift
from auditor.textout import printable, quoted

if TYPE_CHECKING:
    from auditor.fleet.spec import NotifyTarget


@click.group(
    invoke_without_command=True,
    help="List the audit runs in the history store, oldest first (`history retire SITE`: "
    "remove a pair's history, or one run of it).\n\nA damaged run (a row changed by hand or "
    "broken, records not as many as it was written with) is listed where it stands, marked "
    "DAMAGED (in JSON: `damaged`, why), with one warning line each saying why; the rest are "
    "listed. With --site, a pair holding a damaged run is refused in one line, as `drift` and "
    "`trend` refuse it.\n\nExit 0; 3 when a damaged run is listed (the listing is not the "
    "whole history); 2 on bad input.",
)
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
@click.pass_context
def history(ctx: click.Context, store: StoreLocation, site: str | None, fmt: str) -> int:
    if ctx.invoked_subcommand is not None:
        return 0
    runs = Store(store).survey_runs(site)
    damaged = [r for r in runs if isinstance(r, DamagedSummary)]
    if site is not None and damaged:
        raise damaged[0].error  # one pair: refused as drift and trend refuse it
    if fmt == "json":
        click.echo(json.dumps([_listed_json(r) for r in runs], indent=2, sort_keys=True))
    elif not runs:
        click.echo(f"no runs recorded in {store}" + (f" for site {site}" if site else ""))
    else:
        header = ["run", "started (UTC)", "site", "verdict", "flows", "ok", "blocked", "failed",
                  "unverified", "lint errors"]  # fmt: skip
        rows = [_listed_row(r) for r in runs]
        click.echo(render_table(f"audit history: {store}", header, rows), nl=False)
    for run in damaged:
        click.echo(printable(f"warning: DAMAGED run: {run.why}"), err=True)
    if not damaged:
        return 0
    click.echo(
        printable(
            f"warning: {len(damaged)} damaged run(s) in {store}, listed where they stand: "
            "`drift`, `trend` and `history --site` refuse their pair until the run is "
            "repaired or retired (`auditor history retire SITE --run ID --yes`)"
        ),
        err=True,
    )
    return 3


_COUNTED = ("flows", "ok", "blocked", "failed", "unverified", "lint_errors")


def _listed_row(run: RunSummary | DamagedSummary) -> list[str]:
    if isinstance(run, DamagedSummary):
        return [run.run_id, run.started_at, run.site, "DAMAGED", *("-" for _ in _COUNTED)]
    counts = (str(run.counts.get(k, 0)) for k in _COUNTED)
    return [run.run_id, run.started_at, run.site, run.verdict, *counts]


def _listed_json(run: RunSummary | DamagedSummary) -> dict[str, object]:
    """A listed run: its row, and `damaged` (null, or why: then nothing else of it is read)."""
    if isinstance(run, DamagedSummary):
        return {
            "run_id": run.run_id, "site": run.site, "started_at": run.started_at,
            "finished_at": None, "verdict": None, "counts": None, "damaged": run.why,
        }  # fmt: skip
    return {**to_json(run), "damaged": None}


@history.command(
    "retire",
    help="Retire SITE's history: remove every run of the pair SITE (the inventory's site "
    "name, as `auditor history` shows it) and its records from the store, damaged runs "
    "included, in one transaction that records the retirement in the store's table `retired` "
    "(when, how many runs). For a pair that left the fleet (it is no longer stale in `fleet "
    "report`), or whose history is damaged (its next run starts a new one). With --run ID, "
    "only that run of SITE (a damaged one: the pair's other runs are read again by `drift`, "
    "`trend` and `fleet report`). Refused without --yes.\n\nExit 0, or 2 on bad input (no "
    "run of SITE recorded; with --run, no run ID, or a run of another site).",
)
@click.argument("site")
@store_option
@click.option(
    "--run", "run_id", default=None, metavar="ID",
    help="Retire only this run of SITE (its id as `auditor history` lists it).",
)  # fmt: skip
@click.option("--yes", is_flag=True, help="Yes: remove its runs (they cannot be restored).")
def retire(site: str, store: StoreLocation, run_id: str | None, yes: bool) -> int:
    from datetime import UTC, datetime  # noqa: PLC0415

    from auditor.model.results import utc_stamp  # noqa: PLC0415

    if store.path is not None and not store.path.exists():
        raise UsageError(f"{store}: no such history store")
    what = f"every run of {quoted(site)}"
    if run_id is not None:
        what = f"run {quoted(run_id)} of {quoted(site)}"
    if not yes:
        raise UsageError(
            f"history retire removes {what} from {store} and cannot be undone; give --yes to do it"
        )
    now = utc_stamp(datetime.now(UTC))
    if run_id is not None:
        gone = Store(store).retire_run(site, run_id, now)
        click.echo(
            printable(
                f"retired run {gone.run_id} of {site} from {store} (started {gone.started_at}, "
                f"verdict {gone.verdict}, {gone.records} record(s) removed); recorded in the "
                "store's table `retired`"
            )
        )
        return 0
    held, newest = Store(store).retire(site, now)
    if not held:
        raise UsageError(
            f"{store}: no run of site {quoted(site)} is recorded, nothing retired (`auditor "
            "history` lists the sites)"
        )
    click.echo(
        printable(
            f"retired {site}: {held} run(s) removed from {store} (the newest started "
            f"{newest}); recorded in the store's table `retired`"
        )
    )
    return 0


@click.command(
    help="Compare the newest audit of INVENTORY's site with a baseline (by default the last "
    "compliant run, or the run before the newest while the site has none): flows newly blocked, "
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
def drift(inventory: Path, store: StoreLocation, baseline: str, fmt: str) -> int:
    site = load_inventory(inventory).site.name
    db = Store(store)
    newest = db.latest(site)
    if newest is None:
        raise UsageError(f"{store}: no complete audit of site {site} recorded yet")
    current = db.load_run(newest)
    if baseline == "last-green":
        green = db.last_green(site, before=newest)
        ids = [r.run_id for r in db.list_runs(site)]
        previous = ids[ids.index(newest) - 1] if ids.index(newest) > 0 else None
        if green is None and previous is None:
            # Not bad input: the nightly job meets this on its first night. No baseline, no
            # drift; the exit code still says whether the newest run is green.
            click.echo(
                printable(
                    f"no earlier audit of site {site} before {newest} to compare with: no "
                    f"drift report (the newest run is {current.verdict.value}; give --baseline "
                    "RUN_ID or FILE to compare with another run)"
                )
            )
            return exit_code(drift_verdict(None, current.verdict))
        if green is None and fmt == DriftFormat.TEXT.value:
            # never green yet: against the run before, so more blocked flows are still drift
            click.echo(
                printable(f"no compliant audit of site {site} yet: compared with the previous run")
            )
        base = db.load_run(green or previous or newest)  # one of the first two is there
    elif Path(baseline).is_file():
        base = baseline_from_file(Path(baseline), current)
    else:
        base = db.load_run(baseline)
    if base.site != current.site:
        raise UsageError(
            f"baseline {baseline} is an audit of site {base.site}, not {current.site} "
            "(expected a run of the same site)"
        )
    report = compare(base, current)
    click.echo(render_drift(report, DriftFormat(fmt)), nl=False)
    return exit_code(drift_verdict(report.matters, current.verdict))


def _auditor_executable() -> Path:
    """The auditor the scheduled job runs: the one beside this Python (a venv), else PATH."""
    beside = Path(sys.executable).parent / "auditor"
    if beside.exists():
        return beside.absolute()
    found = shutil.which("auditor")
    return Path(found).absolute() if found else beside.absolute()


@click.command(
    help="Print systemd units (a oneshot service and a timer) or a crontab line that run a "
    "nightly audit of INVENTORY plus a drift report against the last compliant run, or with "
    "--fleet a nightly `auditor fleet run FLEET`. Unattended-safe: no prompt, bounded run "
    "time, never two runs at once; the service is sandboxed (NoNewPrivileges, "
    "ProtectSystem=strict, PrivateTmp, no capability but claim mode's). With --notify, "
    "OnFailure= sends one message that tells a night that could not run (exit 3) from one "
    "with findings or drift (exit 1). Nothing is installed: redirect the output and follow "
    "the comments at its top."
)
@click.option(
    "--print", "kind", type=click.Choice(["systemd", "cron"]), required=True, help="What to print."
)
@click.argument(
    "inventory",
    type=SafePath(dir_okay=False, path_type=Path),
    metavar="[INVENTORY]",
    required=False,
)
@click.option(
    "--fleet", type=SafePath(dir_okay=False, path_type=Path), default=None, help="Schedule "
    "`auditor fleet run FLEET` instead of one pair's audit."
)  # fmt: skip
@click.option("--at", "at", default=DEFAULT_AT, show_default=True, help="Time of day (HH:MM).")
@click.option("--user", default=None, help="Run as this user (systemd User=, /etc/cron.d).")
@store_option
@click.option("--evidence", multiple=True, type=SafePath(dir_okay=False, path_type=Path),
              help="Passed to the nightly audit (repeatable).")  # fmt: skip
@click.option("--ruleset", multiple=True, type=SafePath(dir_okay=False, path_type=Path),
              help="Passed to the nightly audit (repeatable).")  # fmt: skip
@click.option("--ipset", multiple=True, type=SafePath(dir_okay=False, path_type=Path),
              help="Passed to the nightly audit (repeatable).")  # fmt: skip
@click.option("--max-evidence-age", metavar="DURATION", default=None,
              help="Passed to the nightly audit (or fleet run): evidence older than this is "
              "no proof (default: the audit's, 7d; none: any age).")  # fmt: skip
@click.option("--claim", "claim_iface", metavar="IFACE", default=None,
              help="The nightly audit claims the pair's free addresses on IFACE (it runs as "
              "root; the unit keeps CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN).")  # fmt: skip
@click.option(
    "--notify",
    multiple=True,
    metavar="URL",
    help="Apprise URL for the OnFailure= alert and the fleet run (secrets as ${VAR}, kept in "
    "the env file).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1, max=100_000),
    default=60,
    show_default=True,
    metavar="N",
    help="Report folders the nightly job keeps: passed as --keep to `audit` (the site's "
    "report folders) or to `fleet run` (its fleet-<timestamp> folders); the history store "
    "keeps every run.",
)
@click.option(
    "--notify-on",
    type=click.Choice(["findings", "drift", "always"]),
    default=None,
    help="When a night alerts, as `fleet run` tells: findings (a pair job's default: every "
    "night that is not compliant, or has drift that matters), drift (drift that matters "
    "only), always. A fleet job: passed to `fleet run` (default: the fleet file's).",
)
@click.option("--timeout", "probe_timeout", type=PROBE_TIMEOUT, default=None, metavar="S",
              help="Passed to the nightly audit (or fleet run): seconds per probe (default: "
              "theirs, 3).")  # fmt: skip
@click.option("--retries", type=PROBE_RETRIES, default=None, metavar="N",
              help="Passed to the nightly audit (or fleet run): extra attempts for a connect "
              "that got no answer (default: theirs, 0).")  # fmt: skip
@click.option(
    "--concurrency",
    type=SITES_AT_ONCE,
    default=None,
    metavar="N",
    help="With --fleet: passed to `fleet run` (sites probed at once; default 4).",
)
@click.option("--site-timeout", type=SITE_TIMEOUT, default=None, metavar="S",
              help="With --fleet: passed to `fleet run` (seconds a site's probes may take; "
              "default 3600). The job's own bound grows to fit: each wave of --concurrency "
              "sites may take it.")  # fmt: skip
@click.option("--ssh-keepalive", type=SSH_KEEPALIVE, default=None, metavar="S",
              help="With --fleet: passed to `fleet run` (seconds between SSH keepalives; "
              "default 15).")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="Passed to the nightly audit (or fleet run).")
@click.option("-o", "--output-dir", "output_dir", default=None, hidden=True)
def schedule(
    *,
    kind: str,
    inventory: Path | None,
    fleet: Path | None,
    at: str,
    user: str | None,
    store: StoreLocation,
    evidence: tuple[Path, ...],
    ruleset: tuple[Path, ...],
    ipset: tuple[Path, ...],
    max_evidence_age: str | None,
    claim_iface: str | None,
    notify: tuple[str, ...],
    notify_on: str | None,
    keep: int,
    probe_timeout: float | None,
    retries: int | None,
    concurrency: int | None,
    site_timeout: int | None,
    ssh_keepalive: int | None,
    quiet: bool,
    output_dir: str | None,
) -> int:
    from auditor.fleet.load import refuse_foreign_secrets  # noqa: PLC0415

    if output_dir is not None:
        raise UsageError(
            "-o/--output-dir: a nightly run writes reports/<site>-<UTC timestamp>/ (a fleet "
            "run, reports/fleet-<UTC timestamp>/) in the folder the schedule is printed from, "
            "and --keep prunes the older ones; one fixed folder would be written over every "
            "night (print the schedule from the folder the reports belong in)"
        )

    labelled = [(f"--notify (number {i + 1})", url) for i, url in enumerate(notify)]
    if fleet is not None:
        from auditor.fleet.load import load_fleet  # noqa: PLC0415

        # a fleet file that would fail every night fails now (its secrets are the env file's)
        read = load_fleet(fleet, secrets=False)
        alert = _fleet_alert(fleet, read.notify)
        labelled += [
            (f"{fleet}:{t.line}: notify[{i}]", t.written) for i, t in enumerate(read.notify)
        ]
        inventories = [load_inventory(p.inventory) for s in read.sites for p in s.pairs]
        source = click.get_current_context().get_parameter_source("store")
        if read.store is not None and source is click.core.ParameterSource.DEFAULT:
            # the fleet file's store, not the default: the nightly runs go to the shared
            # history, and the unit lets the run write there (a SQLite file's folder)
            store = read.store
        site = fleet.stem
        # claims at a site without probe_host run here: the unit keeps claim's capabilities
        fleet_claims = any(
            p.claim is not None for s in read.sites if s.probe_host is None for p in s.pairs
        )
        bound = job_bound(
            len(read.sites),
            concurrency or DEFAULT_SITES_AT_ONCE,
            site_timeout or DEFAULT_SITE_TIMEOUT_S,
        )
    elif inventory is not None:
        alert = ()
        inventories = [load_inventory(inventory)]
        site = inventories[0].site.name
        fleet_claims = False
        bound = DEFAULT_TIMEOUT_S
    else:
        raise UsageError("give INVENTORY or --fleet FLEET")
    # the env file holds the bind passwords too: none may be sent to a notify URL's host
    refuse_foreign_secrets(labelled, inventories)
    notify_targets(notify, secrets=False)  # a URL that could never alert is refused now
    workdir = Path.cwd()
    age = None
    if max_evidence_age is not None:  # checked now, written as the audit reads it
        given = EvidenceAge().convert(max_evidence_age, None, None)
        age = "none" if given is None else span(given)
    spec = ScheduleSpec(
        auditor=_auditor_executable(),
        inventory=inventory.absolute() if inventory is not None else None,
        workdir=workdir,
        store=store.absolute().argument,
        site=site,
        at=at,
        user=user,
        fleet=fleet.absolute() if fleet is not None else None,
        evidence=tuple(p.absolute() for p in evidence),
        ruleset=tuple(p.absolute() for p in ruleset),
        ipset=tuple(p.absolute() for p in ipset),
        claim=claim_iface,
        fleet_claims=fleet_claims,
        notify=notify,
        alert=alert,
        max_evidence_age=age,
        notify_on=notify_on,
        keep=keep,
        timeout_s=bound,
        probe_timeout=probe_timeout,
        retries=retries,
        concurrency=concurrency,
        site_timeout=site_timeout,
        ssh_keepalive=ssh_keepalive,
        quiet=quiet,
    )
    click.echo(render_systemd(spec) if kind == "systemd" else render_cron(spec), nl=False)
    return 0


def _fleet_alert(fleet: Path, targets: Sequence[NotifyTarget]) -> tuple[str, ...]:
    """The fleet file's notify URLs, as written, for the unit that alerts when a night could
    not run (the fleet run reads them itself; that unit must know them). A password written
    in one of them would be copied into the unit file: refused, ${VAR} asked for."""
    from auditor.fleet.notify import shown_url  # noqa: PLC0415

    for i, target in enumerate(targets):
        if shown_url(target.written) != target.written:
            raise UsageError(
                f"{fleet}: notify[{i}]: a password or token is written in the URL itself; a "
                "schedule would copy it into the unit or crontab (expected ${VAR} in its "
                "place, VAR set in the environment file; the URL is not shown)"
            )
    return tuple(t.written for t in targets)


@click.command(
    help="Send one message about a scheduled run's end through Apprise (what the schedule's "
    "OnFailure= unit and cron job run): exit 3 the run could not complete, 2 bad input, 1 "
    "findings or drift, 4 unproven. The exit status comes from --exit-code or systemd's "
    "MONITOR_EXIT_STATUS. A failed notification is a warning (exit 0)."
)
@click.option("--notify", multiple=True, required=True, metavar="URL",
              help="Apprise URL (repeatable; secrets as ${VAR} from the environment).")  # fmt: skip
@click.option("--unit", default="the scheduled audit", help="What ended (a unit name).")
@click.option("--exit-code", "code", type=click.IntRange(min=0, max=255), default=None,
              help="How it ended (default: $MONITOR_EXIT_STATUS).")  # fmt: skip
def notify(notify: tuple[str, ...], unit: str, code: int | None) -> int:
    import os  # noqa: PLC0415

    from auditor.fleet.notify import job_message, send  # noqa: PLC0415

    targets = notify_targets(notify)
    if code is None:
        status = os.environ.get("MONITOR_EXIT_STATUS", "")
        code = int(status) if status.isascii() and status.isdigit() else None
    message = job_message(unit, code, os.environ.get("MONITOR_SERVICE_RESULT"))
    for warning in send(message, targets):
        click.echo(printable(f"warning: {warning}"), err=True)
    return 0
