"""Claim mode in a fleet run (the go-live case): the probe host is on the pair's segment but
does not hold the pair's addresses. With a pair's `claim:` the real `auditor probe -` there
(reached over a real sshd) borrows the free ones, probes, and releases them; without it every
flow is `not-local` and the pair `incomplete`. The claimed addresses are never left behind:
not when the fleet run is killed mid-probe (the probe host sees nobody reads its stream), not
when the probe process itself is killed (the fleet runs `auditor claim cleanup` there).
A site without probe_host claims on the fleet host itself, through the same probe stream."""

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
    auditor,
    claim_namespaces,
    links,
    write_inventory,
)
from support.signals import with_default_signals
from support.sshd import SshServer

from auditor.claim.session import STATE_DIR, cleanup_stale
from auditor.lab.segment import Segment

pytestmark = pytest.mark.lab

PAIR = "claim.example.com"


@pytest.fixture(scope="module")
def segment() -> Iterator[Segment]:
    seg = Segment(f"fc{os.getpid() % 10000}", LIVE)
    try:
        seg.up()
        yield seg
    finally:
        seg.down()
        cleanup_stale()  # what a failed test may have left


@pytest.fixture(scope="module")
def sshd(segment: Segment) -> Iterator[SshServer]:
    """The probe host: an sshd on the segment's auditor host (its eth0 is on the pair's
    segment; it holds none of the pair's addresses)."""
    server = SshServer(segment.auditor, share_mounts=True)
    try:
        yield server.start()
    finally:
        server.stop()


def assert_nothing_left(segment: Segment) -> None:
    assert claim_namespaces() == set()
    assert links(segment.auditor) == {"lo", "eth0"}
    assert not list(STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else True


def fleet_file(tmp_path: Path, sshd: SshServer | None, claim: str | None, *,
               remote: str = AUDITOR) -> Path:  # fmt: skip
    inventory = write_inventory(tmp_path)
    site = "  - name: go-live\n"
    if sshd is not None:
        site += (
            f"    probe_host: ssh://root@127.0.0.1:{sshd.port}\n"
            f"    ssh_key: {sshd.client_key}\n"
            f"    known_hosts: {sshd.known_hosts}\n"
            f"    auditor: {remote}\n"
        )
    pair = f"      - inventory: {inventory}\n"
    if claim is not None:
        pair += f"        claim: {claim}\n"
    path = tmp_path / "fleet.yaml"
    path.write_text(f"sites:\n{site}    pairs:\n{pair}")
    return path


def fleet(*args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AUDITOR, "fleet", "run", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def statuses(records: list[dict[str, object]]) -> dict[tuple[object, ...], object]:
    return {(r["source"], r["destination"], r["port"], r["check"]): r["status"] for r in records}


def assert_claimed_answers(records: list[dict[str, object]], live_mac: str) -> None:
    seen = statuses(records)
    for source, provider in ((FREE_V4, PROVIDER_V4), (SHARED, PROVIDER_V4), (FREE_V6, PROVIDER_V6)):
        assert seen[(str(source), provider, 25, "tcp")] == "open"  # the router admits SMTP
        assert seen[(str(source), provider, 587, "tcp")] == "filtered"  # and drops submission
    for source, provider in ((LIVE_V4, PROVIDER_V4), (LIVE_V6, PROVIDER_V6)):
        (record,) = [r for r in records if (r["source"], r["destination"], r["port"], r["check"])
                     == (str(source), provider, 25, "tcp")]  # fmt: skip
        assert record["status"] == "in-use" and live_mac in str(record["reason"])
    assert "not-local" not in seen.values()


def test_a_claim_at_the_probe_host_gets_real_answers_without_it_the_pair_is_not_local(
    segment: Segment, sshd: SshServer, tmp_path: Path
) -> None:
    live_mac = segment.mac(segment.appliance)
    # Without claim: the probe host holds none of the pair's addresses.
    out = tmp_path / "plain"
    plain = fleet(fleet_file(tmp_path, sshd, None), "-o", out, "--store", tmp_path / "a.sqlite",
                  "--timeout", "1")  # fmt: skip
    assert plain.returncode == 3, plain.stderr
    run = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert run["verdict"] == "incomplete"
    assert set(statuses(run["records"]).values()) <= {"not-local", "skipped"}
    assert f"go-live/{PAIR}: incomplete" in plain.stdout

    # With claim: the same fleet, the pair's free addresses borrowed at the probe host.
    out = tmp_path / "claimed"
    claimed = fleet(fleet_file(tmp_path, sshd, "{interface: eth0}"), "-o", out, "--store",
                    tmp_path / "b.sqlite", "--timeout", "1")  # fmt: skip
    assert claimed.returncode == 1, claimed.stderr  # findings: 587 is filtered
    remote = json.loads((out / "probes" / "go-live" / f"{PAIR}.results.json").read_text())
    claim = remote["meta"]["options"]["claim"]
    assert claim["parent"] == "eth0"
    assert {c["address"] for c in claim["claimed"]} == {str(FREE_V4), str(SHARED), str(FREE_V6)}
    assert {u["address"] for u in claim["in_use"]} == {str(LIVE_V4), str(LIVE_V6)}
    assert_claimed_answers(remote["records"], live_mac)
    origins = {r["origin"] for r in remote["records"] if r["source"] == str(FREE_V4)}
    assert all(f"claiming {FREE_V4} on eth0" in o for o in origins)
    run = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert run["verdict"] == "findings"
    assert statuses(run["records"]) == statuses(remote["records"])
    assert f"go-live/{PAIR}: findings" in claimed.stdout
    # Nobody's cache was pointed at the probe host: the router still knows the live appliance.
    assert segment.router_neighbour(LIVE_V4) in (None, live_mac)
    assert_nothing_left(segment)


def _wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def test_a_fleet_run_killed_mid_probe_leaves_no_claimed_address_at_the_probe_host(
    segment: Segment, sshd: SshServer, tmp_path: Path
) -> None:
    # 30 s timeouts: the filtered flows keep the probe host busy long after the kill
    proc = subprocess.Popen(
        [AUDITOR, "fleet", "run", fleet_file(tmp_path, sshd, "eth0"), "-o", tmp_path / "out",
         "--store", tmp_path / "h.sqlite", "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(claim_namespaces, 60, "the probe host claimed the free addresses")
        time.sleep(1)  # probes in flight from the claimed addresses
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the fleet run and its workers, no cleanup
        proc.communicate(timeout=30)
        _wait_for(lambda: not _group_alive(proc.pid), 30, "the fleet's processes ended")
    # The connection is gone: the probe host's auditor sees nobody reads its stream, stops
    # and releases, long before its probes would have ended (30 s each).
    _wait_for(lambda: not claim_namespaces(), 15, "the claimed addresses were released")
    assert_nothing_left(segment)


def test_a_probe_killed_at_the_probe_host_is_cleaned_up_by_the_fleet(
    segment: Segment, sshd: SshServer, tmp_path: Path
) -> None:
    # A probe host whose auditor is SIGKILLed while it holds the claimed addresses (the OOM
    # killer, say): nothing of it can release them.
    wrapper = tmp_path / "auditor-killed"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import glob, os, subprocess, sys, time\n"
        f"real = {AUDITOR!r}\n"
        "if sys.argv[1:2] != ['probe']:\n"
        "    os.execv(real, [real, *sys.argv[1:]])\n"
        "p = subprocess.Popen([real, *sys.argv[1:]])\n"
        "while not glob.glob(f'/run/netns/audclaim-{p.pid}-*'):\n"
        "    time.sleep(0.05)\n"
        "time.sleep(1)\n"
        "p.kill()\n"
        "p.wait()\n"
        "sys.stderr.write('probe host: killed\\n')\n"
        "sys.exit(137)\n"
    )
    wrapper.chmod(0o755)
    out = tmp_path / "out"
    result = fleet(fleet_file(tmp_path, sshd, "eth0", remote=str(wrapper)), "-o", out,
                   "--store", tmp_path / "h.sqlite", "--timeout", "30")  # fmt: skip
    assert result.returncode == 3, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert "the probe stream ended after 0 of 1 pairs (probe host: killed)" in line
    run = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert run["verdict"] == "incomplete"
    # the fleet ran `auditor claim cleanup` at the probe host: nothing is left on the segment
    assert_nothing_left(segment)


def test_a_site_without_probe_host_claims_on_the_fleet_host(
    segment: Segment, tmp_path: Path
) -> None:
    # The fleet host is the segment's auditor host here.
    out = tmp_path / "out"
    result = auditor(segment, "fleet", "run", str(fleet_file(tmp_path, None, "eth0")), "-o",
                     str(out), "--store", str(tmp_path / "h.sqlite"), "--timeout", "1",
                     timeout=300)  # fmt: skip
    assert result.returncode == 1, result.stderr
    here = json.loads((out / "probes" / "go-live" / f"{PAIR}.results.json").read_text())
    assert here["meta"]["options"]["claim"]["parent"] == "eth0"
    assert_claimed_answers(here["records"], segment.mac(segment.appliance))
    run = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert run["verdict"] == "findings"
    assert_nothing_left(segment)


def test_a_local_claim_on_an_interface_this_host_lacks_is_refused_before_anything_runs(
    segment: Segment, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path = fleet_file(tmp_path, None, "{interface: eth7}")
    result = auditor(segment, "fleet", "run", str(path), "-o", str(out), "--store",
                     str(tmp_path / "h.sqlite"))  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {path}:5: sites[0].pairs[0].claim: interface eth7: no such")
    assert not out.exists() and not (tmp_path / "h.sqlite").exists()
    assert claim_namespaces() == set()


def test_a_fleet_run_killed_while_it_claims_on_this_host_leaves_nothing(
    segment: Segment, tmp_path: Path
) -> None:
    # A site without probe_host: the claim is its child `auditor probe -`'s. The fleet
    # process alone is SIGKILLed (its child is not): the child sees nobody reads its stream.
    proc = subprocess.Popen(
        segment.nsenter([AUDITOR, "fleet", "run", str(fleet_file(tmp_path, None, "eth0")),
                         "-o", str(tmp_path / "out"), "--store", str(tmp_path / "h.sqlite"),
                         "--timeout", "30", "--concurrency", "1"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(claim_namespaces, 60, "the fleet's probe claimed the free addresses")
        time.sleep(1)  # probes in flight from the claimed addresses
        fleet_pid = _fleet_pid(proc.pid)
        os.kill(fleet_pid, signal.SIGKILL)
        _wait_for(lambda: not claim_namespaces(), 15, "the claimed addresses were released")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        _wait_for(lambda: not _group_alive(proc.pid), 30, "the fleet's processes ended")
    assert_nothing_left(segment)


def _group_alive(pgid: int) -> bool:
    """A process of the group still runs (a zombie does not count: nobody may reap it)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _fleet_pid(nsenter_pid: int) -> int:
    """The auditor's pid under nsenter (nsenter execs it: the same pid, unless it forks)."""
    cmdline = Path(f"/proc/{nsenter_pid}/cmdline").read_bytes().split(b"\0")
    assert any(b"fleet" in part for part in cmdline), cmdline
    return nsenter_pid


def test_a_pair_that_cannot_claim_at_the_probe_host_fails_alone(
    segment: Segment, sshd: SshServer, tmp_path: Path
) -> None:
    # Two pairs at the site: the first names an interface the probe host lacks.
    other = tmp_path / "other.yaml"
    other.write_text(write_inventory(tmp_path).read_text().replace(PAIR, "next.example.com"))
    path = fleet_file(tmp_path, sshd, "{interface: eth7}")
    path.write_text(path.read_text() + f"      - inventory: {other}\n        claim: eth0\n")
    out = tmp_path / "out"
    result = fleet(path, "-o", out, "--store", tmp_path / "h.sqlite", "--timeout", "1")
    assert result.returncode == 3, result.stderr
    failed = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert failed["verdict"] == "incomplete"
    assert failed["records"] and all(
        r["status"] == "error" and "eth7: no such interface on this host" in r["reason"]
        for r in failed["records"]
    )
    # the next pair was still claimed and probed
    probed = json.loads((out / "go-live" / "next.example.com" / "run.json").read_text())
    assert probed["verdict"] == "findings"
    assert_claimed_answers(probed["records"], segment.mac(segment.appliance))
    assert_nothing_left(segment)


SANDBOX = """
import os, subprocess, sys
# What the unit's ProtectSystem=strict and ReadWritePaths= do to /run (read-only, but for the
# given folders), then its CapabilityBoundingSet= (setpriv), then the command.
writable, caps, command = sys.argv[1].split(), sys.argv[2], sys.argv[3:]
def run(*argv):
    subprocess.run(argv, check=True)
run("mount", "--make-rslave", "/")
run("mount", "--rbind", "/run", "/run")
for path in writable:
    run("mount", "--rbind", path, path)
points = [line.split()[4] for line in open("/proc/self/mountinfo")]
for point in dict.fromkeys(points):
    inside = point == "/run" or point.startswith("/run/")
    if inside and not any(point == w or point.startswith(w + "/") for w in writable):
        subprocess.run(["mount", "-o", "remount,bind,ro", point], check=False)
assert not os.access("/run", os.W_OK), "/run is still writable"
os.execvp("setpriv", ["setpriv", f"--inh-caps=-all,{caps}", f"--bounding-set=-all,{caps}",
                      *command])
"""


def test_a_claiming_fleet_runs_within_its_scheduled_units_limits(
    segment: Segment, tmp_path: Path
) -> None:
    """The unit `schedule --print systemd --fleet` prints for a fleet that claims here: its
    capability bounding set and its writable folders are enough for the claim (and the claim
    runs within them: no more is granted than that)."""
    fleet = fleet_file(tmp_path, None, "eth0")
    printed = subprocess.run(
        [AUDITOR, "schedule", "--print", "systemd", "--fleet", str(fleet)],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout  # fmt: skip

    def setting(name: str) -> str:
        (value,) = [x.split("=", 1)[1] for x in printed.splitlines() if x.startswith(f"{name}=")]
        return value

    caps = ",".join(
        f"+{c.lower().removeprefix('cap_')}" for c in setting("CapabilityBoundingSet").split()
    )
    writable = [p for p in setting("ReadWritePaths").split() if p.startswith("/run/")]
    assert caps and writable
    subprocess.run(setting("ExecStartPre").removeprefix("+").split(), check=True)
    script = tmp_path / "sandbox.py"
    script.write_text(SANDBOX)
    out = tmp_path / "out"
    command = [AUDITOR, "fleet", "run", str(fleet), "-o", str(out), "--store",
               str(tmp_path / "h.sqlite"), "--timeout", "1"]  # fmt: skip
    result = subprocess.run(
        ["unshare", "--mount", *segment.nsenter([sys.executable, str(script), " ".join(writable),
                                                 caps, *command])],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    here = json.loads((out / "probes" / "go-live" / f"{PAIR}.results.json").read_text())
    assert_claimed_answers(here["records"], segment.mac(segment.appliance))
    assert_nothing_left(segment)


def _claim_bundle(tmp_path: Path) -> bytes:
    from auditor.claim.request import claim_addresses
    from auditor.flows.prepare import prepare
    from auditor.probe import bundle as b
    from auditor.probe.options import ProbeOptions

    prepared = prepare(write_inventory(tmp_path), resolve=False)
    addresses = tuple(claim_addresses(prepared.inventory, prepared.flows))
    part = b.make_bundle(PAIR, prepared.inventory, prepared.flows, {}, ProbeOptions(timeout=30),
                         claim=b.BundleClaim("eth0", addresses))  # fmt: skip
    return b.site_bundle([part], claims=True)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130),
                                               (signal.SIGHUP, 143)])  # fmt: skip
def test_the_probe_host_releases_its_claim_when_interrupted_or_terminated(
    segment: Segment, tmp_path: Path, signum: int, code: int
) -> None:
    # SIGINT at its default in the probe however pytest was started (a suite started as a
    # background job ignores SIGINT in every child it starts: support/signals.py)
    argv = segment.nsenter(with_default_signals([AUDITOR, "probe", "-", "-q"]))
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(_claim_bundle(tmp_path))
    proc.stdin.close()
    try:
        _wait_for(lambda: claim_namespaces(proc.pid), 60, "the probe claimed the free addresses")
        time.sleep(1)  # probes in flight (30 s each where filtered)
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    assert proc.returncode == code, proc.stderr.read()
    assert_nothing_left(segment)


def test_a_probe_killed_on_the_fleet_host_is_cleaned_up_by_the_fleet(
    segment: Segment, tmp_path: Path
) -> None:
    # A site without probe_host: its claiming probe (the fleet's child) is SIGKILLed while it
    # holds the claimed addresses.
    out = tmp_path / "out"
    proc = subprocess.Popen(
        segment.nsenter([AUDITOR, "fleet", "run", str(fleet_file(tmp_path, None, "eth0")),
                         "-o", str(out), "--store", str(tmp_path / "h.sqlite"),
                         "--timeout", "30"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(claim_namespaces, 60, "the fleet's probe claimed the free addresses")
        time.sleep(1)
        (child,) = {int(name.split("-")[1]) for name in claim_namespaces()}
        os.kill(child, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert "this host: the probe stream ended after 0 of 1 pairs (ended by signal SIGKILL)" in line
    run = json.loads((out / "go-live" / PAIR / "run.json").read_text())
    assert run["verdict"] == "incomplete"
    assert_nothing_left(segment)  # the fleet removed what its killed child held
