"""Kerberos proof of life: an AS-REQ without pre-authentication for a configured principal,
over UDP or TCP 88. Any KRB-ERROR (25 PREAUTH_REQUIRED, 6 C_PRINCIPAL_UNKNOWN, ...) or an
AS-REP shows the KDC answered. No key is involved; the KDC logs the request (the SOC may see it).

The messages are the RFC 4120 structures, encoded and decoded with pyasn1.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import struct
import time
from datetime import UTC, datetime, timedelta

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, namedtype, tag, univ, useful

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome, elapsed_ms
from auditor.probe.app.stream import close
from auditor.probe.app.udp import Reply, Request, ask
from auditor.probe.tcp import BoundConnectError, open_bound

SILENCE = "dropped by a firewall, or no KDC listens there"
KRB_NT_PRINCIPAL = 1
KRB_NT_SRV_INST = 2
ETYPES = (18, 17, 20, 19, 23)  # aes256/128-sha1, aes256/128-sha2, rc4-hmac
ERRORS = {
    6: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
    7: "KDC_ERR_S_PRINCIPAL_UNKNOWN",
    12: "KDC_ERR_POLICY",
    14: "KDC_ERR_ETYPE_NOSUPP",
    18: "KDC_ERR_CLIENT_REVOKED",
    24: "KDC_ERR_PREAUTH_FAILED",
    25: "KDC_ERR_PREAUTH_REQUIRED",
    37: "KRB_AP_ERR_SKEW",
    52: "KRB_ERR_RESPONSE_TOO_BIG",
    60: "KRB_ERR_GENERIC",
    68: "KDC_ERR_WRONG_REALM",
}


def _ctx(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


def _field(name: str, n: int, asn: object, optional: bool = False) -> namedtype.NamedType:
    typed = asn.subtype(explicitTag=_ctx(n))  # type: ignore[attr-defined]
    return (namedtype.OptionalNamedType if optional else namedtype.NamedType)(name, typed)


class KerberosString(char.GeneralString):
    pass


class PrincipalName(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field("name-type", 0, univ.Integer()),
        _field("name-string", 1, univ.SequenceOf(componentType=KerberosString())),
    )


class KdcReqBody(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field("kdc-options", 0, univ.BitString()),
        _field("cname", 1, PrincipalName(), optional=True),
        _field("realm", 2, KerberosString()),
        _field("sname", 3, PrincipalName(), optional=True),
        _field("till", 5, useful.GeneralizedTime()),
        _field("nonce", 7, univ.Integer()),
        _field("etype", 8, univ.SequenceOf(componentType=univ.Integer())),
    )


class AsReq(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(
        tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, 10)
    )
    componentType = namedtype.NamedTypes(
        _field("pvno", 1, univ.Integer()),
        _field("msg-type", 2, univ.Integer()),
        _field("req-body", 4, KdcReqBody()),
    )


class KrbError(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(
        tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, 30)
    )
    componentType = namedtype.NamedTypes(
        _field("pvno", 0, univ.Integer()),
        _field("msg-type", 1, univ.Integer()),
        _field("ctime", 2, useful.GeneralizedTime(), optional=True),
        _field("cusec", 3, univ.Integer(), optional=True),
        _field("stime", 4, useful.GeneralizedTime()),
        _field("susec", 5, univ.Integer()),
        _field("error-code", 6, univ.Integer()),
        _field("crealm", 7, KerberosString(), optional=True),
        _field("cname", 8, PrincipalName(), optional=True),
        _field("realm", 9, KerberosString()),
        _field("sname", 10, PrincipalName()),
        _field("e-text", 11, KerberosString(), optional=True),
        _field("e-data", 12, univ.OctetString(), optional=True),
    )


def _fill_principal(value: univ.Sequence, name_type: int, parts: list[str]) -> None:
    # pyasn1 takes plain values into a tagged field; a built object would carry the wrong tags.
    value["name-type"] = name_type
    strings = value["name-string"]
    for i, part in enumerate(parts):
        strings[i] = part


def build_as_req(principal: str, realm: str, nonce: int | None = None) -> bytes:
    """A DER AS-REQ for `principal`@`realm` to krbtgt/`realm`, without PA-DATA."""
    till = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y%m%d%H0000Z")
    template = _as_req_template(principal, realm, till)
    # The nonce is always four octets (see _NONCE), so it is patched in place: encoding with
    # pyasn1 costs half a millisecond, and a run sends thousands of these.
    value = nonce if nonce is not None else _NONCE_LOW + secrets.randbelow(_NONCE_SPAN)
    if not _NONCE_LOW <= value < _NONCE_LOW + _NONCE_SPAN:
        raise ValueError("the nonce must be in [2^24, 2^31)")
    at = template.index(_NONCE_MARK)
    return template[:at] + value.to_bytes(4, "big") + template[at + 4 :]


# A nonce in [2^24, 2^31) encodes as a DER INTEGER of exactly four octets.
_NONCE_LOW = 1 << 24
_NONCE_SPAN = (1 << 31) - _NONCE_LOW
_NONCE_MARK = bytes.fromhex("7a6b5c4d")  # an unlikely value, found again in the template


@functools.lru_cache(maxsize=64)
def _as_req_template(principal: str, realm: str, till: str) -> bytes:
    req = AsReq()
    req["pvno"] = 5
    req["msg-type"] = 10
    body = req["req-body"]
    body["kdc-options"] = "'01000000100000000000000000000000'B"  # forwardable, renewable
    _fill_principal(body["cname"], KRB_NT_PRINCIPAL, principal.split("/"))
    body["realm"] = realm
    _fill_principal(body["sname"], KRB_NT_SRV_INST, ["krbtgt", realm])
    body["till"] = till
    body["nonce"] = int.from_bytes(_NONCE_MARK, "big")
    etypes = body["etype"]
    for i, etype in enumerate(ETYPES):
        etypes[i] = etype
    return bytes(encoder.encode(req))


def classify(data: bytes, latency_ms: float | None) -> AppOutcome:
    """A KDC's reply: KRB-ERROR (with its code) or AS-REP; anything else is a bad reply."""
    if data[:1] == b"\x6b":  # [APPLICATION 11] AS-REP
        return AppOutcome(
            Status.KDC_ANSWERED,
            "AS-REP: the KDC issued a ticket without pre-authentication (the principal does "
            "not require it)",
            latency_ms,
            {"code": "AS-REP"},
        )
    if data[:1] != b"\x7e":  # [APPLICATION 30] KRB-ERROR
        return AppOutcome(Status.BAD_REPLY, "not a Kerberos reply", latency_ms)
    fields = error_fields(data)
    if fields is None:
        try:
            error, _rest = decoder.decode(data, asn1Spec=KrbError())
        except PyAsn1Error as exc:
            return AppOutcome(Status.BAD_REPLY, f"malformed KRB-ERROR: {exc}", latency_ms)
        fields = (int(error["error-code"]), str(error["realm"]))
    code, realm = fields
    name = ERRORS.get(code, "KRB-ERROR")
    return AppOutcome(
        Status.KDC_ANSWERED,
        f"KRB-ERROR {code} {name}: the KDC answered",
        latency_ms,
        {"code": str(code), "error": name, "realm": realm},
    )


def error_fields(data: bytes) -> tuple[int, str] | None:
    """(error-code, realm) of a DER KRB-ERROR by walking its top-level fields; None when the
    walk fails (then pyasn1 decodes it and says why). A full pyasn1 decode costs about a
    millisecond, and a run reads thousands of these."""
    from auditor.probe.app.cldap import read_tlv  # noqa: PLC0415 - a plain BER walker

    try:
        _tag, start, _end = read_tlv(data, 0)
        tag, pos, seq_end = read_tlv(data, start)
        if tag != 0x30:
            return None
        found: dict[int, bytes] = {}
        while pos < seq_end:
            ctx, vstart, vend = read_tlv(data, pos)
            if ctx in (0xA6, 0xA9):  # [6] error-code, [9] realm
                _inner, istart, iend = read_tlv(data, vstart)
                found[ctx] = data[istart:iend]
            pos = vend
        return int.from_bytes(found[0xA6], "big", signed=True), found[0xA9].decode("ascii")
    except (ValueError, KeyError, UnicodeDecodeError):
        return None


def kerberos_request(principal: str, realm: str) -> Request:
    """One AS-REQ over UDP; any KRB-ERROR or AS-REP is the KDC's answer."""

    def is_answer(data: bytes) -> bool:
        return data[:1] in (b"\x6b", b"\x7e")

    def read(reply: Reply) -> AppOutcome:
        return classify(reply.data, reply.latency_ms)

    return Request(build_as_req(principal, realm), is_answer, read, SILENCE)


async def probe_kerberos(
    source: str,
    address: str,
    port: int,
    timeout: float,
    *,
    principal: str,
    realm: str,
    tcp: bool = False,
) -> AppOutcome:
    """One AS-REQ from `source` over UDP (default) or TCP."""
    if tcp:
        request = build_as_req(principal, realm)
        return await _over_tcp(source, address, port, timeout, request)
    return await ask(source, address, port, timeout, kerberos_request(principal, realm))


async def _over_tcp(
    source: str, address: str, port: int, timeout: float, request: bytes
) -> AppOutcome:
    start = time.perf_counter()
    try:
        sock, _ = await open_bound(source, address, port, timeout)
    except BoundConnectError as exc:
        o = exc.outcome
        return AppOutcome(o.status, o.reason, o.latency_ms)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(struct.pack("!I", len(request)) + request)
            await writer.drain()
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            data = await reader.readexactly(min(length, 1 << 20))
    except TimeoutError:
        return AppOutcome(
            Status.BAD_REPLY, f"connected (the path is open), but no KDC reply within {timeout:g} s"
        )
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        return AppOutcome(Status.BAD_REPLY, f"connection closed without a reply ({exc})")
    except OSError as exc:
        return AppOutcome(Status.ERROR, f"{type(exc).__name__}: {exc}")
    finally:
        await close(writer, sock)
    return classify(data, elapsed_ms(start, time.perf_counter()))
