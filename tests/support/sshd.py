"""A real OpenSSH server for tests: `sshd -f CONF -D` with its own host key and config in a
temp folder, run inside a network namespace (where a site's pair addresses are), listening on
that namespace's loopback; a socat forwarder on this host's loopback reaches it. Root only.
Everything it starts is stopped by `stop()`, also after a failure."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path.with_name(path.name + ".pub").read_text().strip()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid ...: comm may hold spaces and parentheses
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


# A login user that is not root, known only inside sshd's own mount namespace (`unshare -m`,
# private): /etc/passwd, /etc/group and /etc/shadow there are bind-mounted copies with the
# user added, and /root (mode 0700 here: the venv's Python lives under it) is a tmpfs of mode
# 0755 holding only the real /root/.pyenv, so the user can run this checkout's auditor. This
# machine's files are never changed; the namespace ends with sshd and its sessions.
LOGIN_UID = 61_234
_USER_NAMESPACE = """set -e
mount --bind "$R/passwd" /etc/passwd
mount --bind "$R/group" /etc/group
mount --bind "$R/shadow" /etc/shadow
if [ -d /root/.pyenv ]; then
  mkdir -p "$R/pyenv"
  mount --bind /root/.pyenv "$R/pyenv"
  mount -t tmpfs -o mode=0755,size=1m fa-root /root
  mkdir /root/.pyenv
  mount --move "$R/pyenv" /root/.pyenv
fi
exec "$@"
"""


class SshServer:
    def __init__(
        self, namespace: str | None, *, share_mounts: bool = False, login_user: str | None = None
    ) -> None:
        """`share_mounts`: sshd enters only the namespace's network (nsenter), not the private
        mount namespace of `ip netns exec`, so the network namespaces its sessions make (claim
        mode) are seen, and removed, by everyone. `login_user`: a user that is not root (uid
        LOGIN_UID), made for this server alone (see _USER_NAMESPACE); the client key logs in
        as it (and as root)."""
        self.namespace = namespace
        self.share_mounts = share_mounts
        self.login_user = login_user
        self.root = Path(tempfile.mkdtemp(prefix=f"fa-sshd-{os.getpid()}-"))
        self.port = _free_port()  # on this host's loopback (the forwarder's)
        self.inner_port = 22 if namespace else self.port
        self.client_key = self.root / "id_client"
        self.known_hosts = self.root / "known_hosts"
        self._procs: list[subprocess.Popen[bytes]] = []

    def _netns(self, *command: str) -> list[str]:
        return (
            ["ip", "netns", "exec", self.namespace, *command] if self.namespace else list(command)
        )

    def start(self) -> SshServer:
        host_pub = _keygen(self.root / "host_ed25519")
        client_pub = _keygen(self.client_key)
        (self.root / "authorized_keys").write_text(client_pub + "\n")
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.inner_port}\nListenAddress 127.0.0.1\n"
            f"HostKey {self.root / 'host_ed25519'}\nPidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPrintMotd no\n"
            "PermitUserEnvironment no\nLogLevel VERBOSE\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        if self.namespace:
            subprocess.run(self._netns("ip", "link", "set", "lo", "up"), check=True, timeout=30)
        log = (self.root / "sshd.log").open("wb")
        argv = [SSHD, "-f", str(config), "-D", "-e"]
        if self.namespace and self.share_mounts:
            argv = ["nsenter", f"--net=/run/netns/{self.namespace}", *argv]
        else:
            argv = self._netns(*argv)
        if self.login_user is not None:
            argv = self._as_user_namespace(self.login_user, argv)
        self._procs.append(subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True))
        if self.namespace:
            # socat reads ':' and ',' in an EXEC command as its own separators: escaped
            inner = " ".join(self._netns("socat", "STDIO", f"TCP:127.0.0.1:{self.inner_port}"))
            inner = inner.replace(":", "\\:").replace(",", "\\,")
            self._procs.append(
                subprocess.Popen(
                    ["socat", f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork",
                     f"EXEC:{inner}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                )
            )  # fmt: skip
        self._wait()
        return self

    def _as_user_namespace(self, user: str, argv: list[str]) -> list[str]:
        """`argv` in a private mount namespace where `user` exists (its home under the
        server's folder, which the user may traverse to read authorized_keys)."""
        home = self.root / "home"
        home.mkdir()
        os.chown(home, LOGIN_UID, LOGIN_UID)
        self.root.chmod(0o711)
        (self.root / "authorized_keys").chmod(0o644)
        for name, line in (
            ("passwd", f"{user}:x:{LOGIN_UID}:{LOGIN_UID}::{home}:/bin/sh"),
            ("group", f"{user}:x:{LOGIN_UID}:"),
            ("shadow", f"{user}:*:19000:0:99999:7:::"),  # '*': no password, not locked
        ):
            copy = self.root / name
            copy.write_text(Path(f"/etc/{name}").read_text().rstrip("\n") + f"\n{line}\n")
            copy.chmod(0o640 if name == "shadow" else 0o644)
        script = self.root / "user-namespace.sh"
        script.write_text(_USER_NAMESPACE)
        return ["unshare", "--mount", "--propagation", "private", "--", "env",
                f"R={self.root}", "/bin/sh", str(script), *argv]  # fmt: skip

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run(
                self._netns("ss", "-ltnH", f"sport = :{self.inner_port}"),
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            if done.stdout.strip():
                return
            if any(p.poll() is not None for p in self._procs):
                break
            time.sleep(0.1)
        raise RuntimeError(f"sshd did not start: {self.log()}")

    def sessions(self) -> list[int]:
        """The per-connection sshd processes (the listener's children): killing one cuts its
        client's connection the way a crashed or killed server does."""
        if not self._procs or self._procs[0].poll() is not None:
            return []
        return _children(self._procs[0].pid)

    def log(self) -> str:
        path = self.root / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        try:
            # a session whose client vanished lingers (sshd starts it in its own session):
            # killed first, or it would outlive the listener
            for pid in self.sessions():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for proc in self._procs:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
            for proc in self._procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        finally:
            self._procs.clear()
            shutil.rmtree(self.root, ignore_errors=True)


def answers_first_pair_then(path: Path, real: Path, then: list[str], imports: str = "") -> Path:
    """A stand-in `auditor` for a probe host: `--version` is the real one's; a probe runs the
    real auditor, forwards the stream's header and the first pair's frame, then runs `then`
    (Python lines: `p` is the real probe process)."""
    lines = [
        f"#!{sys.executable}",
        f"import json, os, subprocess, sys{imports}",
        f"real = {str(real)!r}",
        "if sys.argv[1:] == ['--version']:",
        "    os.execv(real, [real, '--version'])",
        "p = subprocess.Popen([real, *sys.argv[1:]], stdout=subprocess.PIPE)",
        "out = sys.stdout.buffer",
        "out.write(p.stdout.readline())",
        "header = p.stdout.readline()",
        "out.write(header + p.stdout.read(json.loads(header)['length']))",
        "out.flush()",
        *then,
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path
