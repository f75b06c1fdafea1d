"""RADIUS proof of life: Status-Server (RFC 5997) with a Message-Authenticator, or an
Access-Request for a configured probe user. Any verified answer proves the path and the shared
secret; servers stay silent for client addresses they do not list.

pyrad builds and verifies the packets; the exchange runs on our own bound socket (pyrad's
client cannot bind a source address and blocks a thread per request).
"""

from __future__ import annotations

import functools
import io
import secrets

from pyrad import packet
from pyrad.dictionary import Dictionary

from auditor.evidence.record import Status
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.udp import Reply, Request, ask

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


def radius_request(source: str, secret: bytes, user: str | None = None) -> Request:
    """Status-Server (or an Access-Request for `user`) from `source`; its id is the nonce and
    its authenticator proves the answer. `secret` never reaches an outcome."""
    req = build_request(source, secret, user)

    def is_answer(data: bytes) -> bool:
        return len(data) >= 20 and data[1] == req.id

    def read(reply: Reply) -> AppOutcome:
        return classify(req, reply.data, reply.latency_ms)

    return Request(
        req.RequestPacket(), is_answer, read, SILENCE_STATUS if user is None else SILENCE
    )


async def probe_radius(
    source: str,
    address: str,
    port: int,
    timeout: float,
    *,
    secret: bytes,
    user: str | None = None,
) -> AppOutcome:
    """One RADIUS request from `source`; `secret` is the shared secret (never in the outcome)."""
    return await ask(source, address, port, timeout, radius_request(source, secret, user))
