"""Check Point management API batch files (Management API reference: `mgmt_cli COMMAND --batch
FILE`, the CSV header row naming the API parameters, one command per row): `add host` (name,
ip-address), `add network` (name, subnet, mask-length), `add group`, `set group` (members.add),
`add service-tcp|service-udp` (name, port: N or N-M), `add service-group`, `set service-group`
(members.add), `add access-rule` (layer, position | position.above, name, source, destination,
service, action, track.type, comments), then `publish`. The script is read line by line too:
nothing but these commands may run."""

from __future__ import annotations

import csv
import io
import re

from netaddr import IPNetwork

from support.vendor.common import Allow, Policy, ReaderError, define, lookup, network, port_range

_HEADERS = {
    "add host": ("name", "ip-address", "comments"),
    "add network": ("name", "subnet", "mask-length", "comments"),
    "add group": ("name", "comments"),
    "set group": ("name", "members.add"),
    "add service-tcp": ("name", "port", "comments"),
    "add service-udp": ("name", "port", "comments"),
    "add service-group": ("name", "comments"),
    "set service-group": ("name", "members.add"),
}
_RULE = ("layer", "name", "source", "destination", "service", "action", "track.type", "comments")
_STEP = re.compile(r'^mgmt_cli ([a-z-]+ [a-z-]+) --batch ([a-z0-9.-]+\.csv) -s "\$session"$')
_FIXED = {
    "#!/bin/sh",
    "set -eu",
    'mgmt_cli login -r true > "$session"',
    'trap \'mgmt_cli discard -s "$session" >/dev/null 2>&1; mgmt_cli logout -s "$session" '
    '>/dev/null 2>&1; rm -f "$session"\' EXIT',
}


def script_steps(script: str) -> list[tuple[str, str]]:
    """The batch commands the script runs, in order; it must publish after the last."""
    steps: list[tuple[str, str]] = []
    published = False
    for line in script.splitlines():
        if not line or line.startswith("# ") or line == "#" or line in _FIXED:
            continue
        if re.fullmatch(r"session=auditor-[0-9a-f]{6}\.session", line):
            continue
        if line == 'mgmt_cli publish -s "$session"' and steps and not published:
            published = True
            continue
        m = _STEP.match(line)
        if m is None or published:
            raise ReaderError(f"unexpected script line {line!r}")
        steps.append((m.group(1), m.group(2)))
    if steps and not published:
        raise ReaderError("the script never publishes")
    return steps


class _State:
    def __init__(self) -> None:
        self.nets: dict[str, list[IPNetwork]] = {}
        self.groups: set[str] = set()
        self.ports: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        self.service_groups: set[str] = set()


def _row(st: _State, command: str, cells: dict[str, str], policy: Policy, layer: str) -> None:
    name = cells["name"]
    match command:
        case "add host":
            ip = IPNetwork(cells["ip-address"])
            define(st.nets, name, [network(f"{ip.ip}/{32 if ip.version == 4 else 128}")])
        case "add network":
            define(st.nets, name, [network(f"{cells['subnet']}/{cells['mask-length']}")])
        case "add group":
            define(st.nets, name, [])
            st.groups.add(name)
        case "set group":
            if name not in st.groups:
                raise ReaderError(f"set group {name}: no such group")
            st.nets[name] += lookup(st.nets, cells["members.add"], "member")  # type: ignore[arg-type]
        case "add service-tcp" | "add service-udp":
            define(st.ports, name, (command[-3:], [port_range(cells["port"])]))
        case "add service-group":
            define(st.ports, name, ("", []))
            st.service_groups.add(name)
        case "set service-group":
            if name not in st.service_groups:
                raise ReaderError(f"set service-group {name}: no such group")
            proto, ranges = lookup(st.ports, cells["members.add"], "service")  # type: ignore[misc]
            have = st.ports[name]
            if have[0] not in ("", proto):
                raise ReaderError(f"service-group {name} mixes protocols")
            st.ports[name] = (proto, have[1] + ranges)
        case "add access-rule":
            if cells["layer"] != layer:
                raise ReaderError(f"rule {name} in layer {cells['layer']}")
            where = cells.get("position") or f"above {cells.get('position.above')}"
            if name in policy.placement:
                raise ReaderError(f"rule {name} added twice")
            policy.placement[name] = where
            if cells["action"] != "Accept":
                return
            proto, ranges = lookup(st.ports, cells["service"], "service")  # type: ignore[misc]
            policy.rules.append(
                Allow(
                    name,
                    tuple(lookup(st.nets, cells["source"], "source")),  # type: ignore[arg-type]
                    tuple(lookup(st.nets, cells["destination"], "destination")),  # type: ignore[arg-type]
                    proto,
                    tuple(ranges),
                )
            )


def read(files: dict[str, str], layer: str = "Network") -> Policy:
    policy = Policy()
    st = _State()
    for command, filename in script_steps(files["checkpoint.sh"]):
        rows = list(csv.reader(io.StringIO(files[filename], newline="")))
        header = tuple(rows[0])
        if command == "add access-rule":
            where = [h for h in header if h in ("position", "position.above")]
            if len(where) != 1 or tuple(h for h in header if h not in where) != _RULE:
                raise ReaderError(f"{filename}: header {header}")
        elif header != _HEADERS.get(command):
            raise ReaderError(f"{filename}: header {header} for {command}")
        for row in rows[1:]:
            if len(row) != len(header):
                raise ReaderError(f"{filename}: row {row} has {len(row)} cells")
            _row(st, command, dict(zip(header, row, strict=True)), policy, layer)
    policy.objects = set(st.nets) | set(st.ports) | set(policy.placement)
    return policy
