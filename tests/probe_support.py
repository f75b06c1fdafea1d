"""Real parts for the probe tests: an openssl-made PKI, loopback listeners and TLS servers,
and flows built in code."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress

from auditor.model.inventory import BOTH_STATES, Check, Flow, Protocol, Role


def flow(
    source: str,
    destination: str,
    port: int,
    *,
    checks: tuple[Check, ...] = (Check.TCP,),
    protocol: Protocol = Protocol.TCP,
    provider: str = "dir",
    kind: str = "ldaps",
) -> Flow:
    return Flow(
        source=IPAddress(source),
        destination=IPAddress(destination),
        protocol=protocol,
        port=port,
        providers=(provider,),
        kind=kind,
        checks=checks,
        appliances=frozenset({"site1"}),
        states=BOTH_STATES,
        source_role=Role.UNIQUE,
        endpoint=destination,
    )


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the server certificates
    other_ca: Path  # a CA that signed nothing the servers present
    cert: Path  # SAN DNS:ldap.test, DNS:ldap2.test
    key: Path


def make_pki(folder: Path, *, names: tuple[str, ...] = ("ldap.test",), days: int = 30) -> Pki:
    """A test CA, a second unrelated CA, and a server certificate whose SAN carries `names`."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
            "-days", "2", "-subj", f"/CN=Probe Test {ca}", cwd=folder,
        )  # fmt: skip
    san = ",".join(f"DNS:{n}" for n in names)
    _openssl(
        "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}", cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", str(days), "-copy_extensions", "copy",
        "-out", "server.pem", cwd=folder,
    )  # fmt: skip
    return Pki(
        ca=folder / "ca.pem",
        other_ca=folder / "other-ca.pem",
        cert=folder / "server.pem",
        key=folder / "server.key",
    )


@contextmanager
def listener(address: str = "127.0.0.10", port: int = 0) -> Iterator[int]:
    """A TCP socket that listens (the kernel completes handshakes) but never speaks."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((address, port))
        sock.listen(4096)
        yield sock.getsockname()[1]
    finally:
        sock.close()


def unused_port(address: str = "127.0.0.10") -> int:
    """A port nothing listens on (refused)."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@contextmanager
def tls_server(pki: Pki, address: str = "127.0.0.10") -> Iterator[int]:
    """A TLS server in a thread: handshakes every connection, then closes it."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.cert, pki.key)
    sock = socket.socket()
    sock.bind((address, 0))
    sock.listen(64)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(5)
            with suppress(OSError, ssl.SSLError), ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()
