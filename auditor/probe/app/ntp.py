"""NTP proof of life: a 48-octet mode-3 client packet on our own bound socket (ntplib cannot
bind a source address). An answer gives stratum and offset; stratum 0 (a kiss-o'-death, with
its kiss code) or 16, or leap indicator 3, means the server is not synchronised."""

from __future__ import annotations

import secrets
import struct
import time

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.udp import Reply, Request

SILENCE = "dropped by a firewall, or no NTP server listens there (or it denies this client)"
NTP_EPOCH_OFFSET = 2208988800  # 1900-01-01 to 1970-01-01, in seconds
_FORMAT = "!BBbb11I"


def to_ntp(unix: float) -> int:
    """A 64-bit NTP timestamp."""
    return int((unix + NTP_EPOCH_OFFSET) * (1 << 32)) & ((1 << 64) - 1)


def from_ntp(value: int) -> float:
    return value / (1 << 32) - NTP_EPOCH_OFFSET


def build_request(transmit: int) -> bytes:
    """LI 0, version 4, mode 3; only the transmit timestamp set (RFC 5905 client request).
    `transmit` is random low bits over the time, so the origin check is a nonce too."""
    return struct.pack("!B47x", 0x23)[:40] + transmit.to_bytes(8, "big")


def _stamp(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 8], "big")


def classify(data: bytes, transmit: int, t1: float, t4: float, latency_ms: float) -> AppOutcome:
    """A mode-4 reply whose origin timestamp echoes our transmit timestamp."""
    leap = data[0] >> 6
    stratum = data[1]
    if stratum == 0:
        kiss = data[12:16].decode("ascii", "replace").strip("\x00 ")
        if kiss.isalnum():
            return AppOutcome(
                Status.NTP_UNSYNCHRONIZED,
                f"kiss-o'-death {kiss}: the server answered but gives no time",
                latency_ms,
                {"stratum": "0", "kiss_code": kiss, "leap": str(leap)},
            )
        return AppOutcome(
            Status.NTP_UNSYNCHRONIZED,
            f"the server answered but is not synchronised (stratum 0, leap {leap})",
            latency_ms,
            {"stratum": "0", "leap": str(leap)},
        )
    t2 = from_ntp(_stamp(data, 32))
    t3 = from_ntp(_stamp(data, 40))
    offset_ms = round(((t2 - t1) + (t3 - t4)) / 2 * 1000.0, 3)
    detail = {"stratum": str(stratum), "offset_ms": f"{offset_ms:g}", "leap": str(leap)}
    if stratum >= 16 or leap == 3:
        return AppOutcome(
            Status.NTP_UNSYNCHRONIZED,
            f"the server answered but is not synchronised (stratum {stratum}, leap {leap})",
            latency_ms,
            detail,
        )
    return AppOutcome(
        Status.NTP_ANSWERED,
        f"stratum {stratum}, offset {offset_ms:g} ms",
        latency_ms,
        detail,
    )


def ntp_request() -> Request:
    """One client request; its transmit timestamp (random low bits) is the nonce."""
    transmit = (to_ntp(time.time()) & ~0xFFFF) | secrets.randbits(16)

    def is_answer(data: bytes) -> bool:
        return len(data) >= 48 and data[0] & 0x07 == 4 and _stamp(data, 24) == transmit

    def read(reply: Reply) -> AppOutcome:
        return classify(reply.data, transmit, reply.sent_at, reply.received_at, reply.latency_ms)

    return Request(build_request(transmit), is_answer, read, SILENCE)
