"""Start and stop the lab's application servers (lab.apps) in the provider namespace: one
directory each under <state>/apps/, found again by `down` and `status` from there alone."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.errors import RunError
from auditor.lab import daemon, dnsd, kdc, ntpd, pki, radiusd, smtpd, syslogd
from auditor.lab.appspec import AppsSpec

SECRET_FILE = "radius-secret"  # noqa: S105 (a file name, not a secret)


# What lab.apps needs on PATH, and the Debian package that brings it (the Makefile's deps).
TOOLS = {
    "freeradius": "freeradius",
    "krb5kdc": "krb5-kdc",
    "kdb5_util": "krb5-kdc",
    "kadmin.local": "krb5-admin-server",
    "dnsmasq": "dnsmasq-base",
    "chronyd": "chrony",
    smtpd.MASTER: "postfix",
    "socat": "socat",
}


def missing_tools() -> list[str]:
    return [f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]


def ensure_secret(state_dir: Path) -> Path:
    """The RADIUS shared secret (random, 0600, no newline), made once per lab."""
    path = state_dir / SECRET_FILE
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return path


def start_all(
    state_dir: Path,
    apps: AppsSpec,
    netns: str,
    names: Sequence[tuple[IPAddress, str]],
    say: Callable[[str], None],
) -> None:
    """Every application server on `apps.addresses`; `names` feed the DNS server."""
    missing = missing_tools()
    if missing:
        raise RunError(f"lab.apps needs {', '.join(missing)}: run `make deps`")
    root = state_dir / "apps"
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    # Postfix's daemons run as the postfix user and must reach their queue below: traverse
    # only (no listing); every secret in here is a 0600 file.
    os.chmod(state_dir, 0o711)  # noqa: S103
    os.chmod(root, 0o711)  # noqa: S103
    ca, ca_key = state_dir / "ca.pem", state_dir / "ca.key"
    cert, key = pki.make_server_cert(root, "server", apps.cert_name, ca, ca_key)
    addresses = apps.addresses
    secret = ensure_secret(state_dir).read_text()
    radiusd.write_config(root / "radius", addresses, apps.radius_clients, secret)
    say(f"freeradius (pid {radiusd.start(root / 'radius', addresses, netns)})")
    kdc.write_config(root / "kdc", addresses, apps.realm)
    kdc.create_realm(root / "kdc", apps.realm, apps.principals)
    say(f"krb5kdc {apps.realm} (pid {kdc.start(root / 'kdc', addresses, apps.realm, netns)})")
    records = [*names, *((ip, apps.cert_name) for ip in addresses)]
    dnsd.write_config(root / "dns", apps.zone, records)
    say(f"dnsmasq (pid {dnsd.start(root / 'dns', addresses, apps.zone, netns)})")
    ntpd.write_config(root / "ntp", addresses, stratum=8)
    say(f"chronyd (pid {ntpd.start(root / 'ntp', addresses, netns)})")
    smtpd.write_config(root / "smtp", addresses, cert, key, apps.cert_name)
    say(f"postfix (pid {smtpd.start(root / 'smtp', addresses, netns)})")
    pids = syslogd.start(root / "syslog", addresses, (cert, key, ca), netns)
    say(f"syslog-TLS listener (pids {', '.join(map(str, pids))})")


def stop_all(state_dir: Path) -> None:
    root = state_dir / "apps"
    if not root.is_dir():
        return
    radiusd.stop(root / "radius")
    kdc.stop(root / "kdc")
    dnsd.stop(root / "dns")
    ntpd.stop(root / "ntp")
    smtpd.stop(root / "smtp")
    syslogd.stop(root / "syslog", root / "server.pem")


def running(state_dir: Path) -> list[tuple[str, int | None]]:
    """(server, pid or None) for each application server this lab has a directory for."""
    root = state_dir / "apps"
    out: list[tuple[str, int | None]] = []
    for name in ("radius", "kdc", "dns", "ntp", "smtp"):
        if (root / name).is_dir():
            out.append(
                (f"app-{name}", daemon.running_pid(root / name / "lab.pid", str(root / name)))
            )
    for pidfile in sorted((root / "syslog").glob("lab*.pid")) if (root / "syslog").is_dir() else []:
        out.append(("app-syslog", daemon.running_pid(pidfile, str(root / "server.pem"))))
    return out
