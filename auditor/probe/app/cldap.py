"""CLDAP proof of life: the rootDSE "LDAP ping" over UDP 389 (MS-ADTS 6.3.3), which Active
Directory domain controllers answer with a Netlogon entry. OpenLDAP's slapd serves no CLDAP,
so a slapd stays silent here (`no-answer`) while its TCP 389 is open: only enable this check
for providers that are domain controllers."""

from __future__ import annotations

import secrets

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.udp import Reply, Request

SILENCE = (
    "dropped by a firewall, or the server does not serve CLDAP (only AD domain controllers "
    "answer LDAP over UDP; OpenLDAP does not)"
)
NT_VERSION = b"\x06\x00\x00\x00"  # NETLOGON_NT_VERSION_5 | 5EX


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def build_ping(message_id: int) -> bytes:
    """LDAPMessage{id, searchRequest base "" scope base, (&(NtVer=...)), [Netlogon]}."""
    equality = tlv(0xA3, tlv(0x04, b"NtVer") + tlv(0x04, NT_VERSION))
    request = b"".join(
        (
            tlv(0x04, b""),  # baseObject: the rootDSE
            tlv(0x0A, b"\x00"),  # scope baseObject
            tlv(0x0A, b"\x00"),  # derefAliases never
            tlv(0x02, b"\x00"),  # sizeLimit
            tlv(0x02, b"\x00"),  # timeLimit
            tlv(0x01, b"\x00"),  # typesOnly FALSE
            tlv(0xA0, equality),  # filter and
            tlv(0x30, tlv(0x04, b"Netlogon")),
        )
    )
    return tlv(0x30, tlv(0x02, message_id.to_bytes(2, "big")) + tlv(0x63, request))


def read_tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at `pos`; ValueError if truncated."""
    if pos + 2 > len(buf):
        raise ValueError("truncated element")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(buf):
            raise ValueError("bad length")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > len(buf):
        raise ValueError("truncated element")
    return tag, pos, pos + length


def parse_reply(data: bytes) -> tuple[int, int, int | None]:
    """(messageID, entries, resultCode or None) of the LDAPMessages in one datagram."""
    pos, message_id, entries, result = 0, -1, 0, None
    while pos < len(data):
        tag, start, end = read_tlv(data, pos)
        if tag != 0x30:
            raise ValueError("not an LDAPMessage")
        itag, istart, iend = read_tlv(data, start)
        if itag != 0x02:
            raise ValueError("no messageID")
        message_id = int.from_bytes(data[istart:iend], "big")
        op, ostart, _oend = read_tlv(data, iend)
        if op == 0x64:  # searchResEntry
            entries += 1
        elif op == 0x65:  # searchResDone: resultCode first
            rtag, rstart, rend = read_tlv(data, ostart)
            if rtag != 0x0A:
                raise ValueError("no resultCode")
            result = int.from_bytes(data[rstart:rend], "big")
        pos = end
    return message_id, entries, result


def cldap_request() -> Request:
    """One LDAP ping; its message id is the nonce."""
    message_id = secrets.randbelow(0x7FFF) + 1

    def is_answer(data: bytes) -> bool:
        try:
            return parse_reply(data)[0] == message_id
        except ValueError:
            return False

    def read(reply: Reply) -> AppOutcome:
        _, entries, result = parse_reply(reply.data)
        detail = {"entries": str(entries), "result": "" if result is None else str(result)}
        return AppOutcome(
            Status.CLDAP_ANSWERED,
            f"LDAP ping answered ({entries} entry, result {detail['result'] or 'none'})",
            reply.latency_ms,
            detail,
        )

    return Request(build_ping(message_id), is_answer, read, SILENCE)
