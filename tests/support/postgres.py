"""A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries,
`initdb` into a temp folder as the `postgres` user, listening on 127.0.0.1 at a free port and
on a socket in its own folder, with password authentication over TCP (the password reaches
clients only through PGPASSWORD). Stopped and removed by `stop()`, also after a failure."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql")


def pg_bindir() -> Path:
    versions = sorted(PG_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (make deps installs Debian's postgresql)")
    return versions[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix=f"fa-pg-{os.getpid()}-"))
        self.data = self.root / "data"
        self.password = secrets.token_urlsafe(16)
        self.port = 0
        self._started = False
        shutil.chown(self.root, "postgres", "postgres")

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True, text=True, timeout=120, check=False, cwd=self.root,
        )  # fmt: skip

    def start(self) -> PostgresServer:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        shutil.chown(pwfile, "postgres", "postgres")
        pwfile.chmod(0o600)
        done = self._as_postgres(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        for _attempt in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
            )
            done = self._as_postgres(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                "-l", str(self.root / "log"), "-w", "-t", "60", "start",
            )  # fmt: skip
            if done.returncode == 0:
                self._started = True
                return self
        raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log()}")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._as_postgres(
            str(self.bindir / "psql"), "-h", str(self.root), "-p", str(self.port), "-U",
            "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    def new_database(self, name: str | None = None) -> str:
        """A fresh empty database; its URL (no password: that is PGPASSWORD's)."""
        name = name or f"t_{secrets.token_hex(6)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            if self._started:
                self._as_postgres(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                    "-w", "stop",
                )  # fmt: skip
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)
