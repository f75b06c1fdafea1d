"""Commands: fleet run, fleet report. Parse options, call `auditor.fleet`, print."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from auditor.cli.options import (
    EvidenceAge,
    IntRange,
    SafePath,
    StoreParam,
    max_evidence_age_option,
    notify_targets,
    retries_option,
    timeout_option,
)
from auditor.fleet.spec import NotifyOn
from auditor.history import DEFAULT_STORE
from auditor.history.location import StoreLocation
from auditor.model.verdict import exit_code
from auditor.probe.engine import ProbeOptions
from auditor.textout import printable

# what `fleet run` accepts (also `schedule --fleet`'s, which passes them through)
SITES_AT_ONCE = IntRange(min=1, max=256)
SITE_TIMEOUT = IntRange(min=10, max=7 * 86400)
SSH_KEEPALIVE = IntRange(min=1, max=3600)
DEFAULT_SITES_AT_ONCE = 4
DEFAULT_SITE_TIMEOUT_S = 3600


class _Printer:
    """The fleet run's observer: one line per pair, a warning per site that failed."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def site_failed(self, site: str, reason: str) -> None:
        click.echo(printable(f"warning: site {site}: {reason}"), err=True)

    def warning(self, text: str) -> None:
        click.echo(printable(f"warning: {text}"), err=True)

    def pair_done(self, outcome: object) -> None:
        from auditor.fleet.run import PairOutcome  # noqa: PLC0415

        assert isinstance(outcome, PairOutcome)
        if not self.quiet:
            click.echo(
                printable(
                    f"{outcome.site}/{outcome.pair}: {outcome.verdict.value} -> {outcome.folder}"
                )
            )


@click.group(help="Audit many pairs at many sites into one history, one report, one alert.")
def fleet() -> None:
    pass


@fleet.command(
    "run",
    help="Audit every pair of FLEET (a YAML fleet file: sites, each with an optional SSH probe "
    "host and its pairs). Every input of every pair is read and checked first (bad input: "
    "exit 2, nothing run). Sites are probed in parallel (--concurrency), over SSH where a "
    "site has a probe_host; each pair gets its report folder under -o DIR/<site>/<pair>/ and "
    "its run in the history store; then the fleet report (index.html, fleet.json, junit.xml) "
    "and, when a pair got worse or drift that matters appeared, one notification.\n\n"
    "Exit codes: the worst pair's: 0 every pair compliant; 4 unproven (nothing wrong found, "
    "but required flows decided by no evidence); 1 findings; 3 a pair could not be judged "
    "(its site could not be reached, nothing could be probed); 2 bad input.",
)
@click.argument("fleet_file", type=SafePath(dir_okay=False, path_type=Path), metavar="FLEET")
@click.option(
    "-o",
    "--output-dir",
    type=SafePath(file_okay=False, path_type=Path),
    default=None,
    help="Where the pairs' report folders and the fleet report go "
    "(default: reports/fleet-<UTC timestamp>/).",
)
@click.option("--store", type=StoreParam(), default=None, help="The history store (URL).")
@click.option(
    "--notify",
    "notify",
    multiple=True,
    metavar="URL",
    help="An Apprise URL to notify (repeatable; added to the fleet file's). Write secrets as "
    "${VAR}: they are read from the environment and never shown.",
)
@click.option(
    "--notify-on",
    type=click.Choice([n.value for n in NotifyOn]),
    default=None,
    help="findings (default): a pair is not compliant (every night it stays so) or drift "
    "that matters appeared; drift: only drift that matters; always: every run.",
)
@click.option(
    "--concurrency",
    "sites",
    type=SITES_AT_ONCE,
    default=DEFAULT_SITES_AT_ONCE,
    show_default=True,
    help="Sites probed at once; also the worker processes that judge the pairs as their "
    "evidence arrives (at most the CPUs).",
)
@click.option(
    "--site-timeout",
    type=SITE_TIMEOUT,
    default=DEFAULT_SITE_TIMEOUT_S,
    show_default=True,
    metavar="S",
    help="Seconds a site's probes may take before the site counts as unreachable.",
)
@click.option(
    "--keep",
    type=IntRange(min=1, max=100_000),
    default=None,
    metavar="N",
    help="Keep only the newest N fleet run folders in the default place "
    "(reports/fleet-<timestamp>/, those holding a fleet.json; this run's always); older ones "
    "are removed after the run. Default: keep all.",
)
@click.option(
    "--ssh-keepalive",
    type=SSH_KEEPALIVE,
    default=15,
    show_default=True,
    metavar="S",
    help="Seconds between SSH keepalives to a probe host; 3 unanswered in a row and the "
    "connection counts as lost (its pairs not answered yet: incomplete).",
)
@timeout_option
@retries_option
@max_evidence_age_option
@click.option("-q", "--quiet", is_flag=True, help="No line per pair.")
def run(
    *,
    fleet_file: Path,
    output_dir: Path | None,
    store: StoreLocation | None,
    notify: tuple[str, ...],
    notify_on: str | None,
    sites: int,
    site_timeout: int,
    ssh_keepalive: int,
    timeout: float,
    retries: int,
    max_evidence_age: timedelta | None,
    keep: int | None,
    quiet: bool,
) -> int:
    from auditor.fleet.run import FleetRequest, ready_fleet, run_fleet  # noqa: PLC0415

    request = FleetRequest(
        fleet=fleet_file,
        output_dir=output_dir,
        store=store,
        notify=notify_targets(notify),
        notify_on=NotifyOn(notify_on) if notify_on else None,
        concurrency=sites,
        probe=ProbeOptions(timeout=timeout, retries=retries),
        site_timeout=float(site_timeout),
        ssh_keepalive=float(ssh_keepalive),
        max_evidence_age=max_evidence_age,
    )
    ready = ready_fleet(request)  # every input of every pair: nothing is bad input after it
    result = run_fleet(ready, observer=_Printer(quiet))
    if keep is not None and output_dir is None:  # as audit --keep: the default place only
        from auditor.fleet.prune import prune_fleet_runs  # noqa: PLC0415

        prune_fleet_runs(ready.output, keep)
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.verdict.value] = counts.get(outcome.verdict.value, 0) + 1
    if not quiet:
        tally = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        click.echo(printable(f"fleet: {len(result.outcomes)} pairs ({tally}); {ready.output}"))
    return exit_code(result.verdict)


@fleet.command(
    "report",
    help="Write the fleet report from the history store: index.html (per pair: verdict, since "
    "when, last green run, flows blocked/failing/unverified, drift that matters, a trend "
    "sparkline, a link to the pair's report), fleet.json and junit.xml (one test suite per "
    "pair). `fleet run` writes the same at its end.\n\n"
    "A pair whose newest run is older than --max-age is stale: counted incomplete (its audits "
    "stopped: it is vouched for by nothing now). A pair whose history in the store is damaged "
    "is counted incomplete, with the run named; the rest are reported.\n\n"
    "With FLEET (a fleet file, checked as `fleet run` checks it), only its pairs are "
    "reported (a pair of it with no run recorded is incomplete), from its store: unless "
    "--store is given. Without FLEET: every pair in the store (`auditor history retire` "
    "removes one that left the fleet).\n\n"
    "Exit code: the worst pair's newest verdict (0, 4, 1 or 3); 2 on bad input.",
)
@click.argument(
    "fleet_file",
    type=SafePath(dir_okay=False, path_type=Path),
    metavar="[FLEET]",
    required=False,
)
@click.option("--store", type=StoreParam(), default=str(DEFAULT_STORE), show_default=True,
              help="The history store (URL).")  # fmt: skip
@click.option(
    "-o",
    "--output-dir",
    type=SafePath(file_okay=False, path_type=Path),
    default=Path("reports/fleet"),
    show_default=True,
    help="Where index.html, fleet.json and junit.xml go: a new or empty folder, or an earlier "
    "fleet report's.",
)
@click.option(
    "--max-age",
    type=EvidenceAge("--max-age"),
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="A pair whose newest run started longer ago than this (e.g. 36h, 7d) is stale: "
    "counted incomplete (exit 3). 0 or none: any age.",
)
def report(
    fleet_file: Path | None, store: StoreLocation, output_dir: Path, max_age: timedelta | None
) -> int:
    from auditor.fleet.report import fleet_pairs, write_fleet_report  # noqa: PLC0415
    from auditor.history.store import Store  # noqa: PLC0415
    from auditor.report.folder import check_fleet_folder  # noqa: PLC0415

    groups = None
    if fleet_file is not None:
        groups, written = fleet_pairs(fleet_file)
        source = click.get_current_context().get_parameter_source("store")
        if written is not None and source is click.core.ParameterSource.DEFAULT:
            store = written  # the fleet's own history, as `fleet run` writes it
    check_fleet_folder(output_dir.absolute())
    summary = write_fleet_report(Store(store), output_dir, groups, max_age=max_age)
    click.echo(
        printable(
            f"fleet report of {len(summary.pairs)} pair(s): {summary.verdict.value}; "
            f"{output_dir / 'index.html'}"
        )
    )
    return summary.exit_code
