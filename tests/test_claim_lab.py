"""Claim mode on a switched segment (issue 11, item 3): free addresses are borrowed and probed,
an address in use is refused with the MAC that answered, nothing is ever announced, and nothing
is left behind after a normal run, SIGTERM, or SIGKILL plus `claim cleanup`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from claim_support import (
    AUDITOR,
    FREE_V4,
    FREE_V6,
    LIVE,
    LIVE_V4,
    LIVE_V6,
    PROVIDER_V4,
    PROVIDER_V6,
    SHARED,
    Capture,
    auditor,
    claim_namespaces,
    links,
    prime_neighbour,
    start_auditor,
    write_inventory,
)
from netaddr import IPAddress

from auditor.claim.session import STATE_DIR, cleanup_stale
from auditor.lab.segment import Segment
from auditor.model.record import Status
from auditor.model.results import read_results

pytestmark = pytest.mark.lab

UNSPECIFIED = IPAddress("0.0.0.0")


@pytest.fixture(scope="module")
def segment() -> Iterator[Segment]:
    seg = Segment(f"i11{os.getpid() % 1000}", LIVE)
    try:
        seg.up()
        yield seg
    finally:
        seg.down()
        cleanup_stale()  # what a failed signal test may have left


def assert_nothing_left(segment: Segment, pid: int | None = None) -> None:
    assert claim_namespaces(pid) == set()
    assert links(segment.auditor) == {"lo", "eth0"}
    if pid is not None:
        assert not (STATE_DIR / f"{pid}.json").exists()
    else:
        assert not list(STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else True


def test_free_addresses_are_claimed_and_probed_an_address_in_use_is_refused(
    segment: Segment, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path)
    live_mac = segment.mac(segment.appliance)
    # The router talks to the live appliance, so it holds a neighbour entry for its address.
    prime_neighbour(segment, LIVE_V4)
    assert segment.router_neighbour(LIVE_V4) == live_mac
    results = tmp_path / "results.json"
    with Capture(segment) as capture:
        run = auditor(segment, "probe", str(inventory), "--claim", "eth0", "--timeout", "1",
                      "-o", str(results))  # fmt: skip
    assert run.returncode == 1, run.stderr  # findings: 465 and 587 are filtered
    assert "claim on eth0: macvlan" in run.stderr or "claim on eth0: ipvlan" in run.stderr
    records = {(r.source, r.destination, r.port, r.check): r for r in read_results(results).records}

    def status(source: IPAddress, destination: str, port: int, check: str = "tcp") -> Status:
        return records[(str(source), destination, port, check)].status

    for source, provider in ((FREE_V4, PROVIDER_V4), (SHARED, PROVIDER_V4), (FREE_V6, PROVIDER_V6)):
        assert status(source, provider, 25) is Status.OPEN  # the router admits SMTP
        assert status(source, provider, 587) is Status.FILTERED  # and drops submission
        assert status(source, provider, 465, "smtp") is Status.SKIPPED
    for source, provider in ((LIVE_V4, PROVIDER_V4), (LIVE_V6, PROVIDER_V6)):
        record = records[(str(source), provider, 25, "tcp")]
        assert record.status is Status.IN_USE
        assert live_mac in record.reason
    # Each record says where it was observed: this host, borrowing the address.
    assert f"claiming {FREE_V4} on eth0" in records[(str(FREE_V4), PROVIDER_V4, 25, "tcp")].origin
    assert f"claiming {FREE_V6} on eth0" in records[(str(FREE_V6), PROVIDER_V6, 25, "tcp")].origin
    # Nobody's cache was pointed at the auditor: the router still knows the live appliance.
    assert segment.router_neighbour(LIVE_V4) == live_mac
    arp = capture.arp()
    for candidate in (FREE_V4, SHARED):
        probes = [a for a in arp if a[0] == 1 and a[1] == UNSPECIFIED and a[2] == candidate]
        assert len(probes) == 3  # RFC 5227 PROBE_NUM, sender 0.0.0.0
    assert [a for a in arp if a[1] == LIVE_V4] == []  # never spoke as the address in use
    assert [a for a in arp if a[1] == a[2] and a[1] != UNSPECIFIED] == []  # no announcement
    adverts = capture.neighbour_advertisements()
    assert [a for a in adverts if not a[2]] == []  # no unsolicited NA
    assert [a for a in adverts if a[1] == LIVE_V6] == []
    assert 135 in capture.icmpv6_types()  # DAD ran (the capture sees ICMPv6)
    # No router solicitation from a claim link (the auditor host's own eth0 may send them).
    assert 133 not in capture.icmpv6_types(not_from=segment.mac(segment.auditor))
    assert_nothing_left(segment)


SNIPPET = """
import json, subprocess
from netaddr import IPNetwork
from auditor.claim import ClaimRequest, claim_session
KEYS = ["net.ipv4.conf.claim0.arp_notify", "net.ipv4.conf.all.arp_notify",
        "net.ipv6.conf.claim0.ndisc_notify", "net.ipv6.conf.all.ndisc_notify",
        "net.ipv6.conf.claim0.optimistic_dad", "net.ipv6.conf.claim0.accept_dad"]
wanted = [IPNetwork("198.51.100.12/24"), IPNetwork("2001:db8:100::12/64")]
out = {}
with claim_session(ClaimRequest("eth0"), wanted) as claim:
    for c in claim.claimed:
        values = subprocess.run(["ip", "netns", "exec", c.netns, "sysctl", "-n", *KEYS],
                                capture_output=True, text=True, check=True).stdout.split()
        addr = subprocess.run(["ip", "-j", "-n", c.netns, "addr", "show", "dev", "claim0"],
                              capture_output=True, text=True, check=True).stdout
        out[str(c.ip)] = {"sysctl": dict(zip(KEYS, values)), "addr": json.loads(addr)}
print(json.dumps(out))
"""


def test_announcements_are_off_before_the_address_is_configured(segment: Segment) -> None:
    proc = subprocess.run(segment.nsenter([sys.executable, "-c", SNIPPET]),
                          check=False, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert set(seen) == {str(FREE_V4), str(FREE_V6)}
    for claimed in seen.values():
        sysctl = claimed["sysctl"]
        assert sysctl["net.ipv4.conf.claim0.arp_notify"] == "0"
        assert sysctl["net.ipv4.conf.all.arp_notify"] == "0"
        assert sysctl["net.ipv6.conf.claim0.ndisc_notify"] == "0"
        assert sysctl["net.ipv6.conf.all.ndisc_notify"] == "0"
        assert sysctl["net.ipv6.conf.claim0.optimistic_dad"] == "0"
        assert sysctl["net.ipv6.conf.claim0.accept_dad"] == "1"
    v6 = [a for a in seen[str(FREE_V6)]["addr"][0]["addr_info"] if a["local"] == str(FREE_V6)]
    assert v6 and not v6[0].get("tentative")  # DAD ran and passed
    assert_nothing_left(segment)


def test_claim_check_names_the_mac_of_each_address_in_use(segment: Segment, tmp_path: Path) -> None:
    run = auditor(segment, "claim", "check", str(write_inventory(tmp_path)), "--claim", "eth0")
    assert run.returncode == 1, run.stderr
    live_mac = segment.mac(segment.appliance)
    assert f"in use  {LIVE_V4} by {live_mac}" in run.stdout
    assert f"in use  {LIVE_V6} by {live_mac}" in run.stdout
    for free in (FREE_V4, FREE_V6, SHARED):
        assert f"free    {free}" in run.stdout
    assert_nothing_left(segment)


def _claimed_and_probing(segment: Segment, tmp_path: Path) -> subprocess.Popen[str]:
    """A probe run that has claimed its addresses and waits on filtered ports (30 s each)."""
    proc = start_auditor(segment, "probe", str(write_inventory(tmp_path)), "--claim", "eth0",
                         "--timeout", "30", "-o", str(tmp_path / "results.json"))  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the claim summary comes once every address is claimed
    assert line.startswith("claim on eth0"), line + proc.stderr.read()
    time.sleep(0.5)  # connects in flight inside the claim namespaces
    assert claim_namespaces(proc.pid)
    return proc


def test_sigterm_releases_every_claimed_address(segment: Segment, tmp_path: Path) -> None:
    proc = _claimed_and_probing(segment, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err
    assert_nothing_left(segment, proc.pid)


def test_what_sigkill_leaves_is_removed_by_cleanup_and_by_the_next_run(
    segment: Segment, tmp_path: Path
) -> None:
    killed = _claimed_and_probing(segment, tmp_path)
    killed.kill()
    killed.communicate(timeout=30)
    assert claim_namespaces(killed.pid)  # the kill did leave them
    assert (STATE_DIR / f"{killed.pid}.json").exists()
    cleanup = auditor(segment, "claim", "cleanup")
    assert cleanup.returncode == 0, cleanup.stderr
    assert f"audclaim-{killed.pid}-" in cleanup.stdout
    assert_nothing_left(segment, killed.pid)

    again = _claimed_and_probing(segment, tmp_path)
    again.kill()
    again.communicate(timeout=30)
    assert claim_namespaces(again.pid)
    check = auditor(segment, "claim", "check", str(write_inventory(tmp_path)), "--claim", "eth0")
    assert check.returncode == 1, check.stderr
    assert_nothing_left(segment, again.pid)


def test_audit_with_claim_reports_in_use_as_unverified(segment: Segment, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    run = auditor(segment, "audit", str(write_inventory(tmp_path)), "--claim", "eth0",
                  "--timeout", "1", "--no-store", "-o", str(folder), "-q")  # fmt: skip
    assert run.returncode == 1, run.stderr
    records = read_results(folder / "results.json").records
    in_use = {r.source for r in records if r.status is Status.IN_USE}
    assert in_use == {str(LIVE_V4), str(LIVE_V6)}
    assert any(r.source == str(FREE_V4) and r.status is Status.OPEN for r in records)
    assert_nothing_left(segment)


@pytest.mark.parametrize(
    ("setup", "iface", "message"),
    [
        ([], "lo", "loopback"),
        ([["link", "add", "i11d0", "type", "veth", "peer", "name", "i11d1"]], "i11d0", "down"),
        ([["tuntap", "add", "mode", "tun", "name", "i11tun"], ["link", "set", "i11tun", "up"]],
         "i11tun", "no Ethernet layer 2"),
        ([], "i11none", "no such interface"),
    ],
)  # fmt: skip
def test_a_parent_claim_mode_cannot_use_is_refused(
    segment: Segment, tmp_path: Path, setup: list[list[str]], iface: str, message: str
) -> None:
    for argv in setup:
        subprocess.run(["ip", "-n", segment.auditor, *argv], check=True)
    try:
        run = auditor(segment, "probe", str(write_inventory(tmp_path)), "--claim", iface)
    finally:
        for name in ("i11d0", "i11tun"):
            subprocess.run(["ip", "-n", segment.auditor, "link", "del", name], check=False,
                           capture_output=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert run.stderr.count("\n") == 1  # one line, no traceback
    assert claim_namespaces() == set()


def _probe(segment: Segment, inventory: Path, out: Path, *sources: IPAddress) -> None:
    picks = [arg for ip in sources for arg in ("--source", str(ip))]
    run = auditor(segment, "probe", str(inventory), "--claim", "eth0", "--timeout", "1",
                  "-q", "-o", str(out), *picks)  # fmt: skip
    assert run.returncode in (0, 1, 4), run.stderr  # a verdict (4: in-use flows unproven)


def _audit_evidence(tmp_path: Path, inventory: Path, name: str, *files: Path) -> tuple[int, dict]:
    folder = tmp_path / name
    evidence = [arg for f in files for arg in ("--evidence", str(f))]
    code = subprocess.run(
        [AUDITOR, "audit", str(inventory), *evidence, "--no-store", "-q", "-o", str(folder)],
        check=False, capture_output=True, text=True, timeout=120,
    ).returncode  # fmt: skip
    records = read_results(folder / "results.json").records
    return code, {(r.key, r.check): r for r in records}


def test_two_claim_hosts_merged_equal_one_and_a_disagreement_is_a_conflict(
    segment: Segment, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path)
    one, part_a, part_b, changed = (tmp_path / f"{n}.json" for n in ("one", "a", "b", "c"))
    _probe(segment, inventory, one)
    _probe(segment, inventory, part_a, SHARED, FREE_V4)
    _probe(segment, inventory, part_b, FREE_V6, LIVE_V4, LIVE_V6)
    code_one, single = _audit_evidence(tmp_path, inventory, "single", one)
    code_two, merged = _audit_evidence(tmp_path, inventory, "merged", part_a, part_b)
    assert code_one == code_two == 1
    assert {k: r.status for k, r in merged.items()} == {k: r.status for k, r in single.items()}
    assert merged[((str(LIVE_V4), PROVIDER_V4, "tcp", 25), "tcp")].status is Status.IN_USE

    # The firewall team opens submission (587) between two probes of the same address.
    rule = ["-p", "tcp", "--dport", "587", "-j", "ACCEPT"]
    subprocess.run(["ip", "netns", "exec", segment.router, "iptables", "-I", "FORWARD", "1", *rule],
                   check=True)  # fmt: skip
    try:
        _probe(segment, inventory, changed, FREE_V4)
    finally:
        subprocess.run(["ip", "netns", "exec", segment.router, "iptables", "-D", "FORWARD", *rule],
                       check=True)  # fmt: skip
    code, mixed = _audit_evidence(tmp_path, inventory, "conflict", part_a, changed)
    assert code == 1
    record = mixed[((str(FREE_V4), PROVIDER_V4, "tcp", 587), "tcp")]
    assert record.status is Status.CONFLICT
    assert "filtered" in record.reason and "open" in record.reason
    assert f"claiming {FREE_V4} on eth0" in record.reason  # both sources named
