"""A site given up at --site-timeout leaves no `auditor probe` running at its probe host: a
real OpenSSH server in the lab's probe namespace, its login a user that is not root (made in
sshd's own mount namespace, tests/support/sshd.py) or root, and the real `auditor probe -`
there, still probing when the site's time is up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from fleet_support import PAIR
from support.polling import wait_for
from support.sshd import LOGIN_UID, SshServer, answers_first_pair_then

from auditor.lab import Lab

pytestmark = pytest.mark.lab

AUDITOR = Path(sys.executable).parent / "auditor"
USER = "fa-probe"
SITE_TIMEOUT_S = 10  # --site-timeout (its least)
PROBE_TIMEOUT_S = 40  # --timeout: the lab pair's filtered flows wait this long at the host


@pytest.fixture(params=[USER, "root"])
def login(request: pytest.FixtureRequest, lab: Lab) -> Iterator[tuple[SshServer, str]]:
    server = SshServer(lab.probe_ns, login_user=USER)
    try:
        yield server.start(), request.param
    finally:
        try:
            for pid in remote_probes(lab.probe_ns):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            server.stop()


def remote_probes(namespace: str) -> list[int]:
    """The `auditor probe - -q` processes in `namespace`."""
    found = []
    listed = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=True, timeout=30
    )
    for pid in listed.stdout.split():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if [a for a in argv if a][-3:] == [b"probe", b"-", b"-q"]:
            found.append(int(pid))
    return found


def owner(pid: int) -> int | None:
    try:
        return Path(f"/proc/{pid}").stat().st_uid
    except OSError:
        return None


def fleet_file(tmp_path: Path, lab: Lab, sshd: SshServer, user: str, auditor: Path) -> Path:
    """lab-site, probed over SSH as `user`: the lab's pair and support.example.com (its
    addresses are in the lab too)."""
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "sites:\n"
        "  - name: lab-site\n"
        f"    probe_host: ssh://{user}@127.0.0.1:{sshd.port}\n"
        f"    ssh_key: {sshd.client_key}\n"
        f"    known_hosts: {sshd.known_hosts}\n"
        f"    auditor: {auditor}\n"
        "    pairs:\n"
        f"      - inventory: {lab.inventory_path()}\n"
        f"      - inventory: {PAIR}\n"
    )
    return path


def give_up(tmp_path: Path, lab: Lab, path: Path, probe_timeout: int, user: str) -> float:
    """`fleet run` of `path` until the site is given up at --site-timeout, a remote probe
    seen running before as `user`; the moment it returned."""
    env = dict(os.environ, AUDITOR_BIND_PASSWORD=lab.password_file().read_text().strip())
    proc = subprocess.Popen(
        [str(AUDITOR), "fleet", "run", str(path), "-o", str(tmp_path / "out"),
         "--store", str(tmp_path / "h.sqlite"), "--timeout", str(probe_timeout),
         "--site-timeout", str(SITE_TIMEOUT_S)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its judging workers too are stopped on a failure
    )  # fmt: skip
    started = time.monotonic()
    try:
        assert wait_for(lambda: bool(remote_probes(lab.probe_ns)), 30)
        uids = {owner(pid) for pid in remote_probes(lab.probe_ns)}
        assert uids == {LOGIN_UID if user == USER else 0}, uids
        _, stderr = proc.communicate(timeout=120)
        given_up = time.monotonic()
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == 3, stderr
    assert f"no answer within {SITE_TIMEOUT_S} s" in stderr
    assert given_up - started < SITE_TIMEOUT_S + 20
    return given_up


REFUSED = "session signalling requires privilege separation"


def test_the_remote_probe_stops_when_its_site_is_given_up(
    tmp_path: Path, lab: Lab, login: tuple[SshServer, str]
) -> None:
    """The real `auditor probe -`, mid-probe (the lab pair's filtered flows wait
    PROBE_TIMEOUT_S): gone at once after the give-up, for either login. A login that is not
    root: sshd honours the SSH signal request (SIGTERM to the session's process group). Root:
    sshd refuses it (OpenSSH's session_signal_req: for root the privileged monitor serves the
    session itself, mm_is_monitor()), and the probe ends because it watches its stream: the
    connection closed, its standard output's pipe reports POLLERR and it terminates itself
    (auditor.probe.bundle._stop_when_unread)."""
    sshd, user = login
    path = fleet_file(tmp_path, lab, sshd, user, AUDITOR)
    given_up = give_up(tmp_path, lab, path, PROBE_TIMEOUT_S, user)
    gone = wait_for(lambda: not remote_probes(lab.probe_ns), 10)
    assert gone, (time.monotonic() - given_up, sshd.log()[-2000:])
    assert time.monotonic() - given_up < 5
    assert (REFUSED in sshd.log()) is (user == "root")


def test_a_non_root_login_signals_a_remote_probe_that_does_not_watch_its_stream(
    tmp_path: Path, lab: Lab, login: tuple[SshServer, str]
) -> None:
    """A remote process that neither ends nor watches its stream (a stand-in that forwards
    the first pair's answer, then sleeps; the real probe under it writes into the stand-in's
    pipe, which stays open): only the SSH signal request stops it. Honoured for a login that
    is not root: both are gone at once. Refused for root (see above): the stand-in keeps
    running after the site was given up (the real probe under it ends when its pairs are
    done; the test stops what is left), so a probe host's login should not be root
    (docs/fleet.md)."""
    sshd, user = login
    # where the login user can read it (the test's own tmp_path is root's alone)
    stalls = answers_first_pair_then(
        sshd.root / "auditor-stalls", AUDITOR, ["time.sleep(3600)"], imports=", time"
    )
    path = fleet_file(tmp_path, lab, sshd, user, stalls)
    given_up = give_up(tmp_path, lab, path, 1, user)
    if user == USER:
        assert wait_for(lambda: not remote_probes(lab.probe_ns), 10), sshd.log()[-2000:]
        assert time.monotonic() - given_up < 5
        assert REFUSED not in sshd.log()
    else:
        time.sleep(3)
        left = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in remote_probes(lab.probe_ns)]
        assert any(b"auditor-stalls" in argv for argv in left), left  # the stand-in lingers
        assert REFUSED in sshd.log()
