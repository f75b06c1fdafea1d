"""`fleet run` when the SSH connection to a site is really lost part-way through the site's
probe stream: a real OpenSSH server in the lab's probe namespace, the real `auditor probe -`
there, and the connection cut after the site's first pair was answered, either by killing
the sshd process serving it (a server crash: the connection closes) or by dropping its
packets in the namespace (a network cut: nothing arrives any more, only SSH keepalives can
tell). The answered pair keeps its answer, the other is incomplete with the reason, the rest
of the fleet runs, exit code 3, and nothing is left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from fleet_support import PAIR, results_for
from support.cli import Result
from support.polling import wait_for
from support.sshd import SshServer, answers_first_pair_then

from auditor.lab import Lab

pytestmark = pytest.mark.lab

AUDITOR = Path(sys.executable).parent / "auditor"
KEEPALIVE_S = 1  # --ssh-keepalive: the cut connection counts as lost after 3 unanswered
SITE_TIMEOUT_S = 600  # --site-timeout: far beyond what the test waits for


@pytest.fixture
def sshd(lab: Lab) -> Iterator[SshServer]:
    """A server of its own: the test breaks its connection."""
    server = SshServer(lab.probe_ns)
    try:
        yield server.start()
    finally:
        server.stop()


@contextmanager
def packets_dropped(namespace: str) -> Iterator[None]:
    """Every packet to or from port 22 in `namespace` dropped (sshd's side of the connection),
    until the block ends."""
    table = f"fa_cut_{os.getpid()}"
    rules = (
        f"table inet {table} {{\n"
        "  chain input { type filter hook input priority filter; policy accept;\n"
        "    tcp dport 22 drop\n    tcp sport 22 drop\n  }\n}\n"
    )
    nft = ["ip", "netns", "exec", namespace, "nft"]
    subprocess.run([*nft, "-f", "-"], input=rules, text=True, check=True, timeout=30)
    try:
        yield
    finally:
        subprocess.run([*nft, "delete", "table", "inet", table], check=True, timeout=30)


def kill_session(sshd: SshServer, _stack: ExitStack) -> None:
    sessions = sshd.sessions()
    assert sessions, "no sshd session serves the fleet run"
    for pid in sessions:
        os.kill(pid, signal.SIGKILL)


def drop_packets(sshd: SshServer, stack: ExitStack) -> None:
    assert sshd.namespace is not None
    stack.enter_context(packets_dropped(sshd.namespace))


def fleet_file(tmp_path: Path, lab: Lab, sshd: SshServer, auditor: Path = AUDITOR) -> Path:
    """lab-site: two pairs probed over SSH, the lab's and support.example.com (its addresses
    are in the lab too); evidence-site: a third pair judged on its evidence here."""
    other = tmp_path / "other.yaml"
    other.write_text(PAIR.read_text().replace("support.example.com", "other.example.com", 1))
    evidence = results_for(other, tmp_path / "other-results.json")
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "sites:\n"
        "  - name: lab-site\n"
        f"    probe_host: ssh://root@127.0.0.1:{sshd.port}\n"
        f"    ssh_key: {sshd.client_key}\n"
        f"    known_hosts: {sshd.known_hosts}\n"
        f"    auditor: {auditor}\n"
        "    pairs:\n"
        f"      - inventory: {lab.inventory_path()}\n"
        f"      - inventory: {PAIR}\n"
        "  - name: evidence-site\n"
        "    pairs:\n"
        f"      - inventory: {other}\n"
        f"        evidence: {evidence}\n"
    )
    return path


def remote_probes(namespace: str, *, pids: bool = False) -> list[str]:
    """The command lines of the `... probe - -q` processes in `namespace` (the auditor's, or
    a wrapper's)."""
    found = []
    for pid in subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        words = [a.decode(errors="replace") for a in argv if a]
        if words[-3:] == ["probe", "-", "-q"]:
            found.append(pid if pids else " ".join(words))
    return found


def processes_naming(text: str) -> list[int]:
    """This host's processes whose command line holds `text` (the fleet run and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("cut", [kill_session, drop_packets], ids=["sshd-killed", "dropped"])
def test_a_connection_lost_mid_stream_keeps_the_answers_and_fails_only_the_rest(
    tmp_path: Path, lab: Lab, sshd: SshServer, cut: Callable[[SshServer, ExitStack], None]
) -> None:
    env = dict(os.environ, AUDITOR_BIND_PASSWORD=lab.password_file().read_text().strip())
    path = fleet_file(tmp_path, lab, sshd)
    out = tmp_path / "out"
    first = out / "probes" / "lab-site" / "lab.example.com.results.json"
    with ExitStack() as stack:
        proc = subprocess.Popen(
            [str(AUDITOR), "fleet", "run", str(path), "-o", str(out),
             "--store", str(tmp_path / "h.sqlite"), "--timeout", "5",
             "--ssh-keepalive", str(KEEPALIVE_S), "--site-timeout", str(SITE_TIMEOUT_S)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # its judging workers too are stopped on a failure
        )  # fmt: skip
        try:
            # the first pair answered: the second is being probed (its filtered flows wait
            # 5 s at the probe host), and the connection is cut now
            assert wait_for(first.exists, 120), proc.stderr.read() if proc.poll() else ""
            assert proc.poll() is None and remote_probes(lab.probe_ns)
            cut(sshd, stack)
            cut_at = time.monotonic()
            stdout, stderr = proc.communicate(timeout=90)
            took = time.monotonic() - cut_at
            # the probe at the site ends on its own, the network still cut (its pair's probes
            # done, its output goes nowhere): none is left behind
            assert wait_for(lambda: not remote_probes(lab.probe_ns), 60)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 3, stderr
    # a dropped connection is known lost after 3 keepalives unanswered, not at --site-timeout
    assert took < 30, took
    (line,) = [x for x in stderr.splitlines() if x.startswith("warning:")]
    site = f"ssh://root@127.0.0.1:{sshd.port}"
    reason = f"{site}: the connection was lost after 1 of 2 pairs"
    assert "lab-site" in line and reason in line, line
    # the pair answered before the cut is judged on its answer
    answered = read_run(out / "lab-site" / "lab.example.com")
    assert answered["verdict"] == "findings"
    assert not any(reason in str(r.get("reason")) for r in answered["records"])
    # the pair after it is incomplete, every check with that reason
    lost = read_run(out / "lab-site" / "support.example.com")
    assert lost["verdict"] == "incomplete"
    assert lost["records"] and all(
        r["status"] == "error" and reason in r["reason"] for r in lost["records"]
    )
    # the rest of the fleet ran
    assert read_run(out / "evidence-site" / "other.example.com")["verdict"] == "findings"
    assert "lab-site/support.example.com: incomplete" in stdout
    assert "evidence-site/other.example.com: findings" in stdout
    assert processes_naming(str(path)) == []  # no fleet worker left here


def test_a_site_past_its_timeout_is_given_up_then_and_says_how_far_it_got(
    tmp_path: Path, lab: Lab, sshd: SshServer
) -> None:
    # A probe host that answers the first pair, then goes quiet (keepalives still answered):
    # only --site-timeout ends the wait.
    stalls = answers_first_pair_then(
        tmp_path / "auditor-stalls", AUDITOR, ["time.sleep(3600)"], imports=", time"
    )
    env = dict(os.environ, AUDITOR_BIND_PASSWORD=lab.password_file().read_text().strip())
    path = fleet_file(tmp_path, lab, sshd, auditor=stalls)
    out = tmp_path / "out"
    started = time.monotonic()
    try:
        done = run_fleet(
            path, out, "--timeout", "1", "--ssh-keepalive", "1", "--site-timeout", "15", env=env
        )
        took = time.monotonic() - started
    finally:
        stop_remote_probes(lab.probe_ns)
    assert done.returncode == 3, done.stderr
    # given up at --site-timeout, not when the quiet probe host would have ended
    assert 15 <= took < 45, took
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("warning:")]
    reason = f"ssh://root@127.0.0.1:{sshd.port}: no answer within 15 s (after 1 of 2 pairs)"
    assert "lab-site" in line and reason in line, line
    assert read_run(out / "lab-site" / "lab.example.com")["verdict"] == "findings"
    lost = read_run(out / "lab-site" / "support.example.com")
    assert lost["verdict"] == "incomplete"
    assert all(reason in r["reason"] for r in lost["records"])
    assert read_run(out / "evidence-site" / "other.example.com")["verdict"] == "findings"
    assert processes_naming(str(path)) == []  # no fleet worker left here


def run_fleet(path: Path, out: Path, *args: str, env: dict[str, str]) -> Result:
    """`auditor fleet run` as a process of its own (its judging workers in its session: all
    stopped if it outlives the test's patience)."""
    proc = subprocess.Popen(
        [str(AUDITOR), "fleet", "run", str(path), "-o", str(out),
         "--store", str(out.parent / "h.sqlite"), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    return Result(proc.returncode, stdout, stderr)


def stop_remote_probes(namespace: str) -> None:
    """The stalling stand-in at the probe host, stopped (a root login cannot be signalled
    over SSH: sshd refuses it without privilege separation)."""
    for pid in remote_probes(namespace, pids=True):
        with suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def read_run(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "run.json").read_text()))
