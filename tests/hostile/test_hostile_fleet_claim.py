"""A fleet file's `claim:` with hostile values (wrong types, hostile interface names, huge
lists, control characters, gateways that are no IP addresses, an unknown mode): located
one-line errors (file, line, field), exit 2, nothing written, before anything runs; the same
for `schedule --fleet` and `fleet report FLEET`, which read the fleet file alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_support import EXAMPLE, cli, line_of, snapshot

BIG = 100_000
MANY = 10_000
SAME = ", ".join(["198.51.100.1"] * MANY)
MIXED = ", ".join(f"198.51.100.{i % 250 + 1}, 2001:db8::{i:x}" for i in range(MANY // 2))
# (id, the claim as YAML after `claim: `, the field the error names, under sites[0].pairs[0])
CASES = [
    # wrong types
    ("int", "12", "claim"),
    ("bool", "true", "claim"),
    ("null", "null", "claim"),
    ("float", "1.5", "claim"),
    ("empty-string", '""', "claim"),
    ("list", "[eth0]", "claim"),
    ("empty-map", "{}", "claim"),
    ("no-interface", "{mode: ipvlan}", "claim"),
    ("interface-int", "{interface: 12}", "claim.interface"),
    ("interface-null", "{interface: null}", "claim.interface"),
    ("interface-list", "{interface: [eth0]}", "claim.interface"),
    ("interface-map", "{interface: {name: eth0}}", "claim.interface"),
    ("mode-int", "{interface: eth0, mode: 1}", "claim.mode"),
    ("mode-null", "{interface: eth0, mode: null}", "claim.mode"),
    ("mode-list", "{interface: eth0, mode: [ipvlan]}", "claim.mode"),
    ("gateways-map", "{interface: eth0, gateways: {a: 198.51.100.1}}", "claim.gateways"),
    ("gateways-int", "{interface: eth0, gateways: 3325256705}", "claim.gateways"),
    ("gateway-bool", "{interface: eth0, gateways: [true]}", "claim.gateways[0]"),
    ("gateway-list", "{interface: eth0, gateways: [[198.51.100.1]]}", "claim.gateways[0]"),
    ("gateways-null", "{interface: eth0, gateways: null}", "claim.gateways"),
    ("unknown-key", "{interface: eth0, parent: eth1}", "claim.parent"),
    # hostile interface names
    ("iface-option", '"-h"', "claim"),
    ("iface-long-option", '"--help"', "claim"),
    ("iface-shell", '"eth0;reboot"', "claim"),
    ("iface-subst", '"$(id)"', "claim"),
    ("iface-path", '"../../x"', "claim"),
    ("iface-dot", '"."', "claim"),
    ("iface-dotdot", '".."', "claim"),
    ("iface-slash", '"eth0/1"', "claim"),
    ("iface-colon", '"eth0:1"', "claim"),
    ("iface-16", '"abcdefghijklmnop"', "claim"),
    ("iface-huge", '"' + "e" * BIG + '"', "claim"),
    ("iface-unicode", '"éth0"', "claim"),
    ("iface-fullwidth-digit", '"eth\uff10"', "claim"),
    ("iface-trailing-space", '"eth0 "', "claim"),
    ("iface-in-map", '{interface: "eth0;id"}', "claim.interface"),
    # control characters
    ("iface-ansi", '"eth0\\e[2J"', "claim"),
    ("iface-nul", '"eth\\0"', "claim"),
    ("iface-newline", '"eth0\\nforged: line"', "claim"),
    ("iface-bidi", '"eth\\u202e0"', "claim"),
    ("mode-ansi", '{interface: eth0, mode: "ipvlan\\e[2J"}', "claim.mode"),
    (
        "gateway-ansi",
        '{interface: eth0, gateways: ["198.51.100.1\\e]0;x\\a"]}',
        "claim.gateways[0]",
    ),
    ("key-ansi", '{"inter\\e[2Jface": eth0}', "claim"),
    # gateways not IP addresses
    ("gw-name", "{interface: eth0, gateways: [router.example.com]}", "claim.gateways[0]"),
    ("gw-network", "{interface: eth0, gateways: [198.51.100.0/24]}", "claim.gateways[0]"),
    ("gw-zone", '{interface: eth0, gateways: ["fe80::1%eth0"]}', "claim.gateways[0]"),
    ("gw-any", '{interface: eth0, gateways: ["0.0.0.0"]}', "claim.gateways[0]"),
    ("gw-broadcast", "{interface: eth0, gateways: [255.255.255.255]}", "claim.gateways[0]"),
    ("gw-loopback6", '{interface: eth0, gateways: ["::1"]}', "claim.gateways[0]"),
    ("gw-multicast", "{interface: eth0, gateways: [224.0.0.1]}", "claim.gateways[0]"),
    ("gw-empty", '{interface: eth0, gateways: [""]}', "claim.gateways[0]"),
    ("gw-space", '{interface: eth0, gateways: ["198.51.100.1 "]}', "claim.gateways[0]"),
    ("gw-octal", "{interface: eth0, gateways: [0300.0063.0144.01]}", "claim.gateways[0]"),
    ("gw-short", "{interface: eth0, gateways: [198.51.1]}", "claim.gateways[0]"),
    ("gw-huge", '{interface: eth0, gateways: ["' + "1" * BIG + '"]}', "claim.gateways[0]"),
    # mode unknown
    ("mode-bridge", "{interface: eth0, mode: bridge}", "claim.mode"),
    ("mode-case", "{interface: eth0, mode: IPVLAN}", "claim.mode"),
    ("mode-empty", '{interface: eth0, mode: ""}', "claim.mode"),
    # huge lists: under the YAML reader's bounds (20,000 values, 1 MiB), each checked
    ("huge-list", f"[{', '.join(['eth0'] * MANY)}]", "claim"),
    (
        "huge-bad-gateways",
        f"{{interface: eth0, gateways: [{', '.join(['x'] * MANY)}]}}",
        "claim.gateways[0]",
    ),
    ("huge-same-gateway", f"{{interface: eth0, gateways: [{SAME}]}}", "claim.gateways"),
    ("huge-mixed-gateways", f"{{interface: eth0, gateways: [{MIXED}]}}", "claim.gateways"),
    # over them: the document is refused where it goes over, before any field is read
    ("over-values", f"[{', '.join(['eth0'] * BIG)}]", None),
    ("over-size", f"{{interface: eth0, gateways: [{', '.join(['198.51.100.1'] * BIG)}]}}", None),
]


def _fleet(work: Path, claim: str) -> Path:
    """A site with a probe host (claims go there; nothing is contacted before the checks)
    whose one pair claims as given."""
    for name in ("id", "known_hosts"):
        (work / name).write_text("")
    fleet = work / "fleet.yaml"
    fleet.write_text(
        "sites:\n"
        "  - name: branch\n"
        "    probe_host: ssh://auditor@probe.example.com\n"
        "    ssh_key: id\n"
        "    known_hosts: known_hosts\n"
        "    pairs:\n"
        f"      - inventory: {EXAMPLE}\n"
        f"        claim: {claim}\n"
    )
    return fleet


def _assert_located(err: str, fleet: Path, field: str | None) -> None:
    lines = err.splitlines()
    assert lines, "no error line"
    assert len(lines) <= 101, f"{len(lines)} lines"  # a hundred problems, then a count
    line = line_of(fleet.read_text(), "        claim: ")
    if field is None:  # the file as a whole
        assert len(lines) == 1 and lines[0].startswith(f"error: {fleet}"), lines
        assert len(lines[0]) < 400, lines[0][:300]
        return
    prefix = f"error: {fleet}:{line}: sites[0].pairs[0].{field}"
    assert any(e.startswith(prefix) for e in lines), (prefix, lines[:3])
    for e in lines:
        assert e.startswith((f"error: {fleet}:{line}: sites[0].pairs[0].claim", "error: ")), e
        assert len(e) < 2000, e[:300]


@pytest.mark.parametrize(("claim", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["fleet run", "schedule", "fleet report"])
def test_a_hostile_claim_is_a_located_line_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claim: str, field: str | None, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "x")
    fleet = _fleet(tmp_path, claim)
    before = snapshot(tmp_path)
    args: dict[str, list[object]] = {
        "fleet run": ["fleet", "run", fleet, "-o", "out", "--store", "h.sqlite"],
        "schedule": ["schedule", "--print", "systemd", "--fleet", fleet],
        "fleet report": ["fleet", "report", fleet, "--store", "h.sqlite", "-o", "out"],
    }
    result = cli(*args[command])
    assert result.code == 2, (result.code, result.err[:500])
    assert result.out == ""
    _assert_located(result.err, fleet, field)
    assert snapshot(tmp_path) == before
