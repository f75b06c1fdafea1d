"""FreeRADIUS in the provider namespace, with its own minimal config: a client list (the
appliance addresses it answers; the lab leaves one out on purpose), Status-Server enabled,
and two users: `auditor-accept` is accepted, `auditor-challenge` challenged, every other
Access-Request is rejected."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon

PORT = 1812
ACCEPT_USER = "auditor-accept"
CHALLENGE_USER = "auditor-challenge"


# radiusd.conf: only what the lab needs (no module directories, no default sites).
_CONF = """# Written by `auditor lab up`; removed by `auditor lab down`.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {root}
raddbdir = {root}
radacctdir = {root}
name = radiusd
confdir = {root}
run_dir = {root}
db_dir = {root}
libdir = /usr/lib/freeradius
pidfile = {root}/radiusd.pid
max_request_time = 5
cleanup_delay = 1
max_requests = 4096
hostname_lookups = no
log {{
  destination = files
  file = {root}/radius.log
}}
security {{
  allow_core_dumps = no
  status_server = yes
}}
thread pool {{
  start_servers = 2
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 3
}}
{clients}
modules {{
  always reject {{
    rcode = reject
  }}
  always ok {{
    rcode = ok
  }}
  always handled {{
    rcode = handled
  }}
}}
server default {{
{listen}
  authorize {{
    if (&User-Name == "{accept_user}") {{
      update control {{
        &Auth-Type := Accept
      }}
    }}
    elsif (&User-Name == "{challenge_user}") {{
      update reply {{
        &Reply-Message := "lab challenge"
      }}
      update control {{
        &Response-Packet-Type := Access-Challenge
      }}
      handled
    }}
    else {{
      reject
    }}
    Autz-Type Status-Server {{
      ok
    }}
  }}
  authenticate {{
  }}
}}
"""


def _clients(clients: Sequence[IPAddress], secret: str) -> str:
    out = []
    for i, ip in enumerate(clients):
        key = "ipv6addr" if ip.version == 6 else "ipaddr"
        out.append(f"client c{i} {{\n  {key} = {ip}\n  secret = {secret}\n}}\n")
    return "".join(out)


def _listen(addresses: Sequence[IPAddress]) -> str:
    out = []
    for ip in addresses:
        key = "ipv6addr" if ip.version == 6 else "ipaddr"
        out.append(f"  listen {{\n    type = auth\n    {key} = {ip}\n    port = {PORT}\n  }}\n")
    return "".join(out)


def write_config(
    root: Path, addresses: Sequence[IPAddress], clients: Sequence[IPAddress], secret: str
) -> Path:
    """radiusd.conf in `root` (0600: it holds the shared secret)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = _CONF.format(
        root=root,
        clients=_clients(clients, secret),
        listen=_listen(addresses),
        accept_user=ACCEPT_USER,
        challenge_user=CHALLENGE_USER,
    )
    conf = root / "radiusd.conf"
    conf.write_text(text)
    os.chmod(conf, 0o600)
    return conf


def start(root: Path, addresses: Sequence[IPAddress], netns: str) -> int:
    wanted = {daemon.sock(ip, PORT) for ip in addresses}
    return daemon.launch(
        ["freeradius", "-f", "-d", str(root), "-n", "radiusd"],
        netns=netns,
        pidfile=root / "lab.pid",
        marker=str(root),
        ready=lambda: daemon.listening(netns, wanted, udp=True),
        what="freeradius",
        log=root / "radius.log",
    )


def stop(root: Path) -> None:
    daemon.stop(root / "lab.pid", str(root))
