"""A fake appliance command API, built from the vendor's documented contract (the appliance
itself cannot run here): a real HTTPS server on 127.0.0.1 with a real certificate.

- `POST /oauth2/token`, HTTP Basic `client_id:client_secret`, body `grant_type=client_credentials`
  -> `{"access_token", "token_type": "Bearer", "expires_in": 3600}`; anything else 401.
- `GET /api/command?action=check_health` with `Authorization: Bearer TOKEN` -> the check_health
  XML: appliance (id attribute), version, success, error_message (only on a problem),
  failover_role, enabled_shared_ips/ip (only when some are enabled), last_data_sync_time
  (ISO 8601 text, `ts` UNIX attribute), last_data_sync_status. The root element and namespace
  below are our reading of command.xsd; the client reads elements by local name regardless.

Run as a program (examples/state-demo.sh) it makes a test CA, serves a pair in a scenario and
writes an inventory for it:  python tests/support/fake_appliance.py --scenario split-brain DIR
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import ssl
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from auditor.lab.pki import make_ca, make_server_cert

NAMESPACE = "http://www.beyondtrust.com/namespaces/API/command"
SHARED_IP = "198.51.100.10"
ID_ENV = "AUDITOR_HEALTH_CLIENT_ID"
SECRET_ENV = "AUDITOR_HEALTH_CLIENT_SECRET"
SCENARIOS = ("healthy", "failed-over", "split-brain", "none-enabled", "success-0", "stale-sync")
# Hostile answers: an entity-expansion bomb and an external entity that names a local file.
BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    b"<appliance_health><success>1</success><failover_role>primary</failover_role>"
    b"<error_message>&lol3;</error_message></appliance_health>"
)


def xxe_document(path: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE h [<!ENTITY leak SYSTEM "file://{path}">]>\n'
        "<appliance_health><success>0</success><failover_role>primary</failover_role>"
        "<error_message>&leak;</error_message></appliance_health>"
    ).encode()


@dataclass
class Behaviour:
    """What one fake appliance answers; tests change it between calls."""

    client_id: str
    client_secret: str
    hostname: str
    role: str = "primary"
    enabled_shared_ips: list[str] = field(default_factory=list)
    success: bool = True
    error_message: str | None = None
    version: str = "24.3.1 (build 20241)"
    sync_age: timedelta | None = timedelta(minutes=7)
    sync_status: str = "Success"
    mode: str = "normal"  # normal slow trickle malformed bomb xxe huge token-garbage http-500
    slow_seconds: float = 30.0
    xxe_path: Path | None = None
    token_lifetime: int = 3600
    token_requests: int = 0
    command_requests: int = 0
    tokens: set[str] = field(default_factory=set)

    def revoke_tokens(self) -> None:
        """What regenerating the client secret does on the appliance."""
        self.tokens.clear()

    def document(self, now: datetime) -> bytes:
        if self.mode == "malformed":
            return b"<appliance_health><success>1</success><failover_role>prim"
        if self.mode == "bomb":
            return BOMB
        if self.mode == "xxe":
            assert self.xxe_path is not None
            return xxe_document(self.xxe_path)
        if self.mode == "huge":
            return b"<appliance_health>" + b"<x>padding</x>" * 20000 + b"</appliance_health>"
        parts = [
            f'<appliance id="9f1c2a7e-0000-4000-8000-{self.hostname.encode().hex()[:12]:0>12}">'
            f"{escape(self.hostname)}</appliance>",
            f"<version>{escape(self.version)}</version>",
            f"<success>{1 if self.success else 0}</success>",
        ]
        if self.error_message:
            parts.append(f"<error_message>{escape(self.error_message)}</error_message>")
        parts.append(f"<failover_role>{escape(self.role)}</failover_role>")
        if self.enabled_shared_ips:
            ips = "".join(f"<ip>{escape(ip)}</ip>" for ip in self.enabled_shared_ips)
            parts.append(f"<enabled_shared_ips>{ips}</enabled_shared_ips>")
        if self.sync_age is not None and self.role != "none":
            when = (now - self.sync_age).replace(microsecond=0)
            ts = quoteattr(str(int(when.timestamp())))
            parts.append(f"<last_data_sync_time ts={ts}>{when.isoformat()}</last_data_sync_time>")
            parts.append(
                f"<last_data_sync_status>{escape(self.sync_status)}</last_data_sync_status>"
            )
        body = "".join(parts)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<appliance_health xmlns="{NAMESPACE}">{body}</appliance_health>\n'
        ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read behaviour, not logs

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _trickle(self, body: bytes) -> None:
        """Headers at once, then the answer a byte at a time: each read is quick, the whole
        answer is not."""
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for index in range(len(body)):
            if self.server.stopping.wait(0.05):
                return
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()

    def do_POST(self) -> None:
        b = self.server.behaviour
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("ascii", "replace")
        if self.path != "/oauth2/token":
            self._send(404, b"not found", "text/plain")
            return
        b.token_requests += 1
        expected = base64.b64encode(f"{b.client_id}:{b.client_secret}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}" or form != (
            "grant_type=client_credentials"
        ):
            self._send(401, b'{"error": "invalid_client"}', "application/json")
            return
        if b.mode == "token-garbage":
            self._send(200, b"<html>login</html>", "text/html")
            return
        token = secrets.token_urlsafe(24)
        b.tokens.add(token)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": b.token_lifetime}
        self._send(200, json.dumps(answer).encode(), "application/json")

    def do_GET(self) -> None:
        b = self.server.behaviour
        if self.path != "/api/command?action=check_health":
            self._send(404, b"not found", "text/plain")
            return
        b.command_requests += 1
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in b.tokens:
            self._send(401, b"<error>invalid token</error>", "text/xml")
            return
        if b.mode == "slow" and self.server.stopping.wait(b.slow_seconds):
            return
        if b.mode == "trickle":
            self._trickle(b.document(datetime.now(UTC)))
            return
        if b.mode == "http-500":
            self._send(500, b"<error>internal</error>", "text/xml")
            return
        self._send(200, b.document(datetime.now(UTC)), "text/xml; charset=utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.context = context
        self.stopping = threading.Event()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS in the connection's own thread: a client that stalls or rejects the certificate
        # never holds up the listener.
        request.settimeout(10)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(conn, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer (a timeout test) is expected


class FakeAppliance:
    """One fake appliance on 127.0.0.1, an ephemeral port; a context manager."""

    def __init__(self, behaviour: Behaviour, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.behaviour = behaviour
        self._server = _Server(behaviour, context)
        # serve_forever looks for shutdown() between polls: 10 ms, not its 0.5 s, so a test's
        # close() takes milliseconds.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeAppliance:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def scenario(name: str, client_id: str, client_secret: str) -> tuple[Behaviour, Behaviour]:
    """The (inventory primary, inventory backup) behaviours of a named pair scenario."""
    p = Behaviour(client_id, client_secret, "site1.example.com", "primary", [SHARED_IP])
    b = Behaviour(client_id, client_secret, "site2.example.com", "backup", [])
    if name == "failed-over":
        p.role, p.enabled_shared_ips, b.role, b.enabled_shared_ips = (
            "backup",
            [],
            "primary",
            [SHARED_IP],
        )
    elif name == "split-brain":
        b.role, b.enabled_shared_ips = "primary", [SHARED_IP]
    elif name == "none-enabled":
        p.enabled_shared_ips = []
    elif name == "success-0":
        p.success, p.error_message = False, "Failover peer site2.example.com is unreachable"
    elif name == "stale-sync":
        p.sync_age = b.sync_age = timedelta(days=3)
    elif name != "healthy":
        raise ValueError(f"unknown scenario {name!r} (one of {', '.join(SCENARIOS)})")
    return p, b


def inventory_text(primary_url: str, backup_url: str, ca_file: Path, *, site: str) -> str:
    """A pair inventory whose health: blocks point at the two fake appliances."""

    def health(url: str, name: str) -> str:
        return (
            f"    health:\n      url: {url}\n      ca_file: {ca_file}\n"
            f"      tls_name: {name}\n      client_id_env: {ID_ENV}\n"
            f"      client_secret_env: {SECRET_ENV}\n"
        )

    return (
        f"site:\n  name: {site}\npair:\n"
        "  primary:\n    name: site1\n    hostname: site1.example.com\n"
        "    addresses:\n      - ip: 198.51.100.11/24\n        role: unique\n"
        f"      - ip: {SHARED_IP}/24\n        role: shared\n        enabled: true\n"
        + health(primary_url, "site1.example.com")
        + "  backup:\n    name: site2\n    hostname: site2.example.com\n"
        "    addresses:\n      - ip: 198.51.100.12/24\n        role: unique\n"
        f"      - ip: {SHARED_IP}/24\n        role: shared\n        enabled: false\n"
        + health(backup_url, "site2.example.com")
        + f"  failover:\n    site_instance_ip: {SHARED_IP}\nproviders: []\n"
    )


def make_pki(directory: Path) -> dict[str, Path]:
    """A test CA, a certificate per appliance signed by it, and a rogue CA (untrusted)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(directory, "health-ca", "Fake appliance test CA")
    rogue = make_ca(directory, "rogue-ca", "Unrelated CA")
    out = {"ca": ca, "rogue_ca": rogue}
    for stem, name, signer in (
        ("site1", "site1.example.com", "health-ca"),
        ("site2", "site2.example.com", "health-ca"),
        ("untrusted", "site1.example.com", "rogue-ca"),
    ):
        cert, key = make_server_cert(
            directory, stem, name, directory / f"{signer}.pem", directory / f"{signer}.key"
        )
        out[stem], out[f"{stem}_key"] = cert, key
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake appliance pair in a scenario.")
    parser.add_argument("directory", type=Path, help="where the CA, certificates and inventory go")
    parser.add_argument("--scenario", choices=SCENARIOS, default="split-brain")
    parser.add_argument("--site", default="demo.example.com")
    args = parser.parse_args(argv)
    client_id, client_secret = os.environ.get(ID_ENV), os.environ.get(SECRET_ENV)
    if not client_id or not client_secret:
        print(f"fake appliance: export {ID_ENV} and {SECRET_ENV} first", file=sys.stderr)
        return 2
    pki = make_pki(args.directory)
    first, second = scenario(args.scenario, client_id, client_secret)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with (
        FakeAppliance(first, pki["site1"], pki["site1_key"]) as one,
        FakeAppliance(second, pki["site2"], pki["site2_key"]) as two,
    ):
        inventory = args.directory / "inventory.yaml"
        inventory.write_text(
            inventory_text(one.url, two.url, pki["ca"].resolve(), site=args.site), encoding="utf-8"
        )
        (args.directory / "ready").write_text(f"{one.url} {two.url}\n", encoding="utf-8")
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
