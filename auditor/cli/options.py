"""Options and output helpers shared by the commands."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.utils import format_filename

from auditor import outputs
from auditor.errors import RunError, UsageError
from auditor.evidence.age import DEFAULT_MAX_AGE, span
from auditor.flows.limits import DEFAULT_MAX_FLOWS, MAX_FLOWS_CEILING
from auditor.history import DEFAULT_STORE
from auditor.history.location import StoreLocation, StoreURLError, parse_store
from auditor.model.verdict import Acceptance
from auditor.outputs import STDOUT
from auditor.probe.options import ProbeOptions
from auditor.textout import printable, quoted
from auditor.values import has_control, interface_problem

if TYPE_CHECKING:
    from auditor.fleet.spec import NotifyTarget

F = TypeVar("F", bound=Callable[..., Any])


class IntRange(click.IntRange):
    """click.IntRange in ASCII digits: int() also reads Arabic-Indic and other digits."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip().isascii():
            self.fail(f"{quoted(value)} is not a number in ASCII digits", param, ctx)
        return super().convert(value, param, ctx)


class FloatRange(click.FloatRange):
    """click.FloatRange in ASCII digits, as IntRange; NaN and the infinities are refused (NaN
    compares false with both bounds, so a range alone lets it through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip().isascii():
            self.fail(f"{quoted(value)} is not a number in ASCII digits", param, ctx)
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{quoted(value)} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class InterfaceName(click.ParamType):
    """A network interface name, checked the same way by every command (values.py)."""

    name = "IFACE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        problem = interface_problem(text)
        if problem is not None:
            self.fail(f"{quoted(text)} {problem}", param, ctx)
        return text


class SafePath(click.Path):
    """A path option or argument without control characters: paths reach terminals, error
    lines, reports, unit files and crontab lines, where a line break forges a line."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and has_control(value):
            self.fail(f"{printable(value)}: control characters in a path are refused", param, ctx)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            # click shows an undecodable byte of a file name as U+FFFD: show it as \xNN
            if isinstance(value, str):
                message = exc.message.replace(format_filename(value), printable(value))
                raise click.BadParameter(message, ctx, param) from None
            raise


class OutputFile(SafePath):
    """An output file option: an existing target that is no regular file (a device, a FIFO, a
    socket, a folder) is refused here, before any work; `-` is standard output."""

    def __init__(self, *, allow_dash: bool = True) -> None:
        super().__init__(dir_okay=False, allow_dash=allow_dash, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "-" and not self.allow_dash:
            self.fail("a file is needed here, not standard output (-)", param, ctx)
        path = super().convert(value, param, ctx)
        if isinstance(path, Path) and (path != STDOUT or not self.allow_dash):
            problem = outputs.target_problem(path)
            if problem is not None:
                self.fail(f"{path}: {problem}", param, ctx)
        return path


class OutputFolder(SafePath):
    """An output folder option: an existing target that is no folder is refused here."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if isinstance(path, Path):
            problem = outputs.folder_problem(path)
            if problem is not None:
                self.fail(f"{path}: {problem}", param, ctx)
        return path


class AcceptUnverified(click.ParamType):
    """`N` flows or `N%` of the required flows."""

    name = "N|N%"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Acceptance:
        if isinstance(value, Acceptance):
            return value
        accept = Acceptance.parse(str(value))
        if accept is None:
            self.fail(
                f"{value!r} is not a number of flows or a percentage (expected N or N%, 0-100%)"
            )
        return accept


def accept_unverified_option(func: F) -> F:
    return click.option(
        "--accept-unverified",
        "accept",
        type=AcceptUnverified(),
        default="0",
        show_default=True,
        metavar="N|N%",
        help="Accept up to N required flows (or N% of them) that no evidence decided (not on "
        "this host, untested) as compliant. Without it such a run is UNPROVEN (exit 4).",
    )(func)


inventory_argument = click.argument(
    "inventory",
    type=SafePath(dir_okay=False, path_type=Path),
    metavar="INVENTORY",
)


DURATION_RE = re.compile(
    r"(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m(?:in)?)?(?:([0-9]{1,9})s)?"
)


class Duration(click.ParamType):
    """24h, 90m, 2d, 1h30m, 45s, or plain seconds."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip().lower().replace(" ", "")
        if re.fullmatch(r"[0-9]{1,9}", text):
            seconds = int(text)
        else:
            match = DURATION_RE.fullmatch(text)
            if not text or match is None:
                self.fail(f"{quoted(value)} is not a duration (expected e.g. 24h, 90m, 2d, 1h30m)")
            d, h, m, s = (int(part) if part else 0 for part in match.groups())
            seconds = ((d * 24 + h) * 60 + m) * 60 + s
        if seconds <= 0:
            self.fail(f"{quoted(value)} is not a positive duration")
        return timedelta(seconds=seconds)


class EvidenceAge(Duration):
    """--max-evidence-age (or another age limit): a duration, or 0/none for any age (None)."""

    def __init__(self, option: str = "--max-evidence-age") -> None:
        self.option = option

    def convert(  # type: ignore[override]
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta | None:
        if value is None or str(value).strip().lower() in ("0", "none"):
            return None
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:  # one line, as every bad input
            raise UsageError(f"{self.option}: {exc.message} (or 0/none)") from None


def max_evidence_age_option(func: F) -> F:
    return click.option(
        "--max-evidence-age",
        type=EvidenceAge(),
        default=span(DEFAULT_MAX_AGE),
        show_default=True,
        metavar="DURATION",
        help="Records observed longer ago than this (e.g. 7d, 12h, 30m) are not used as proof: "
        "their flows count as having no evidence, with a warning naming the file and the age. "
        "0 or none: evidence of any age.",
    )(func)


def rules_option(func: F) -> F:
    return click.option(
        "--rules",
        "rules",
        multiple=True,
        type=SafePath(exists=True, file_okay=False, path_type=Path),
        help="A folder of requirement packs (YAML) that adds or overrides provider kinds. "
        "Repeatable; later folders win.",
    )(func)


def no_resolve_option(func: F) -> F:
    return click.option(
        "--no-resolve",
        is_flag=True,
        help="Keep hostname endpoints as names instead of resolving them to A/AAAA records.",
    )(func)


def max_flows_option(func: F) -> F:
    return click.option(
        "--max-flows",
        type=IntRange(min=1, max=MAX_FLOWS_CEILING),
        default=DEFAULT_MAX_FLOWS,
        show_default=True,
        metavar="N",
        help="Refuse an inventory that asks for more flows than this (counted before any is "
        "built: endpoints x ports x source addresses).",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=OutputFile(),
        default=None,
        help="Write to this file (atomically) instead of standard output (- for standard output).",
    )(func)


# --timeout and --retries: probe and audit (in probe_options) and fleet run alike.
# what `--timeout` and `--retries` accept (also `schedule`'s, which passes them through)
PROBE_TIMEOUT = FloatRange(min=0.05, max=600)
PROBE_RETRIES = IntRange(min=0, max=10)
timeout_option = click.option(
    "--timeout",
    type=PROBE_TIMEOUT,
    default=3.0,
    show_default=True,
    help="Seconds per probe before a silent destination counts as filtered.",
)
retries_option = click.option(
    "--retries",
    type=PROBE_RETRIES,
    default=0,
    show_default=True,
    help="Extra attempts for a connect that got no answer.",
)


def notify_targets(urls: tuple[str, ...], *, secrets: bool = True) -> tuple[NotifyTarget, ...]:
    """`--notify URL`... as targets; a URL that is no notification target is a usage error
    that names its position, never the URL (it may hold a secret). A password or token
    written in the URL itself is refused: on a command line it is in the process list (and
    in a printed schedule, in the unit file); it belongs in `${VAR}`. `secrets=False`: the
    `${VAR}`s need not be set here (a schedule is printed where its secrets are not)."""
    from auditor.fleet.load import expand_notify  # noqa: PLC0415
    from auditor.fleet.notify import shown_url  # noqa: PLC0415

    found = []
    for i, url in enumerate(urls):
        target, why = expand_notify(url, secrets=secrets)
        if target is None:
            raise UsageError(f"--notify (number {i + 1}): {why} (the URL is not shown)")
        if shown_url(url) != url:
            raise UsageError(
                f"--notify (number {i + 1}): a password or token is written in the URL "
                "itself, where the process list shows it (expected ${VAR} in its place, VAR "
                "set in the environment; the URL is not shown)"
            )
        found.append(target)
    return tuple(found)


def probe_options(func: F) -> F:
    """--timeout, --concurrency, --per-destination, --retries: for probe and audit alike."""
    options = [
        timeout_option,
        click.option(
            "--concurrency",
            type=IntRange(min=1, max=8192),
            default=ProbeOptions().concurrency,
            show_default=True,
            help="Checks in flight at once (each holds a socket; the descriptor limit is raised "
            "to fit).",
        ),
        click.option(
            "--per-destination",
            type=IntRange(min=1, max=8192),
            default=ProbeOptions().per_destination,
            show_default=True,
            help="Checks in flight at once against one destination address.",
        ),
        retries_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def write_output(text: str, output: Path | None) -> None:
    """Print `text` (no output, or `-`), or write it to `output` atomically (never half a
    file, never over a device or a FIFO)."""
    if output is None or output == STDOUT:
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(output, text)


def write_atomic(path: Path, text: str) -> None:
    try:
        outputs.write_atomic(path, text)
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


def claim_options(func: F) -> F:
    """--claim IFACE, --claim-mode, --claim-gateway: borrow the pair's free addresses."""
    options = [
        click.option(
            "--claim",
            "claim_iface",
            metavar="IFACE",
            default=None,
            help="Claim mode (root): borrow each source address this host does not hold on "
            "IFACE, the interface on the pair's segment, after RFC 5227 / DAD duplicate "
            "detection; an address in use is never configured (status in-use). See docs/claim.md.",
        ),
        click.option(
            "--claim-mode",
            type=click.Choice(["ipvlan", "macvlan"]),
            default=None,
            help="Child link type. Default: ipvlan (the parent's MAC), else macvlan, said why.",
        ),
        click.option(
            "--claim-gateway",
            "claim_gateways",
            multiple=True,
            metavar="IP",
            help="Default gateway for claimed addresses, one per family. Default: IFACE's own "
            "default route when it is on the address's subnet.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class StoreParam(click.ParamType):
    """A history store: `sqlite:///PATH`, a path, or `postgresql://USER@HOST[:PORT]/DB`."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, StoreLocation):
            return value
        if value == "-":
            self.fail("the history store is a file or a database, not standard output", param, ctx)
        try:
            location = parse_store(value)
        except StoreURLError as exc:
            self.fail(str(exc), param, ctx)
        if location.path is not None:  # an SQLite file: never a device, a FIFO or a folder
            problem = outputs.target_problem(location.path)
            if problem is not None:
                self.fail(f"{printable(location.path)}: {problem}", param, ctx)
        return location


def store_option(func: F) -> F:
    return click.option(
        "--store",
        type=StoreParam(),
        default=str(DEFAULT_STORE),
        show_default=True,
        help="The history store: an SQLite file (a path or sqlite:///PATH) or a PostgreSQL "
        "database (postgresql://USER@HOST[:PORT]/DB; the password from PGPASSWORD or "
        "PGPASSFILE, never in the URL).",
    )(func)
