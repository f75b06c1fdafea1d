"""A pair's `claim:` in the fleet file: refused with located errors, all at once, before
anything runs (exit 2, nothing written); carried to the probe host in the site's bundle (its
format then `auditor-probe-bundle/3`, which a probe host that reads only /2 refuses instead of
probing unclaimed); and `schedule --fleet` keeps claim's capabilities only when the fleet
claims on the fleet host itself. The claim itself is tested live in test_fleet_claim_lab.py."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from fleet_support import PAIR
from support.cli import auditor
from support.systemd import verify_units

from auditor.claim.request import claim_addresses
from auditor.flows.prepare import prepare
from auditor.probe import bundle as b
from auditor.probe.options import ProbeOptions
from auditor.probe.preflight import preflight


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "bundle-secret-Yk2")


def remote_site(tmp_path: Path, pairs: str, name: str = "branch") -> str:
    """A site with a probe host (its key files exist; nothing is contacted)."""
    for f in ("id", "known_hosts"):
        (tmp_path / f).write_text("")
    return (
        f"  - name: {name}\n"
        "    probe_host: ssh://auditor@probe.example.com\n"
        "    ssh_key: id\n"
        "    known_hosts: known_hosts\n"
        f"    pairs:\n{pairs}"
    )


BAD_CLAIMS = {
    # the claim as written -> (field, what the message says)
    '"eth 0"': ("claim", "'eth 0' contains a space"),
    "{interface: eth0, mode: ipvlun}": ("claim.mode", "is not one of ipvlan, macvlan; did you "
                                        "mean 'ipvlan'?"),
    "{interface: eth0, gateways: [127.0.0.1]}": ("claim.gateways[0]", "'127.0.0.1': not a "
                                                 "unicast address a router can hold"),
    "{interface: eth0, gateways: [198.51.100.1, 198.51.100.2]}": (
        "claim.gateways", "one per address family (198.51.100.1, 198.51.100.2 given)"),
    "{interface: eth0, gateways: 198.51.100.256}": ("claim.gateways", "'198.51.100.256'"),
    "{iface: eth0}": ("claim.iface", "unknown key (did you mean 'interface'?)"),
    "[eth0]": ("claim", "expected a mapping with keys interface, mode, gateways, got a list"),
    "{interface: eth0-is-far-too-long}": ("claim.interface", "characters long (at most 15"),
}  # fmt: skip


def test_bad_claim_keys_are_refused_located_all_at_once_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    pairs = "".join(f"      - inventory: {PAIR}\n        claim: {claim}\n" for claim in BAD_CLAIMS)
    evidence = tmp_path / "given.json"
    evidence.write_text("{}")
    local = (
        "  - name: office\n"
        "    pairs:\n"
        f"      - inventory: {PAIR}\n"
        "        evidence: given.json\n"
        "        claim: eth0\n"
    )
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n" + remote_site(tmp_path, pairs) + local)
    lines = fleet.read_text().splitlines()
    out, store = tmp_path / "out", tmp_path / "h.sqlite"
    result = auditor("fleet", "run", fleet, "-o", out, "--store", store)
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    for i, (claim, (field, message)) in enumerate(BAD_CLAIMS.items()):
        line = lines.index(f"        claim: {claim}") + 1
        where = f"{fleet}:{line}: sites[0].pairs[{i}].{field}: "
        assert any(e.startswith(f"error: {where}") and message in e for e in errors), (
            claim,
            errors,
        )
    local_line = len(lines)
    assert any(
        e.startswith(f"error: {fleet}:{local_line}: sites[1].pairs[0].claim: claim probes from "
                     "this host; evidence: takes probes already made") for e in errors
    ), errors  # fmt: skip
    assert not out.exists() and not store.exists()
    assert "Traceback" not in result.stderr


def test_a_claim_is_carried_to_the_probe_host_in_a_bundle_only_a_claim_reader_reads() -> None:
    prepared = prepare(PAIR, resolve=False)
    passwords = preflight(prepared.inventory, prepared.flows)
    addresses = tuple(claim_addresses(prepared.inventory, prepared.flows))
    claim = b.BundleClaim("eth1", addresses, "macvlan", ())
    part = b.make_bundle(
        "pair", prepared.inventory, prepared.flows, passwords, ProbeOptions(), claim=claim
    )
    data = b.site_bundle([part], claims=True)
    assert json.loads(data)["format"] == "auditor-probe-bundle/3"
    (pair,) = b.read_bundle(io.BytesIO(data)).pairs
    assert pair.claim == claim
    # every source of the pair's flows, with the inventory's prefix
    assert {str(a) for a in pair.claim.addresses} >= {"198.51.100.10/24", "198.51.100.11/24"}
    assert {a.ip for a in pair.claim.addresses} == {f.source for f in prepared.flows}
    # a /2 bundle never carries a claim (a /2 reader would probe without claiming)
    with pytest.raises(b.InputError, match="a claim needs auditor-probe-bundle/3"):
        b.read_bundle(io.BytesIO(b.site_bundle([part])))
    # a site without claims keeps /2: probe hosts not yet upgraded still serve it
    plain = b.make_bundle("pair", prepared.inventory, prepared.flows, passwords, ProbeOptions())
    assert json.loads(b.site_bundle([plain]))["format"] == "auditor-probe-bundle/2"


def test_a_probe_host_that_reads_only_unclaimed_bundles_is_refused_in_one_line() -> None:
    from test_probe_stream import Connection, Ended

    from auditor.fleet.spec import ProbeHost
    from auditor.fleet.ssh import SiteFailure, _probe_stream

    said = b"error: <standard input: probe bundle>: format: not a probe bundle (expected " \
           b"auditor-probe-bundle/2)\n"  # fmt: skip
    conn = Connection((b"", said, None, Ended(2, None)))
    host = ProbeHost(user="probe", host="192.0.2.7", auditor="/opt/auditor")

    async def run() -> str:
        try:
            await _probe_stream(conn, host, {"pair": "{}"}, None, claims=True)
        except SiteFailure as failure:
            return str(failure)
        return ""

    message = asyncio.run(run())
    assert message.startswith(
        "ssh://probe@192.0.2.7:22: its auditor does not read this fleet's probe bundles "
        "(auditor-probe-bundle/3): "
    )
    assert "expected auditor-probe-bundle/2" in message and "\n" not in message


def capabilities(tmp_path: Path, sites: str) -> str:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n" + sites)
    result = auditor("schedule", "--print", "systemd", "--fleet", fleet, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("CapabilityBoundingSet=")]
    ambient = [x for x in result.stdout.splitlines() if x.startswith("AmbientCapabilities=")]
    return line + "".join(f"\n{a}" for a in ambient)


def test_schedule_keeps_claims_capabilities_only_when_the_fleet_claims_here(tmp_path) -> None:
    plain = f"      - inventory: {PAIR}\n"
    claimed = plain + "        claim: eth0\n"
    local = "  - name: office\n    pairs:\n"
    # no claim: no capability
    assert capabilities(tmp_path, local + plain) == "CapabilityBoundingSet="
    # a claim at a probe host needs root there, nothing here
    assert capabilities(tmp_path, remote_site(tmp_path, claimed)) == "CapabilityBoundingSet="
    # a claim at a site without probe_host runs here: claim mode's two capabilities
    here = capabilities(tmp_path, remote_site(tmp_path, plain) + local + claimed)
    assert here == "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN"


def test_systemd_accepts_a_claiming_fleet_unit(tmp_path: Path) -> None:

    from auditor.history.schedule import ScheduleSpec, systemd_units

    stub = tmp_path / "auditor"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    spec = ScheduleSpec(auditor=stub, inventory=None, fleet=tmp_path / "fleet.yaml",
                        workdir=tmp_path, store="postgresql://auditor@db.example.com/history",
                        site="fleet", fleet_claims=True)  # fmt: skip
    units = systemd_units(spec)
    assert verify_units(tmp_path, units, "auditor-fleet") == []
