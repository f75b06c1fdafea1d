"""One OpenLDAP slapd per lab server: its own slapd.conf (back_mdb, TLS files), its own
database loaded with slapadd, its own pid file, started inside the provider namespace.

Nothing here touches the host's slapd (Debian may run one): our own config, dirs and pid files.
The service account's password is hashed here ({SSHA}) so it never appears on a command line.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress

from auditor.errors import RunError
from auditor.lab.command import run
from auditor.lab.netns import kill_all
from auditor.lab.specparts import DirectorySpec, ServerSpec

SCHEMAS = ("core", "cosine", "inetorgperson")
START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ServerFiles:
    """Where one server's files live in the state dir."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "slapd.conf"

    @property
    def db(self) -> Path:
        return self.root / "db"

    @property
    def pid(self) -> Path:
        return self.root / "slapd.pid"

    @property
    def args(self) -> Path:
        return self.root / "slapd.args"

    @property
    def ldif(self) -> Path:
        return self.root / "entries.ldif"

    @property
    def cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def key(self) -> Path:
        return self.root / "server.key"


def ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def urls(server: ServerSpec) -> str:
    out = []
    for ip in server.addresses:
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        out += [f"ldap://{host}:{server.ldap_port}/", f"ldaps://{host}:{server.ldaps_port}/"]
    return " ".join(out)


def write_config(files: ServerFiles, directory: DirectorySpec, ca_cert: Path) -> None:
    includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
    suffix = directory.suffix
    text = f"""# Written by `auditor lab up`; removed by `auditor lab down`.
{includes}
pidfile {files.pid}
argsfile {files.args}
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
TLSCACertificateFile {ca_cert}
TLSCertificateFile {files.cert}
TLSCertificateKeyFile {files.key}

database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "cn=lab-admin,{suffix}"
directory {files.db}
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by * read
"""
    files.conf.write_text(text)
    os.chmod(files.conf, 0o600)


def _entry(dn: str, leaf_password: str | None) -> str:
    rdn = dn.split(",", 1)[0]
    attr, value = rdn.split("=", 1)
    attr = attr.lower()
    lines = [f"dn: {dn}"]
    if attr == "dc":
        lines += [
            "objectClass: dcObject",
            "objectClass: organization",
            f"dc: {value}",
            f"o: {value}",
        ]
    elif attr == "o":
        lines += ["objectClass: organization", f"o: {value}"]
    elif attr == "ou":
        lines += ["objectClass: organizationalUnit", f"ou: {value}"]
    elif attr == "uid":
        lines += ["objectClass: account", f"uid: {value}"]
    else:
        lines += ["objectClass: organizationalRole", f"cn: {value}"]
    if leaf_password is not None:
        # All objectClass values together: slapadd reads split values as a missing class.
        lines.insert(2, "objectClass: simpleSecurityObject")
        lines.append(f"userPassword: {ssha(leaf_password)}")
    return "\n".join(lines) + "\n"


def entries_ldif(directory: DirectorySpec, password: str) -> str:
    """The suffix, every intermediate entry, and each account (all with the same password)."""
    suffix = directory.suffix
    dns: list[str] = [suffix]
    for account in directory.accounts:
        rdns = account.split(",")
        depth = len(suffix.split(","))
        # Parents from the one just below the suffix down to the account itself.
        for i in range(len(rdns) - depth - 1, -1, -1):
            dn = ",".join(rdns[i:])
            if dn.lower() not in (d.lower() for d in dns):
                dns.append(dn)
    accounts = {a.lower() for a in directory.accounts}
    return "\n".join(_entry(dn, password if dn.lower() in accounts else None) for dn in dns)


def load_database(files: ServerFiles, directory: DirectorySpec, password: str) -> None:
    """slapadd the entries into a fresh database (kept as it is when it exists)."""
    if (files.db / "data.mdb").is_file():
        return
    files.db.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.ldif.write_text(entries_ldif(directory, password))
    os.chmod(files.ldif, 0o600)
    try:
        run(["slapadd", "-q", "-f", str(files.conf), "-l", str(files.ldif)])
    finally:
        files.ldif.unlink(missing_ok=True)


def running_pid(files: ServerFiles) -> int | None:
    """The pid of this server's slapd if its pid file names a live slapd using our config."""
    try:
        pid = int(files.pid.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(files.conf).encode() in cmdline else None


def start(files: ServerFiles, server: ServerSpec, netns: str) -> int:
    """Start slapd in `netns` unless it already runs; wait until it listens."""
    pid = running_pid(files)
    if pid is not None:
        return pid
    files.pid.unlink(missing_ok=True)
    run(["slapd", "-f", str(files.conf), "-h", urls(server), "-n", f"slapd-lab-{server.name}"],
        netns=netns)  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        pid = running_pid(files)
        if pid is not None and _listening(netns, server):
            return pid
        time.sleep(0.05)
    check = run(["slaptest", "-u", "-f", str(files.conf)], check=False)
    why = " ".join((check.stderr or check.stdout).split())[-300:] or "slaptest: config ok"
    raise RunError(
        f"lab: slapd for server {server.name} did not start listening within "
        f"{START_TIMEOUT:.0f} s (config {files.conf}; {why})"
    )


def _listening(netns: str, server: ServerSpec) -> bool:
    out = run(["ss", "-Hltn"], netns=netns).stdout
    want = {_sock(ip, p) for ip in server.addresses for p in (server.ldap_port, server.ldaps_port)}
    have = {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}
    return want <= have


def _sock(ip: IPAddress, port: int) -> str:
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def stop(files: ServerFiles) -> None:
    pid = running_pid(files)
    if pid is not None:
        kill_all([pid], grace=5.0)
    files.pid.unlink(missing_ok=True)
    files.args.unlink(missing_ok=True)


def generate_password() -> str:
    return secrets.token_urlsafe(24)
