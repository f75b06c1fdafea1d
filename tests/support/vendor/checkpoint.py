"""Check Point management API batch files (Management API reference, R81: `mgmt_cli COMMAND
--batch FILE`, the CSV header row naming the API parameters, one command per row): `add|set
host` (name, ip-address), `add|set network` (name, subnet, mask-length), `add|set group`,
`set group` (members.add), `add|set service-tcp|service-udp` (name, port: N or N-M), `add|set
service-group`, `set service-group` (members.add), `add tag` (name), `add access-rule` (name,
layer, position | position.above, source, destination, service, action, track.type, and
`tags.1` naming a tag that exists), `set access-rule` (the same without a position),
`comments` and `ignore-warnings` on each; then `publish`.

The script is read line by line: nothing but its documented steps may run. Its helpers have
this contract, checked against their text: `sort_rows FILE TYPE [LAYER]` asks `mgmt_cli show
TYPE name NAME` for each row's name (the first cell) and sends the row to FILE.add when nothing
answers, else to FILE.set (and notes the name as existing); `created_only FILE` keeps the rows
whose first cell is no existing name; `run_batch COMMAND FILE` runs one batch unless FILE holds
its header only; `cut -d, -f1,2,4-` drops the third column (a rule's position).

Loading is cumulative, as on the management server: `Device.run` applies one change's files to
the database a previous run left. `add` of a name that exists fails (the script stops and
discards the session: nothing is published), `set` of a name that does not exist fails."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from netaddr import IPNetwork

from support.vendor.common import Allow, Policy, ReaderError, network, port_range

_OBJECT_HEADERS = {
    "host": ("name", "ip-address", "comments", "ignore-warnings"),
    "network": ("name", "subnet", "mask-length", "comments", "ignore-warnings"),
    "group": ("name", "comments", "ignore-warnings"),
    "service-tcp": ("name", "port", "comments", "ignore-warnings"),
    "service-udp": ("name", "port", "comments", "ignore-warnings"),
    "service-group": ("name", "comments", "ignore-warnings"),
    "tag": ("name", "comments", "ignore-warnings"),
}
_MEMBERS = ("name", "members.add")
_RULE = (
    "name", "layer", "source", "destination", "service", "action", "track.type",
    "ignore-warnings", "comments",
)  # fmt: skip
# The helper functions of checkpoint.sh, as documented above.
_HELPERS = """touch "$work/existing"
# quiet COMMAND...: its exit status only
quiet() { "$@" < /dev/null > /dev/null 2>&1; }
# sort_rows FILE TYPE [LAYER]: rows of existing names to $work/FILE.set, the rest to FILE.add
sort_rows() {
    head -n 1 "$1" > "$work/$1.add"
    head -n 1 "$1" > "$work/$1.set"
    tail -n +2 "$1" | while IFS= read -r row; do
        name=${row%%,*}
        if quiet mgmt_cli show "$2" name "$name" ${3:+layer "$3"} -s "$session"; then
            echo "$row" >> "$work/$1.set"
            echo "$name" >> "$work/existing"
        else
            echo "$row" >> "$work/$1.add"
        fi
    done
}
# created_only FILE: the member rows of the groups this run created, in $work/FILE
created_only() {
    head -n 1 "$1" > "$work/$1"
    tail -n +2 "$1" | while IFS= read -r row; do
        grep -qxF -- "${row%%,*}" "$work/existing" || echo "$row" >> "$work/$1"
    done
}
# run_batch COMMAND FILE: one mgmt_cli batch, unless FILE holds its header only
run_batch() {
    if [ "$(wc -l < "$2")" -gt 1 ]; then
        mgmt_cli $1 --batch "$2" -s "$session"
    fi
}"""
_PREAMBLE = (
    "#!/bin/sh",
    "set -eu",
    "work=$(mktemp -d)",
    'mgmt_cli login -r true > "$session"',
    'trap \'mgmt_cli discard -s "$session" >/dev/null 2>&1; mgmt_cli logout -s "$session" '
    '>/dev/null 2>&1; rm -f "$session"; rm -rf "$work"\' EXIT',
)
_FILE = r"(checkpoint-[a-z-]+\.csv)"
_TYPE = r"(host|network|group|service-tcp|service-udp|service-group|tag|access-rule)"


@dataclass(slots=True)
class Device:
    """A Check Point management database that change scripts are run against."""

    objects: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # type->name
    members: dict[str, list[str]] = field(default_factory=dict)  # group -> member names
    rules: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # layer -> top first

    def exists(self, type_: str, name: str, layer: str | None = None) -> bool:
        if type_ == "access-rule":
            return any(r["name"] == name for r in self.rules.get(layer or "", []))
        return name in self.objects.get(type_, {})

    def run(self, files: dict[str, str]) -> Device:
        """Run checkpoint.sh with its batch files; a failing command raises ReaderError (the
        script would discard the session: nothing is published)."""
        work: dict[str, list[dict[str, str]]] = {}
        existing: set[str] = set()
        for step in script_steps(files["checkpoint.sh"]):
            match step:
                case ("sort", name, type_, layer):
                    rows = _rows(files[name])
                    work[name + ".add"] = []
                    work[name + ".set"] = []
                    for row in rows:
                        found = self.exists(type_, row["name"], layer or None)
                        work[name + (".set" if found else ".add")].append(row)
                        if found:
                            existing.add(row["name"])
                case ("created", name):
                    work[name] = [r for r in _rows(files[name]) if r["name"] not in existing]
                case ("cut", src, dst):
                    work[dst] = [{k: v for k, v in r.items() if not k.startswith("position")}
                                 for r in work[src]]  # fmt: skip
                case ("batch", command, name):
                    for row in work[name]:
                        self._command(command, row)
        return self

    def _command(self, command: str, row: dict[str, str]) -> None:
        verb, type_ = command.split(" ", 1)
        name = row["name"]
        if type_ == "access-rule":
            self._rule(verb, row)
            return
        if "members.add" in row:
            if verb != "set" or type_ not in ("group", "service-group"):
                raise ReaderError(f"{command} with members.add")
            if not self.exists(type_, name):
                raise ReaderError(f"set {type_} {name}: no such object")
            member = row["members.add"]
            if not any(member in self.objects.get(t, {}) for t in _OBJECT_HEADERS):
                raise ReaderError(f"{type_} {name}: member {member} does not exist")
            if member not in self.members[name]:
                self.members[name].append(member)
            return
        if tuple(row) != _OBJECT_HEADERS[type_] or row["ignore-warnings"] != "true":
            raise ReaderError(f"{command}: columns {tuple(row)}")
        table = self.objects.setdefault(type_, {})
        if verb == "add":
            if any(name in self.objects.get(t, {}) for t in _OBJECT_HEADERS):
                raise ReaderError(f"add {type_} {name}: the name exists (the batch fails)")
            table[name] = row
            if type_.endswith("group"):
                self.members[name] = []
        elif verb == "set":
            if name not in table:
                raise ReaderError(f"set {type_} {name}: no such object")
            table[name] = row
        else:
            raise ReaderError(f"unknown command {command}")

    def _rule(self, verb: str, row: dict[str, str]) -> None:
        layer = self.rules.setdefault(row["layer"], [])
        where = [k for k in row if k.startswith("position")]
        fields = tuple(k for k in row if k not in where)
        if fields not in (_RULE, (*_RULE, "tags.1")) or row["ignore-warnings"] != "true":
            raise ReaderError(f"{verb} access-rule: columns {tuple(row)}")
        if "tags.1" in row and row["tags.1"] not in self.objects.get("tag", {}):
            raise ReaderError(f"{verb} access-rule {row['name']}: no tag {row['tags.1']}")
        names = [r["name"] for r in layer]
        if verb == "set":
            if where or row["name"] not in names:
                raise ReaderError(f"set access-rule {row['name']}: {where or 'no such rule'}")
            layer[names.index(row["name"])] = dict(row)
            return
        if row["name"] in names:
            raise ReaderError(f"add access-rule {row['name']}: exists")
        match where, row.get(where[0] if where else ""):
            case ["position"], "top":
                at = 0
            case ["position"], n if n.isdigit() and 1 <= int(n) <= len(layer) + 1:
                at = int(n) - 1
            case ["position.above"], other if other in names:
                at = names.index(other)
            case ["position.above"], other:
                raise ReaderError(f"no rule {other} in layer {row['layer']}")
            case _:
                raise ReaderError(f"add access-rule: position {where} {row}")
        layer.insert(at, {k: v for k, v in row.items() if k not in where})

    def policy(self, layer: str = "Network", placeholders: tuple[str, ...] = ()) -> Policy:
        """The Accept rules of `layer`, top first (`placeholders`: rule names that stand for
        the existing rules and are left out)."""
        policy = Policy()
        for table in self.objects.values():
            policy.objects |= set(table)
        for other, rules in self.rules.items():
            if other != layer and rules:
                raise ReaderError(f"rules in layer {other}")
        for rule in self.rules.get(layer, []):
            policy.objects.add(rule["name"])
            policy.placement[rule["name"]] = str(self.rules[layer].index(rule) + 1)
            if rule["name"] in placeholders or rule["action"] != "Accept":
                continue
            proto, ranges = self._service(rule["service"])
            policy.rules.append(
                Allow(
                    rule["name"],
                    tuple(self._nets(rule["source"])),
                    tuple(self._nets(rule["destination"])),
                    proto,
                    tuple(ranges),
                )
            )
        return policy

    def _nets(self, name: str) -> list[IPNetwork]:
        if name in self.objects.get("host", {}):
            ip = IPNetwork(self.objects["host"][name]["ip-address"])
            return [network(f"{ip.ip}/{32 if ip.version == 4 else 128}")]
        if name in self.objects.get("network", {}):
            cells = self.objects["network"][name]
            return [network(f"{cells['subnet']}/{cells['mask-length']}")]
        if name in self.objects.get("group", {}):
            return [n for m in self.members[name] for n in self._nets(m)]
        raise ReaderError(f"{name} is no address object")

    def _service(self, name: str) -> tuple[str, list[tuple[int, int]]]:
        for proto in ("tcp", "udp"):
            cells = self.objects.get(f"service-{proto}", {}).get(name)
            if cells is not None:
                return proto, [port_range(cells["port"])]
        if name in self.objects.get("service-group", {}):
            found = [self._service(m) for m in self.members[name]]
            if len({p for p, _ in found}) != 1:
                raise ReaderError(f"service-group {name} mixes protocols")
            return found[0][0], [r for _, rs in found for r in rs]
        raise ReaderError(f"{name} is no service")


def _rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    out = []
    for row in rows[1:]:
        if len(row) != len(header):
            raise ReaderError(f"row {row} has {len(row)} cells")
        out.append(dict(zip(header, row, strict=True)))
    return out


def script_steps(script: str) -> list[tuple[str, ...]]:
    """The steps the script runs, in order; it must publish after the last."""
    if _HELPERS not in script:
        raise ReaderError("the script's helpers are not the documented ones")
    before, after = script.split(_HELPERS, 1)
    for line in before.splitlines():
        fixed = not line or line.startswith("# ") or line == "#" or line in _PREAMBLE
        if not fixed and not re.fullmatch(r"session=auditor-[0-9a-f]{6}\.session", line):
            raise ReaderError(f"unexpected script line {line!r}")
    steps: list[tuple[str, ...]] = []
    published = False
    for line in after.splitlines():
        if not line or line.startswith("# "):
            continue
        if published:
            raise ReaderError(f"after publish: {line!r}")
        if line == 'mgmt_cli publish -s "$session"':
            published = True
            continue
        if m := re.fullmatch(rf"sort_rows {_FILE} {_TYPE}(?: ([A-Za-z0-9_.-]+))?", line):
            steps.append(("sort", m[1], m[2], m[3] or ""))
        elif m := re.fullmatch(rf"created_only {_FILE}", line):
            steps.append(("created", m[1]))
        elif m := re.fullmatch(
            rf'run_batch "((?:add|set) {_TYPE})" "\$work/{_FILE}((?:\.add|\.set|\.moved)?)"', line
        ):
            steps.append(("batch", m[1], m[3] + m[4]))
        elif m := re.fullmatch(
            rf'cut -d, -f1,2,4- "\$work/{_FILE}\.set" > "\$work/{_FILE}\.moved"', line
        ):
            steps.append(("cut", m[1] + ".set", m[2] + ".moved"))
        else:
            raise ReaderError(f"unexpected script line {line!r}")
    if steps and not published:
        raise ReaderError("the script never publishes")
    return steps


def read(files: dict[str, str], layer: str = "Network") -> Policy:
    """The rules one run of the change creates in a layer that holds the rule `position.above`
    names, or as many rules as `position N` needs (placeholders, left out of the result);
    placement: `top`, `N` or `above X` as each row asked."""
    device = Device()
    existing = device.rules.setdefault(layer, [])
    placement: dict[str, str] = {}
    rules_csv = files.get("checkpoint-rules.csv")
    for row in _rows(rules_csv) if rules_csv is not None else []:
        where = [k for k in row if k.startswith("position")]
        if len(where) != 1:
            raise ReaderError(f"rule {row['name']}: position {where}")
        value = row[where[0]]
        placement[row["name"]] = value if where[0] == "position" else f"above {value}"
        if where[0] == "position.above" and not device.exists("access-rule", value, layer):
            existing.append(_placeholder(value, layer))
        if value.isdigit():
            while len(existing) < int(value) - 1:
                existing.append(_placeholder(f"existing-{len(existing) + 1}", layer))
    held = tuple(r["name"] for r in existing)
    device.run(files)
    policy = device.policy(layer, placeholders=held)
    policy.placement = placement
    return policy


def _placeholder(name: str, layer: str) -> dict[str, str]:
    return {"name": name, "layer": layer, "action": "Drop"}
