"""Postfix as the lab's mail server in the provider namespace, with its own config and queue
directories (the host's Postfix, if any, is untouched): STARTTLS on 25 and 587, implicit TLS on
465, a certificate for the lab's mail name signed by the lab CA. It relays nothing and rejects
every recipient: the probe needs only the banner, EHLO and TLS."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon

PORTS = (25, 465, 587)
MASTER = "/usr/lib/postfix/sbin/master"

_MASTER_CF = """\
# service type private unpriv chroot wakeup maxproc command
smtp       inet n - n - - smtpd
submission inet n - n - - smtpd
smtps      inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
tlsmgr     unix - - n 1000? 1 tlsmgr
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
proxymap   unix - - n - - proxymap
postlog    unix-dgram n - n - 1 postlogd
"""


def write_config(
    root: Path, addresses: Sequence[IPAddress], cert: Path, key: Path, hostname: str
) -> None:
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    (root / "main.cf").write_text(
        f"""# Written by `auditor lab up`; removed by `auditor lab down`.
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
inet_interfaces = {", ".join(str(ip) for ip in addresses)}
inet_protocols = all
myhostname = {hostname}
mydestination =
relayhost =
smtpd_banner = $myhostname ESMTP lab
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_relay_restrictions = reject
smtpd_recipient_restrictions = reject
maillog_file = /dev/stdout
"""
    )
    (root / "master.cf").write_text(_MASTER_CF)


def _directories(root: Path) -> None:
    """What `postfix check` would create (the wrapper refuses a config directory that the
    host's main.cf does not list): the queue's pid/private/public and the data directory."""
    owner = pwd.getpwnam("postfix")
    drop = grp.getgrnam("postdrop").gr_gid
    for name, uid, gid, mode in (
        ("queue", 0, 0, 0o755),
        ("queue/pid", 0, 0, 0o755),
        ("queue/private", owner.pw_uid, 0, 0o700),
        ("queue/public", owner.pw_uid, drop, 0o710),
        ("data", owner.pw_uid, 0, 0o700),
    ):
        path = root / name
        path.mkdir(exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def start(root: Path, addresses: Sequence[IPAddress], netns: str) -> int:
    wanted = {daemon.sock(ip, port) for ip in addresses for port in PORTS}
    _directories(root)
    return daemon.launch(
        [MASTER, "-d", "-c", str(root)],
        netns=netns,
        pidfile=root / "lab.pid",
        marker=str(root),
        ready=lambda: daemon.listening(netns, wanted, udp=False),
        what="postfix",
        log=root / "stdout.log",
    )


def stop(root: Path) -> None:
    daemon.stop(root / "lab.pid", str(root))
