"""The requests UDP checks send through the one shape (auditor.probe.app.udp.Request): the
Status-Server written out byte for byte as pyrad encodes it, and answers read back: a reply
signed with the shared secret is answered, another secret's reply is bad-secret, a datagram
with another id is not the answer. The real servers are in tests/test_app_probes_lab.py."""

from __future__ import annotations

import secrets
import time

import pytest
from pyrad import packet

from auditor.model.record import Status
from auditor.probe.app import ntp, radius
from auditor.probe.app.udp import Reply

SECRET = b"s3cret-for-tests"


def reply_to(raw: bytes, secret: bytes, code: int) -> bytes:
    """What a RADIUS server holding `secret` sends back for request `raw`."""
    request = packet.AuthPacket(packet=raw, secret=secret, dict=radius.dictionary())
    reply = request.CreateReply()
    reply.code = code
    return bytes(reply.ReplyPacket())


@pytest.mark.parametrize("source", ["198.51.100.11", "2001:db8::11"])
def test_the_written_out_status_server_is_pyrads_byte_for_byte(source: str) -> None:
    authenticator = secrets.token_bytes(16)
    req = radius.build_request(source, SECRET, None, ident=42)
    req.authenticator = authenticator
    assert radius.status_server(source, SECRET, 42, authenticator) == req.RequestPacket()
    seen = packet.AuthPacket(
        packet=radius.status_server(source, SECRET, 42, authenticator),
        secret=SECRET,
        dict=radius.dictionary(),
    )
    assert seen.verify_message_authenticator()


@pytest.mark.parametrize("user", [None, "auditor-probe"])
def test_a_radius_answer_is_read_against_the_request_that_was_sent(user: str | None) -> None:
    request = radius.radius_request("198.51.100.11", SECRET, user)
    good = reply_to(request.payload, SECRET, packet.AccessAccept)
    assert request.is_answer(good)
    seen = request.classify(Reply(good, 1.0, 0.0, 0.0))
    assert (seen.status, seen.detail["code"]) == (Status.RADIUS_ANSWERED, "Access-Accept")
    bad = reply_to(request.payload, b"the-servers-idea", packet.AccessReject)
    seen = request.classify(Reply(bad, 1.0, 0.0, 0.0))
    assert seen.status is Status.RADIUS_BAD_SECRET
    assert SECRET.decode() not in seen.reason + repr(seen)
    other = bytes([good[0], (good[1] + 1) % 256]) + good[2:]
    assert not request.is_answer(other)
    assert "client" in request.silence


def test_an_ntp_answer_must_echo_the_transmit_timestamp() -> None:
    request = ntp.ntp_request()
    transmit = request.payload[40:48]
    now = ntp.to_ntp(time.time()).to_bytes(8, "big")
    answer = bytes([0x24, 2, 6, 0xEC]) + bytes(20) + transmit + now + now
    assert request.is_answer(answer)
    assert request.classify(Reply(answer, 1.0, time.time(), time.time())).status is (
        Status.NTP_ANSWERED
    )
    assert not request.is_answer(answer[:24] + bytes(8) + answer[32:])
