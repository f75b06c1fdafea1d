"""Claim mode without a segment: what goes on the wire (RFC 5227 probes), what counts as a
conflict, how a gateway is chosen, and what the CLI refuses before anything is sent."""

from __future__ import annotations

import itertools
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from claim_support import write_inventory
from netaddr import IPAddress, IPNetwork
from probe_support import flow
from support.cli import auditor

from auditor.claim.arp import (
    ArpPacket,
    ArpTiming,
    build_probe,
    conflict_mac,
    mac_bytes,
    parse_arp,
    send_schedule,
)
from auditor.claim.dad import nd_holder
from auditor.claim.detect import ClaimMode, ModeChoice, Parent
from auditor.claim.namespace import Claim, InUse, gateway_for
from auditor.claim.runner import in_use_records
from auditor.errors import UsageError
from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.model.verdict import Outcome, outcome_of

OURS = mac_bytes("02:00:00:00:00:01")
THEIRS = mac_bytes("02:00:00:00:00:99")
CANDIDATE = IPAddress("198.51.100.12")
ZERO = b"\x00" * 4


def test_a_probe_is_a_broadcast_request_from_0_0_0_0_for_the_candidate() -> None:
    frame = build_probe(OURS, CANDIDATE)
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == OURS
    packet = parse_arp(frame)
    assert packet == ArpPacket(1, OURS, ZERO, b"\x00" * 6, CANDIDATE.packed)


def test_rfc_5227_count_and_spacing() -> None:
    timing = ArpTiming()
    assert (timing.probe_num, timing.probe_min, timing.probe_max) == (3, 1.0, 2.0)
    assert (timing.probe_wait, timing.announce_wait) == (1.0, 2.0)
    sends = send_schedule(100.0, timing)
    assert len(sends) == 3
    assert 100.0 <= sends[0] <= 101.0
    assert all(1.0 <= b - a <= 2.0 for a, b in itertools.pairwise(sends))


@pytest.mark.parametrize(
    ("packet", "holder"),
    [
        # a reply (or any ARP) with the candidate as sender: someone holds it
        (ArpPacket(2, THEIRS, CANDIDATE.packed, OURS, ZERO), THEIRS),
        (ArpPacket(1, THEIRS, CANDIDATE.packed, b"\x00" * 6, CANDIDATE.packed), THEIRS),
        # another host probing for the same address at the same time
        (ArpPacket(1, THEIRS, ZERO, b"\x00" * 6, CANDIDATE.packed), THEIRS),
        # a router asking who has the candidate is not a conflict
        (ArpPacket(1, THEIRS, IPAddress("198.51.100.1").packed, b"\0" * 6, CANDIDATE.packed), None),
        # our own probe, looped back
        (ArpPacket(1, OURS, ZERO, b"\x00" * 6, CANDIDATE.packed), None),
        # about another address
        (ArpPacket(2, THEIRS, IPAddress("198.51.100.13").packed, OURS, ZERO), None),
    ],
)
def test_what_counts_as_in_use(packet: ArpPacket, holder: bytes | None) -> None:
    assert conflict_mac(packet, CANDIDATE.packed, OURS) == holder


def _neighbour_advertisement(target: IPAddress, mac: bytes) -> bytes:
    eth = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd"
    ip6 = struct.pack("!IHBB", 6 << 28, 32, 58, 255) + target.packed + IPAddress("ff02::1").packed
    icmp = bytes([136, 0, 0, 0, 0x20, 0, 0, 0]) + target.packed
    return eth + ip6 + icmp


def test_the_defender_of_an_ipv6_address_is_named_by_its_advertisement() -> None:
    target = IPAddress("2001:db8:100::11")
    frame = _neighbour_advertisement(target, THEIRS)
    assert nd_holder(frame, {target.packed: target}) == (target, "02:00:00:00:00:99")
    other = IPAddress("2001:db8:100::12")
    assert nd_holder(frame, {other.packed: other}) is None


def _parent(*gateways: str) -> Parent:
    return Parent("eth0", "02:00:00:00:00:01", "ether", True, (), tuple(map(IPAddress, gateways)))


def test_the_gateway_comes_from_the_option_then_the_parents_default_route() -> None:
    address = IPNetwork("198.51.100.12/24")
    given = [IPAddress("2001:db8:100::1"), IPAddress("198.51.100.254")]
    assert gateway_for(address, given, _parent("198.51.100.1")) == IPAddress("198.51.100.254")
    assert gateway_for(address, [], _parent("198.51.100.1")) == IPAddress("198.51.100.1")
    with pytest.raises(UsageError, match=r"192.0.2.1 is not in 198.51.100.0/24.*--claim-gateway"):
        gateway_for(address, [], _parent("192.0.2.1"))
    with pytest.raises(UsageError, match=r"no IPv6 gateway.*it has none"):
        gateway_for(IPNetwork("2001:db8:100::12/64"), [], _parent("198.51.100.1"))


def test_flows_from_an_address_in_use_are_in_use_then_skipped_and_stay_unverified() -> None:
    claim = Claim("eth0", ModeChoice(ClaimMode.MACVLAN, ""), in_use=(InUse(CANDIDATE, "aa:bb"),))
    flows = [
        flow(str(CANDIDATE), "203.0.113.10", 636, checks=(Check.TCP, Check.TLS)),
        flow("198.51.100.13", "203.0.113.10", 636),
    ]
    records = in_use_records(flows, claim)
    assert [(r.check, r.status) for r in records] == [
        ("tcp", Status.IN_USE),
        ("tls", Status.SKIPPED),
    ]
    assert "aa:bb" in records[0].reason
    assert outcome_of(Status.IN_USE) is Outcome.UNVERIFIED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--claim-mode", "macvlan"], "--claim-mode and --claim-gateway need --claim IFACE"),
        (["--claim", "eth0", "--claim-gateway", "nope"], "--claim-gateway 'nope': is not an IP"),
        (
            ["--claim", "eth0", "--claim-gateway", "192.0.2.1", "--claim-gateway", "192.0.2.2"],
            "--claim-gateway: one per address family",
        ),
    ],
)
def test_bad_claim_options_are_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = auditor("probe", write_inventory(tmp_path), "-o", tmp_path / "r.json", *args)
    err = result.stderr
    assert result.returncode == 2
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "r.json").exists()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop to nobody"
)
def test_without_root_claim_mode_says_so() -> None:
    auditor = str(Path(sys.executable).with_name("auditor"))
    # pytest's tmp_path sits under a root-only folder: nobody needs a readable one
    with tempfile.TemporaryDirectory(prefix="i11-") as name:
        folder = Path(name)
        folder.chmod(0o777)
        out = folder / "r.json"
        proc = subprocess.run(
            ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             auditor, "probe", str(write_inventory(folder)), "--claim", "eth0", "-o", str(out)],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        written = out.exists()
    assert proc.returncode == 3
    assert "claim mode needs root" in proc.stderr
    assert not written


def test_audit_takes_claim_or_evidence_not_both(tmp_path: Path) -> None:
    given = tmp_path / "given.json"
    given.write_text("{}")
    result = auditor("audit", write_inventory(tmp_path), "--claim", "eth0", "--evidence", given,
                     "--no-store", "-o", tmp_path / "report")  # fmt: skip
    err = result.stderr
    assert result.returncode == 2
    assert "--claim probes; --evidence takes probes already made" in err
    assert not (tmp_path / "report").exists()
