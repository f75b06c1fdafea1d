"""An MIT Kerberos KDC (krb5kdc) in the provider namespace with its own realm database:
every principal it creates requires pre-authentication, so an AS-REQ without it gets
KRB-ERROR 25, and an unknown principal gets 6. The master password is random and goes to
kdb5_util on stdin, never on a command line."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon
from auditor.lab.command import run

PORT = 88


def _env_files(root: Path) -> tuple[Path, Path]:
    return root / "krb5.conf", root / "kdc.conf"


def write_config(root: Path, addresses: Sequence[IPAddress], realm: str) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    krb5, kdc = _env_files(root)
    listen = ",".join(daemon.sock(ip, PORT) for ip in addresses)
    krb5.write_text(f"[libdefaults]\n  default_realm = {realm}\n  dns_lookup_kdc = false\n")
    kdc.write_text(
        f"""# Written by `auditor lab up`; removed by `auditor lab down`.
[kdcdefaults]
  kdc_listen = {listen}
  kdc_tcp_listen = {listen}
[realms]
  {realm} = {{
    database_name = {root}/principal
    key_stash_file = {root}/stash
    acl_file = {root}/kadm5.acl
    default_principal_flags = +preauth
  }}
[logging]
  kdc = FILE:{root}/kdc.log
"""
    )


def _kenv(root: Path) -> list[str]:
    krb5, kdc = _env_files(root)
    return ["env", f"KRB5_CONFIG={krb5}", f"KRB5_KDC_PROFILE={kdc}"]


def create_realm(root: Path, realm: str, principals: Sequence[str]) -> None:
    """The database with `principals` (random keys), unless it exists already."""
    if (root / "principal").is_file():
        return
    master = secrets.token_urlsafe(24)
    run([*_kenv(root), "kdb5_util", "-r", realm, "create", "-s"], stdin=f"{master}\n{master}\n")
    for name in principals:
        run([*_kenv(root), "kadmin.local", "-r", realm, "-q", f"addprinc -randkey {name}"])
    for path in root.glob("principal*"):
        os.chmod(path, 0o600)


def start(root: Path, addresses: Sequence[IPAddress], realm: str, netns: str) -> int:
    wanted = {daemon.sock(ip, PORT) for ip in addresses}
    return daemon.launch(
        [*_kenv(root), "krb5kdc", "-n", "-r", realm, "-P", str(root / "krb5kdc.pid")],
        netns=netns,
        pidfile=root / "lab.pid",
        marker=str(root),
        ready=lambda: (
            daemon.listening(netns, wanted, udp=True) and daemon.listening(netns, wanted, udp=False)
        ),
        what="krb5kdc",
        log=root / "stdout.log",
    )


def stop(root: Path) -> None:
    daemon.stop(root / "lab.pid", str(root))
