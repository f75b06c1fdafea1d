"""A nightly audit plus drift report, as systemd units or a crontab line (text only).

Unattended-safe by construction: the auditor never prompts, stdin is /dev/null, the run time is
bounded (`TimeoutStartSec=` for a oneshot service, `timeout` under cron) and two runs never
overlap (systemd does not start a service that is still running; under cron, `flock -n` skips
a run while the previous one holds the lock). Secrets stay out of the units: a bind password
comes from an environment file the admin creates with mode 0600.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import UsageError
from auditor.textout import quoted
from auditor.values import has_control, is_name, is_posix_user

DEFAULT_AT = "02:30"
NOTIFY_ON = ("findings", "drift", "always")  # fleet.spec.NotifyOn's values
DEFAULT_TIMEOUT_S = 2 * 3600
MAX_TIMEOUT_S = 7 * 86400
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_UNIT_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """Everything the scheduled job needs, as absolute paths."""

    auditor: Path  # the auditor executable
    inventory: Path | None  # the pair's inventory (None: a fleet job)
    workdir: Path  # reports/ goes here
    store: Path | str  # a path, or a store URL (never with a password)
    site: str  # the pair's site, or the fleet file's name
    at: str = DEFAULT_AT
    user: str | None = None
    timeout_s: int = DEFAULT_TIMEOUT_S
    env_file: Path | None = None  # holds AUDITOR_BIND_PASSWORD=..., mode 0600
    keep: int = 60  # report folders kept (the history store keeps every run)
    fleet: Path | None = None  # a fleet file: the job is `auditor fleet run`
    evidence: tuple[Path, ...] = ()  # passed through to `audit`
    ruleset: tuple[Path, ...] = ()
    ipset: tuple[Path, ...] = ()
    claim: str | None = None  # claim mode on this interface (as root, CLAIM_CAPABILITIES)
    # the fleet file claims on this host (a pair's `claim:` at a site without probe_host):
    # the fleet run needs claim mode's capabilities (claims at a probe host need them there)
    fleet_claims: bool = False
    notify: tuple[str, ...] = ()  # Apprise URLs as written (${VAR} from the env file)
    # more URLs for the failure alert only: a fleet file's own notify: (its run reads them)
    alert: tuple[str, ...] = ()
    # passed through as --max-evidence-age (7d, 12h, none; checked by the command); None: the
    # audit's default
    max_evidence_age: str | None = None
    # when a night alerts, as `fleet run --notify-on` (findings, drift, always); None: a pair
    # job's default (findings), a fleet file's own notify_on:
    notify_on: str | None = None
    # passed through when given (None: the command's default): the probes' --timeout and
    # --retries to `audit` or `fleet run`; a fleet's --concurrency, --site-timeout and
    # --ssh-keepalive to `fleet run`; --quiet to either
    probe_timeout: float | None = None
    retries: int | None = None
    concurrency: int | None = None
    site_timeout: int | None = None
    ssh_keepalive: int | None = None
    quiet: bool = False

    def fleet_options(self) -> list[tuple[str, object]]:
        """`fleet run`'s own options given (a pair job has none)."""
        given = [
            ("--concurrency", self.concurrency),
            ("--site-timeout", self.site_timeout),
            ("--ssh-keepalive", self.ssh_keepalive),
        ]
        return [(flag, value) for flag, value in given if value is not None]

    def __post_init__(self) -> None:
        """Every value here lands in a unit file or a crontab line that runs as root: a line
        break would add a directive or a command, so each value is checked, not escaped."""
        problems: list[str] = []
        if self.user is not None and not is_posix_user(self.user):
            problems.append(
                f"--user {quoted(self.user)}: expected a user name (letters, digits, '.', '_', "
                "'-'; "
                "not starting with '-'; at most 32)"
            )
        if (self.inventory is None) == (self.fleet is None):
            problems.append("give INVENTORY or --fleet FLEET (one of them)")
        if self.fleet is not None and (self.evidence or self.ruleset or self.ipset or self.claim):
            problems.append(
                "--evidence, --ruleset, --ipset and --claim are a pair's: with --fleet they "
                "belong in the fleet file (a pair's evidence:, ruleset:, ipset:, claim:)"
            )
        if self.fleet is None and self.fleet_options():
            problems.append(
                f"{', '.join(f for f, _ in self.fleet_options())}: a fleet run's (sites probed "
                "at once, a site's time limit, SSH keepalives): give --fleet FLEET"
            )
        if self.fleet_claims and self.fleet is None:
            problems.append("a fleet's claims without --fleet")
        if (self.claim or self.fleet_claims) and self.user not in (None, "root"):
            problems.append(
                f"--user {quoted(self.user)}: claim mode runs as root (it makes network namespaces "
                "under /run/netns; the unit keeps only claim mode's capabilities): leave "
                "--user out"
            )
        if self.max_evidence_age is not None and not re.fullmatch(
            r"none|[0-9]+[dhms0-9]*", self.max_evidence_age
        ):
            problems.append(f"--max-evidence-age {quoted(self.max_evidence_age)}: not a duration")
        if self.notify_on not in (None, *NOTIFY_ON):
            problems.append(f"--notify-on {quoted(self.notify_on)}: expected one of findings, "
                            "drift, always")  # fmt: skip
        urls = (*self.notify, *self.alert)
        for label, value in [("--claim", self.claim), *(("--notify", n) for n in urls)]:
            if value is not None and (has_control(value) or "\\" in value or "'" in value):
                problems.append(
                    f"{label}: a line break, a quote or a backslash cannot go into "
                    "a unit or a crontab line"
                )
        paths = {
            "the auditor executable": self.auditor,
            "INVENTORY": self.inventory,
            "--fleet": self.fleet,
            "the working folder": self.workdir,
            "--store": self.store,
            "the environment file": self.env_file,
            **{f"--evidence {i + 1}": p for i, p in enumerate(self.evidence)},
            **{f"--ruleset {i + 1}": p for i, p in enumerate(self.ruleset)},
            **{f"--ipset {i + 1}": p for i, p in enumerate(self.ipset)},
        }
        for label, path in paths.items():
            # a backslash at the end of a unit line continues it onto the next
            if path is not None and (has_control(str(path)) or "\\" in str(path)):
                problems.append(
                    f"{label} {quoted(str(path))}: a path with a control character, a line "
                    "break or "
                    "a backslash cannot go into a unit or a crontab line (rename it)"
                )
        if not is_name(self.site):
            problems.append(f"site name {quoted(self.site)}: expected a name")
        if not 1 <= self.keep <= 100_000 or not 1 <= self.timeout_s <= MAX_TIMEOUT_S:
            problems.append("--keep or the timeout is out of range")
        if problems:
            raise UsageError("\n".join(problems))

    @property
    def unit_name(self) -> str:
        return "auditor-" + (_UNIT_SAFE.sub("-", self.site).strip("-") or "site")

    def hour_minute(self) -> tuple[int, int]:
        m = _HHMM.fullmatch(self.at)
        if m is None:
            raise UsageError(f"--at {quoted(self.at)}: expected a time of day as HH:MM (24 h)")
        return int(m.group(1)), int(m.group(2))


def job_script(spec: ScheduleSpec) -> str:
    """The POSIX sh job: audit, then the drift report; the audit's exit code 2 or 3 (bad input,
    could not run) ends the job with that code, its 1 (findings) and 4 (unproven) do not stop
    the drift. The job's exit code is what alerts (`OnFailure=`, the cron line), by
    --notify-on as `fleet run` tells (`fleet.notify.alerts`): `drift`, the drift report's
    (1 on drift that matters against the last compliant run, or the previous run before the
    first compliant one); `findings` and `always`, the worse of the audit's and the drift
    report's, so findings alert every night they persist, not only while they are drift. A
    fleet job is `auditor fleet run` alone (its report and its message are its own)."""
    q = shlex.quote
    auditor, store = q(str(spec.auditor)), q(str(spec.store))
    if spec.fleet is not None:
        notify = "".join(f" --notify {q(n)}" for n in spec.notify)
        if spec.notify_on is not None:
            notify += f" --notify-on {q(spec.notify_on)}"
        return (
            f"exec {auditor} fleet run {q(str(spec.fleet))} --store {store} --keep {spec.keep}"
            f"{notify}{_passed(spec, spec.fleet_options())} </dev/null"
        )
    inv = q(str(spec.inventory))
    given = "".join(
        f" --{flag} {q(str(path))}"
        for flag, paths in (
            ("evidence", spec.evidence),
            ("ruleset", spec.ruleset),
            ("ipset", spec.ipset),
        )
        for path in paths
    )
    if spec.claim is not None:
        given += f" --claim {q(spec.claim)}"
    audit = (
        f"{auditor} audit {inv} --store {store} --keep {spec.keep}{given}{_passed(spec, [])} "
        "</dev/null; rc=$?; "
        f'[ "$rc" -le 1 ] || [ "$rc" -eq 4 ] || exit "$rc"; '
    )
    drift = f"{auditor} drift {inv} --store {store} --baseline last-green --format text </dev/null"
    if spec.notify_on == "drift":
        return f"{audit}exec {drift}"
    # the worse of the two by the one verdict's order: 0 compliant, 4 unproven, 1 findings
    return (
        f'{audit}{drift}; d=$?; [ "$d" -le 1 ] || [ "$d" -eq 4 ] || exit "$d"; '
        'for c in 1 4; do if [ "$rc" -eq "$c" ] || [ "$d" -eq "$c" ]; then exit "$c"; fi; '
        "done; exit 0"
    )


def _passed(spec: ScheduleSpec, own: list[tuple[str, object]]) -> str:
    """The options `audit` and `fleet run` share, given to the schedule, then the command's
    `own`: each a word of its own, quoted."""
    given: list[tuple[str, object]] = [
        ("--max-evidence-age", spec.max_evidence_age),
        ("--timeout", spec.probe_timeout),
        ("--retries", spec.retries),
        *own,
    ]
    words = "".join(
        f" {flag} {shlex.quote(str(value))}" for flag, value in given if value is not None
    )
    return words + (" --quiet" if spec.quiet else "")


def job_bound(sites: int, at_once: int, site_timeout: int) -> int:
    """Seconds a fleet job may run before it is stopped (`TimeoutStartSec=`, cron's
    `timeout`): each wave of `at_once` sites may take the site timeout, plus half an hour for
    the probes run here, the judging and the report; at least the pair job's two hours. A
    bound shorter than the site timeout would stop every night whose slowest site is slow."""
    waves = -(-max(sites, 1) // at_once)
    bound = max(DEFAULT_TIMEOUT_S, waves * site_timeout + 1800)
    if bound > MAX_TIMEOUT_S:
        raise UsageError(
            f"--site-timeout {site_timeout}: {waves} wave(s) of --concurrency {at_once} "
            f"site(s) would make the nightly job's bound {bound} s, over a week (lower "
            "--site-timeout, or raise --concurrency)"
        )
    return bound


def _systemd_quote(text: str) -> str:
    """One systemd command-line word: double quotes, with `$`, `%`, `\\` and `"` escaped
    (systemd expands $VAR and %-specifiers inside ExecStart=)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    return f'"{text}"'


# Claim mode adds links and addresses (CAP_NET_ADMIN), sends ARP probes (CAP_NET_RAW) and
# makes network namespaces: `ip netns add` mounts them under /run/netns and setns(2) enters
# them (CAP_SYS_ADMIN). Without the third, `ip netns add` fails ("mount --make-shared
# /run/netns failed: Operation not permitted"). It runs as root (it checks), and writes
# /run/netns and its state /run/auditor-claim, which ProtectSystem=strict makes read-only.
CLAIM_CAPABILITIES = "CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN"
CLAIM_PATHS = ("/run/netns", "/run/auditor-claim")


def _path_word(path: str) -> str:
    """One path of a space-separated path list (`ReadWritePaths=`): quoted, so a space in it
    does not make two paths of it (the working folder read-only, two bogus ones writable)."""
    if re.fullmatch(r"[A-Za-z0-9_./+:@=,-]+", path):
        return path
    return '"' + path.replace('"', '\\"').replace("%", "%%") + '"'


def _hardening(spec: ScheduleSpec) -> str:
    """systemd sandboxing: no privilege gain, the file system read-only but for the working
    folder (reports/, the SQLite store), a private /tmp, and no capability but claim mode's
    (with its two folders under /run writable, made before the sandbox is, when it claims)."""
    writable = [str(spec.workdir)]
    store = Path(str(spec.store))
    if "://" not in str(spec.store) and store.is_absolute() and spec.workdir not in store.parents:
        writable.append(str(store.parent))
    claims = bool(spec.claim or spec.fleet_claims)
    caps = CLAIM_CAPABILITIES if claims else ""
    folders = ""
    if claims:
        writable += CLAIM_PATHS
        # `+`: run without the sandbox (ReadWritePaths= needs the folders to exist)
        folders = f"ExecStartPre=+/bin/mkdir -p {' '.join(CLAIM_PATHS)}\n"
    return (
        "NoNewPrivileges=yes\n"
        "ProtectSystem=strict\n"
        "ProtectHome=read-only\n"
        "PrivateTmp=yes\n"
        f"ReadWritePaths={' '.join(_path_word(w) for w in writable)}\n"
        f"CapabilityBoundingSet={caps}\n"
        f"{folders}"
    )


def _failure_unit(spec: ScheduleSpec, env_file: Path) -> str:
    """Run by OnFailure=: one message that says how the night ended (systemd hands over the
    exit status in MONITOR_EXIT_STATUS): 3 could not run, 2 bad input, 1 findings or drift."""
    user = f"User={spec.user}\n" if spec.user else ""
    command = [str(spec.auditor), "notify", "--unit", f"{spec.unit_name}.service"]
    for url in (*spec.notify, *spec.alert):
        command += ["--notify", url]
    return (
        "[Unit]\n"
        f"Description=Alert: how the nightly firewall audit of {spec.site} ended\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{user}"
        "# Secrets in the notify URLs (${VAR}) come from this file, mode 0600.\n"
        f"EnvironmentFile=-{env_file}\n"
        "StandardInput=null\n"
        "NoNewPrivileges=yes\n"
        "ProtectSystem=strict\n"
        "PrivateTmp=yes\n"
        "CapabilityBoundingSet=\n"
        # through sh, as the job: systemd takes the executable's path as written (no `$$`,
        # no quotes), so an auditor installed under a path with either would not start
        f"ExecStart=/bin/sh -c {_systemd_quote('exec ' + shlex.join(command) + ' </dev/null')}\n"
    )


def systemd_units(spec: ScheduleSpec) -> dict[str, str]:
    """`{unit file name: text}`: a oneshot service and its timer (and, with --notify, the
    unit its OnFailure= starts)."""
    hour, minute = spec.hour_minute()
    name = spec.unit_name
    env_file = spec.env_file or Path(f"/etc/auditor/{name}.env")
    user = f"User={spec.user}\n" if spec.user else ""
    on_failure = f"OnFailure={name}-failed.service\n" if spec.notify or spec.alert else ""
    if on_failure and spec.fleet is None and spec.notify_on == "always":
        on_failure += f"OnSuccess={name}-failed.service\n"  # every night, compliant too
    # A fleet run sends its own message about findings, unproven pairs and drift (by its
    # --notify-on): only a night that could not run (2, 3, a crash) is a failure then.
    success = "SuccessExitStatus=1 4\n" if spec.fleet is not None else ""
    what = "Fleet audit" if spec.fleet is not None else "Firewall audit and drift report"
    service = (
        "[Unit]\n"
        f"Description={what} of {spec.site}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        f"{on_failure}"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{user}"
        f"WorkingDirectory={str(spec.workdir).replace('%', '%%')}\n"
        "# The bind password, if any: AUDITOR_BIND_PASSWORD=... in this file, mode 0600.\n"
        f"EnvironmentFile=-{env_file}\n"
        "StandardInput=null\n"
        "# A oneshot service is bounded by its start timeout (RuntimeMaxSec does not apply).\n"
        f"TimeoutStartSec={spec.timeout_s}\n"
        "Nice=10\n"
        f"{success}"
        f"{_hardening(spec)}"
        f"ExecStart=/bin/sh -c {_systemd_quote(job_script(spec))}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Nightly firewall audit of {spec.site}\n"
        "\n"
        "[Timer]\n"
        f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00\n"
        "# A run missed while the machine was off starts at the next boot. A run still going\n"
        "# when the timer fires again is not started twice: systemd starts a unit only once.\n"
        "Persistent=true\n"
        f"Unit={name}.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    units = {f"{name}.service": service, f"{name}.timer": timer}
    if spec.notify or spec.alert:
        units[f"{name}-failed.service"] = _failure_unit(spec, env_file)
    return units


def render_systemd(spec: ScheduleSpec) -> str:
    """Both units, each after a comment naming its file, with how to install them."""
    units = systemd_units(spec)
    name = spec.unit_name
    out = [
        f"# Install: save each unit below as /etc/systemd/system/<file name>, then\n"
        f"#   systemctl daemon-reload && systemctl enable --now {name}.timer\n"
        f"# Run once by hand: systemctl start {name}.service; logs: journalctl -u {name}\n"
    ]
    for filename, text in units.items():
        out.append(f"\n# ---- {filename} ----\n{text}")
    return "".join(out)


def render_cron(spec: ScheduleSpec) -> str:
    """A crontab line (with comments) for `crontab -e`, or /etc/cron.d with a user field."""
    hour, minute = spec.hour_minute()
    q = shlex.quote
    lock = spec.workdir / "reports" / f".{spec.unit_name}.lock"
    env_file = spec.env_file or Path(f"/etc/auditor/{spec.unit_name}.env")
    job = job_script(spec)
    if spec.notify or spec.alert:
        # the same message as systemd's OnFailure= unit; a fleet notifies its findings and
        # unproven pairs itself (1, 4); a pair job with --notify-on always every night
        if spec.fleet is not None:
            when = '[ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 4 ]'
        else:
            when = "true" if spec.notify_on == "always" else '[ "$rc" -ne 0 ]'
        alert = " ".join(
            [q(str(spec.auditor)), "notify", "--unit", q(spec.unit_name), "--exit-code", '"$rc"']
            + [f"--notify {q(n)}" for n in (*spec.notify, *spec.alert)]
        )
        job = f'/bin/sh -c {q(job)}; rc=$?; if {when}; then {alert} </dev/null; fi; exit "$rc"'
    script = f"if [ -r {q(str(env_file))} ]; then set -a; . {q(str(env_file))}; set +a; fi; " + job
    command = (
        f"cd {q(str(spec.workdir))} && mkdir -p reports && "
        f"flock -n {q(str(lock))} timeout --kill-after=60 {spec.timeout_s} "
        f"/bin/sh -c {q(script)}"
    )
    # cron turns an unescaped % into a newline.
    command = command.replace("%", "\\%")
    who = f"{spec.user} " if spec.user else ""
    # Debian's cron ignores /etc/cron.d files whose names hold a dot (run-parts naming).
    where = "/etc/cron.d/" + spec.unit_name.replace(".", "-") if spec.user else "crontab -e"
    return (
        f"# Nightly firewall audit and drift report of {spec.site} (install with {where}).\n"
        "# flock -n skips a run while the previous one still holds the lock; timeout bounds it.\n"
        f"{minute} {hour} * * * {who}{command}\n"
    )
