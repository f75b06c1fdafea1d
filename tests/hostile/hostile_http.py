"""A hostile appliance API on 127.0.0.1: real TLS, then whatever bytes a test scripts, per path.

Not the documented contract (tests/support/fake_appliance.py serves that): this one answers
what a broken or hostile server would, raw, so the client's defences are what is tested.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

# One answer: raw bytes, or a function that writes to the socket itself (slow-loris).
Answer = bytes | Callable[[ssl.SSLSocket, threading.Event], None]


def http(status: str, body: bytes, *headers: str, ctype: str = "application/json") -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *headers]) + "\r\n\r\n").encode("latin-1") + body


class HostileServer:
    """Serves `answers[path]` (the request path without the query) to each connection."""

    def __init__(self, cert: Path, key: Path, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopping = threading.Event()
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        # shutdown wakes the accept at once (close alone waits out its poll)
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=10)
        self.listener.close()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(10)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                head, _, body = request.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:  # read the body: closing on it unread resets the TCP
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    body += chunk
                self.requests.append(request)
                path = request.split(b" ", 2)[1].split(b"?")[0].decode("ascii", "replace")
                answer = self.answers.get(path, http("404 Not Found", b""))
                if callable(answer):
                    answer(tls, self.stopping)
                else:
                    tls.sendall(answer)
        except (OSError, ssl.SSLError, IndexError):
            pass  # the client hung up, or the test asked for a broken exchange


TOKEN_OK = http("200 OK", b'{"access_token": "tok-1234567890", "token_type": "Bearer"}')
