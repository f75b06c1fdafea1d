"""The engine sends the first UDP check of every flow before any task runs (the run then lasts
from its last send plus one timeout), within its caps: never more UDP sockets open than the
global cap, never more towards one address than the per-destination cap, every answer still
read, every flow still recorded once and in order. Loopback only: a real NTP responder on
127.0.0.1 and a port where nothing listens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from netaddr import IPAddress

from auditor.model.inventory import BOTH_STATES, Check, Flow, Protocol, Provider, Role
from auditor.model.record import Status
from auditor.probe import engine
from auditor.probe.engine import ProbeOptions, probe_flows


@pytest.fixture
def ntp_responder() -> Iterator[int]:
    """A UDP server on 127.0.0.1 that answers each NTP client request like a stratum-2 server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            now = int((time.time() + 2208988800) * (1 << 32)).to_bytes(8, "big")
            sock.sendto(bytes([0x24, 2, 6, 0xEC]) + bytes(20) + data[40:48] + now + now, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        sock.close()


def flow(
    port: int, check: Check, protocol: Protocol = Protocol.UDP, dst: str = "127.0.0.1"
) -> Flow:
    return Flow(
        source=IPAddress("127.0.0.1"),
        destination=IPAddress(dst),
        protocol=protocol,
        port=port,
        providers=("time",),
        kind="ntp",
        checks=(check,),
        appliances=frozenset({"site1"}),
        states=BOTH_STATES,
        source_role=Role.UNIQUE,
        endpoint=dst,
    )


def unused_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_early_sends_stay_within_the_caps_and_every_answer_is_read(
    ntp_responder: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {"open": 0, "peak": 0}

    class Counting(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self.counted = self.type == socket.SOCK_DGRAM
            if self.counted:
                state["open"] += 1
                state["peak"] = max(state["peak"], state["open"])

        def close(self) -> None:
            if self.counted and self.fileno() != -1:
                state["open"] -= 1
            super().close()

    monkeypatch.setattr(socket, "socket", Counting)
    closed_udp, closed_tcp = unused_port(socket.SOCK_DGRAM), unused_port(socket.SOCK_STREAM)
    flows = [flow(ntp_responder, Check.NTP, dst=f"127.0.0.{i}") for i in range(1, 4)]
    flows += [flow(closed_udp, Check.NTP, dst=f"127.0.1.{i}") for i in range(1, 9)]
    flows += [flow(closed_tcp, Check.TCP, Protocol.TCP, dst=f"127.0.2.{i}") for i in range(1, 4)]
    options = ProbeOptions(timeout=1.0, concurrency=4, per_destination=1)
    records = probe_flows(flows, [Provider("time", "ntp", ())], {}, options)

    assert state["peak"] <= 4 and state["open"] == 0
    by_dest = {r.destination: r.status for r in records}
    assert by_dest["127.0.0.1"] is Status.NTP_ANSWERED
    assert by_dest["127.0.0.2"] is by_dest["127.0.0.3"] is Status.REFUSED  # bound to .1 only
    assert [by_dest[f"127.0.1.{i}"] for i in range(1, 9)] == [Status.REFUSED] * 8
    assert [by_dest[f"127.0.2.{i}"] for i in range(1, 4)] == [Status.REFUSED] * 3
    assert len(records) == len(flows)
    assert [r.destination for r in records] == sorted(
        (r.destination for r in records), key=lambda d: int(IPAddress(d))
    )


def test_an_interrupted_run_leaves_no_early_socket_open(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[int] = []
    original = engine._Run.close_early

    def watched(self: engine._Run) -> None:
        closed.extend(1 for _ in self.early)
        original(self)

    def interrupted(self: engine._Run, index: int, one: Flow) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine._Run, "close_early", watched)
    monkeypatch.setattr(engine._Run, "flow", interrupted)
    port = unused_port(socket.SOCK_DGRAM)
    flows = [flow(port, Check.NTP, dst=f"127.0.3.{i}") for i in range(1, 6)]
    with pytest.raises(KeyboardInterrupt):
        probe_flows(flows, [Provider("time", "ntp", ())], {}, ProbeOptions(timeout=1.0))
    assert closed == [1] * 5
