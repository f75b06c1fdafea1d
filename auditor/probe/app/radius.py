"""RADIUS proof of life: Status-Server (RFC 5997) with a Message-Authenticator, or an
Access-Request for a configured probe user. Any verified answer proves the path and the shared
secret; servers stay silent for client addresses they do not list.

pyrad builds and verifies the packets; the exchange runs on our own bound socket (pyrad's
client cannot bind a source address and blocks a thread per request).
"""

from __future__ import annotations

import functools
import hmac
import io
import secrets
import socket
import struct

from pyrad import packet
from pyrad.dictionary import Dictionary

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.udp import Reply, Request

SILENCE = "dropped by a firewall, or the server does not list this address as a client"
SILENCE_STATUS = (
    SILENCE + " (or the shared secret is wrong: servers drop a Status-Server whose "
    "Message-Authenticator does not verify)"
)

# The attributes a probe sends or reads; pyrad needs a dictionary to encode names.
_DICTIONARY = """\
ATTRIBUTE User-Name 1 string
ATTRIBUTE User-Password 2 string encrypt=1
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE NAS-IPv6-Address 95 ipv6addr
ATTRIBUTE Message-Authenticator 80 octets
"""

CODES = {
    packet.AccessAccept: "Access-Accept",
    packet.AccessReject: "Access-Reject",
    packet.AccessChallenge: "Access-Challenge",
}
NAS_IDENTIFIER = "failover-auditor"


@functools.cache
def dictionary() -> Dictionary:
    """Parsed once: parsing it per request costs more than building the packet."""
    return Dictionary(io.StringIO(_DICTIONARY))


def build_request(
    source: str, secret: bytes, user: str | None, ident: int | None = None
) -> packet.AuthPacket:
    """Status-Server, or an Access-Request for `user` with a random password (never a real one:
    a reject proves the path and the secret just as well)."""
    code = packet.StatusServer if user is None else packet.AccessRequest
    # Id and Request Authenticator from one urandom call each: pyrad draws every octet of the
    # authenticator separately, which cost more than the rest of the packet.
    ident = secrets.randbelow(256) if ident is None else ident
    req = packet.AuthPacket(
        code=code, id=ident, secret=secret, authenticator=secrets.token_bytes(16), dict=dictionary()
    )
    if ":" in source:
        req["NAS-IPv6-Address"] = source
    else:
        req["NAS-IP-Address"] = source
    req["NAS-Identifier"] = NAS_IDENTIFIER
    if user is not None:
        req["User-Name"] = user
        req["User-Password"] = req.PwCrypt(secrets.token_urlsafe(12))
    if user is None:
        # RFC 5997 requires it on Status-Server. A server drops a request whose
        # Message-Authenticator does not verify, so a wrong secret meets silence here.
        req.add_message_authenticator()
    # An Access-Request goes without one, as classic clients send it: a server with another
    # secret answers, and the Response Authenticator shows the secret is wrong.
    return req


def classify(req: packet.AuthPacket, raw: bytes, latency_ms: float | None) -> AppOutcome:
    """A reply that matches the request id: answered if its Response Authenticator verifies."""
    code = raw[0]
    name = CODES.get(code, f"code {code}")
    try:
        reply = packet.AuthPacket(packet=raw, secret=req.secret, dict=req.dict)
    except packet.PacketError as exc:
        return AppOutcome(Status.BAD_REPLY, f"malformed RADIUS reply: {exc}", latency_ms)
    if not req.VerifyReply(reply, raw):
        return AppOutcome(
            Status.RADIUS_BAD_SECRET,
            f"{name} with a bad Response Authenticator: the shared secret differs from the "
            "server's for this client",
            latency_ms,
            {"code": name},
        )
    detail = {"code": name}
    message = reply.get("Reply-Message")
    if message:
        detail["reply_message"] = str(message[0])[:120]
    kind = "Status-Server" if req.code == packet.StatusServer else "Access-Request"
    return AppOutcome(
        Status.RADIUS_ANSWERED,
        f"{kind} answered with {name}: path and shared secret proven",
        latency_ms,
        detail,
    )


def status_server(source: str, secret: bytes, ident: int, authenticator: bytes) -> bytes:
    """The Status-Server `build_request` makes with pyrad (Message-Authenticator first, then
    NAS-IP-Address or NAS-IPv6-Address and NAS-Identifier), written out: encoding it through
    pyrad's dictionary cost more than everything else a UDP check does before it sends."""
    if ":" in source:
        nas = b"\x5f\x12" + socket.inet_pton(socket.AF_INET6, source)
    else:
        nas = b"\x04\x06" + socket.inet_aton(source)
    name = NAS_IDENTIFIER.encode()
    attrs = nas + bytes((32, 2 + len(name))) + name
    head = struct.pack("!BBH", packet.StatusServer, ident, 20 + 18 + len(attrs))
    zeroed = head + authenticator + b"\x50\x12" + bytes(16) + attrs
    mac = hmac.new(secret, zeroed, "md5").digest()
    return head + authenticator + b"\x50\x12" + mac + attrs


def radius_request(source: str, secret: bytes, user: str | None = None) -> Request:
    """Status-Server (or an Access-Request for `user`) from `source`; its id is the nonce and
    its authenticator proves the answer. `secret` never reaches an outcome."""
    if user is None:
        ident, authenticator = secrets.randbelow(256), secrets.token_bytes(16)
        payload = status_server(source, secret, ident, authenticator)

        def sent() -> packet.AuthPacket:  # what the reply is checked against, when one comes
            return packet.AuthPacket(
                code=packet.StatusServer,
                id=ident,
                secret=secret,
                authenticator=authenticator,
                dict=dictionary(),
            )
    else:
        req = build_request(source, secret, user)
        ident, payload = req.id, req.RequestPacket()

        def sent() -> packet.AuthPacket:
            return req

    def is_answer(data: bytes) -> bool:
        return len(data) >= 20 and data[1] == ident

    def read(reply: Reply) -> AppOutcome:
        return classify(sent(), reply.data, reply.latency_ms)

    return Request(payload, is_answer, read, SILENCE_STATUS if user is None else SILENCE)
