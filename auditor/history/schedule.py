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
from auditor.values import has_control, is_name, is_posix_user

DEFAULT_AT = "02:30"
DEFAULT_TIMEOUT_S = 2 * 3600
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_UNIT_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """Everything the scheduled job needs, as absolute paths."""

    auditor: Path  # the auditor executable
    inventory: Path
    workdir: Path  # reports/ goes here
    store: Path
    site: str
    at: str = DEFAULT_AT
    user: str | None = None
    timeout_s: int = DEFAULT_TIMEOUT_S
    env_file: Path | None = None  # holds AUDITOR_BIND_PASSWORD=..., mode 0600
    keep: int = 60  # report folders kept (the history store keeps every run)

    def __post_init__(self) -> None:
        """Every value here lands in a unit file or a crontab line that runs as root: a line
        break would add a directive or a command, so each value is checked, not escaped."""
        problems: list[str] = []
        if self.user is not None and not is_posix_user(self.user):
            problems.append(
                f"--user {self.user!r}: expected a user name (letters, digits, '.', '_', '-'; "
                "not starting with '-'; at most 32)"
            )
        paths = {
            "the auditor executable": self.auditor,
            "INVENTORY": self.inventory,
            "the working folder": self.workdir,
            "--store": self.store,
            "the environment file": self.env_file,
        }
        for label, path in paths.items():
            # a backslash at the end of a unit line continues it onto the next
            if path is not None and (has_control(str(path)) or "\\" in str(path)):
                problems.append(
                    f"{label} {str(path)!r}: a path with a control character, a line break or "
                    "a backslash cannot go into a unit or a crontab line (rename it)"
                )
        if not is_name(self.site):
            problems.append(f"site name {self.site!r}: expected a name")
        if not 1 <= self.keep <= 100_000 or not 1 <= self.timeout_s <= 7 * 86400:
            problems.append("--keep or the timeout is out of range")
        if problems:
            raise UsageError("\n".join(problems))

    @property
    def unit_name(self) -> str:
        return "auditor-" + (_UNIT_SAFE.sub("-", self.site).strip("-") or "site")

    def hour_minute(self) -> tuple[int, int]:
        m = _HHMM.fullmatch(self.at)
        if m is None:
            raise UsageError(f"--at {self.at!r}: expected a time of day as HH:MM (24 h)")
        return int(m.group(1)), int(m.group(2))


def job_script(spec: ScheduleSpec) -> str:
    """The POSIX sh job: audit, then the drift report; the audit's exit code 2 or 3 (bad input,
    could not run) ends the job with that code, its 1 (findings) and 4 (unproven) do not stop
    the drift."""
    q = shlex.quote
    auditor, inv, store = q(str(spec.auditor)), q(str(spec.inventory)), q(str(spec.store))
    return (
        f"{auditor} audit {inv} --store {store} --keep {spec.keep} </dev/null; rc=$?; "
        f'[ "$rc" -le 1 ] || [ "$rc" -eq 4 ] || exit "$rc"; '
        f"exec {auditor} drift {inv} --store {store} --baseline last-green --format text "
        "</dev/null"
    )


def _systemd_quote(text: str) -> str:
    """One systemd command-line word: double quotes, with `$`, `%`, `\\` and `"` escaped
    (systemd expands $VAR and %-specifiers inside ExecStart=)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    return f'"{text}"'


def systemd_units(spec: ScheduleSpec) -> dict[str, str]:
    """`{unit file name: text}`: a oneshot service and its timer."""
    hour, minute = spec.hour_minute()
    name = spec.unit_name
    env_file = spec.env_file or Path(f"/etc/auditor/{name}.env")
    user = f"User={spec.user}\n" if spec.user else ""
    service = (
        "[Unit]\n"
        f"Description=Firewall audit and drift report of {spec.site}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
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
    return {f"{name}.service": service, f"{name}.timer": timer}


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
    script = (
        f"if [ -r {q(str(env_file))} ]; then set -a; . {q(str(env_file))}; set +a; fi; "
        + job_script(spec)
    )
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
