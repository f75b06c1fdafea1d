"""The application probes' packets, as servers see them and as they answer: built and read with
the same libraries (pyrad, pyasn1) that real peers use. The live exchanges are in
tests/test_app_probes_lab.py; these cover what the lab servers cannot produce (a KoD, an AD
domain controller's LDAP ping reply)."""

from __future__ import annotations

import struct

import pytest
from pyasn1.codec.der import decoder, encoder
from pyrad import packet

from auditor.model.record import Status
from auditor.probe.app import cldap, kerberos, ntp, radius

SECRET = b"lab-shared-secret"


def server_reply(raw: bytes, secret: bytes, code: int) -> bytes:
    """What a RADIUS server holding `secret` sends back for request `raw`."""
    request = packet.AuthPacket(packet=raw, secret=secret, dict=radius.dictionary())
    reply = request.CreateReply()
    reply.code = code
    return bytes(reply.ReplyPacket())


def test_status_server_carries_a_message_authenticator_the_server_can_verify() -> None:
    req = radius.build_request("198.51.100.11", SECRET, None)
    raw = req.RequestPacket()
    assert raw[0] == packet.StatusServer
    seen = packet.AuthPacket(packet=raw, secret=SECRET, dict=radius.dictionary())
    assert seen.message_authenticator and seen.verify_message_authenticator()


def test_access_request_hides_a_random_password_and_names_the_probe_user() -> None:
    req = radius.build_request("198.51.100.11", SECRET, "auditor-probe")
    seen = packet.AuthPacket(packet=req.RequestPacket(), secret=SECRET, dict=radius.dictionary())
    assert seen.code == packet.AccessRequest
    assert seen["User-Name"] == ["auditor-probe"]
    assert seen.PwDecrypt(seen["User-Password"][0])  # encrypted with the secret, decodable


def test_a_reply_signed_with_the_same_secret_is_answered_with_its_code() -> None:
    req = radius.build_request("198.51.100.11", SECRET, "u")
    raw = server_reply(req.RequestPacket(), SECRET, packet.AccessReject)
    seen = radius.classify(req, raw, 1.0)
    assert (seen.status, seen.detail["code"]) == (Status.RADIUS_ANSWERED, "Access-Reject")


def test_a_reply_signed_with_another_secret_is_bad_secret_and_shows_no_secret() -> None:
    req = radius.build_request("198.51.100.11", SECRET, "u")
    raw = server_reply(req.RequestPacket(), b"the-servers-idea", packet.AccessReject)
    seen = radius.classify(req, raw, 1.0)
    assert seen.status is Status.RADIUS_BAD_SECRET
    assert "secret" in seen.reason and SECRET.decode() not in seen.reason + repr(seen)


def test_as_req_asks_krbtgt_of_the_realm_for_the_principal_without_preauth() -> None:
    raw = kerberos.build_as_req("auditor-probe", "CORP.EXAMPLE.COM", nonce=0x12345678)
    req, rest = decoder.decode(raw, asn1Spec=kerberos.AsReq())
    assert rest == b""
    body = req["req-body"]
    assert (int(req["pvno"]), int(req["msg-type"])) == (5, 10)
    assert [str(s) for s in body["cname"]["name-string"]] == ["auditor-probe"]
    assert [str(s) for s in body["sname"]["name-string"]] == ["krbtgt", "CORP.EXAMPLE.COM"]
    assert str(body["realm"]) == "CORP.EXAMPLE.COM" and int(body["nonce"]) == 0x12345678


def krb_error(code: int) -> bytes:
    error = kerberos.KrbError()
    error["pvno"] = 5
    error["msg-type"] = 30
    error["stime"] = "20261130120000Z"
    error["susec"] = 0
    error["error-code"] = code
    error["realm"] = "CORP.EXAMPLE.COM"
    error["sname"]["name-type"] = 2
    error["sname"]["name-string"][0] = "krbtgt"
    error["sname"]["name-string"][1] = "CORP.EXAMPLE.COM"
    return bytes(encoder.encode(error))


def test_any_krb_error_is_the_kdc_answering_with_its_code() -> None:
    for code, name in ((25, "KDC_ERR_PREAUTH_REQUIRED"), (6, "KDC_ERR_C_PRINCIPAL_UNKNOWN")):
        seen = kerberos.classify(krb_error(code), 1.0)
        assert (seen.status, seen.detail["code"], seen.detail["error"]) == (
            Status.KDC_ANSWERED,
            str(code),
            name,
        )


def test_the_fast_krb_error_reader_agrees_with_pyasn1() -> None:
    for code in (6, 25, 60, 68):
        raw = krb_error(code)
        error, _ = decoder.decode(raw, asn1Spec=kerberos.KrbError())
        assert kerberos.error_fields(raw) == (int(error["error-code"]), str(error["realm"]))
    assert kerberos.error_fields(krb_error(25)[:-4]) is None  # truncated: pyasn1 says why


def test_a_reply_that_is_not_kerberos_is_a_bad_reply() -> None:
    assert kerberos.classify(b"\x30\x03\x02\x01\x01", 1.0).status is Status.BAD_REPLY
    assert kerberos.classify(b"\x7e\x03\x02\x01", 1.0).status is Status.BAD_REPLY


def ntp_reply(stratum: int, refid: bytes, transmit: int, leap: int = 0) -> bytes:
    first = (leap << 6) | (4 << 3) | 4
    head = struct.pack("!BBbb", first, stratum, 6, -20) + b"\x00" * 8 + refid
    now = ntp.to_ntp(1_800_000_000.0)
    return (
        head + now.to_bytes(8, "big") + transmit.to_bytes(8, "big") + (now.to_bytes(8, "big") * 2)
    )


def test_ntp_client_request_is_mode_3_version_4_with_our_transmit_time() -> None:
    raw = ntp.build_request(123456789)
    assert len(raw) == 48 and raw[0] == 0x23
    assert int.from_bytes(raw[40:48], "big") == 123456789


def test_a_kiss_of_death_is_unsynchronized_with_its_kiss_code() -> None:
    seen = ntp.classify(ntp_reply(0, b"RATE", 1), 1, 0.0, 0.0, 1.0)
    assert (seen.status, seen.detail["kiss_code"]) == (Status.NTP_UNSYNCHRONIZED, "RATE")


def test_stratum_16_is_unsynchronized_and_a_synchronised_server_gives_its_offset() -> None:
    t = 1_800_000_000.0
    assert ntp.classify(ntp_reply(16, b"INIT", 1), 1, t, t, 1.0).status is (
        Status.NTP_UNSYNCHRONIZED
    )
    seen = ntp.classify(ntp_reply(2, b"\xc0\x00\x02\x01", 1), 1, t - 1.0, t - 1.0, 1.0)
    assert (seen.status, seen.detail["stratum"]) == (Status.NTP_ANSWERED, "2")
    assert float(seen.detail["offset_ms"]) == 1000.0  # the server is one second ahead


def long_form(tag: int, value: bytes) -> bytes:
    """BER with a four-octet length, as Active Directory encodes its LDAP messages."""
    return bytes([tag, 0x84]) + len(value).to_bytes(4, "big") + value


def test_ldap_ping_is_a_base_search_of_the_root_dse_for_netlogon() -> None:
    raw = cldap.build_ping(0x1234)
    tag, _start, end = cldap.read_tlv(raw, 0)
    assert (tag, end) == (0x30, len(raw))
    assert b"NtVer" in raw and b"Netlogon" in raw and cldap.NT_VERSION in raw


def test_a_domain_controller_reply_with_long_form_lengths_is_read() -> None:
    # searchResEntry (objectName "", attributes [Netlogon: <blob>]) and searchResDone (success)
    # in one datagram, each LDAPMessage with four-octet lengths like an AD DC sends them.
    attribute = long_form(
        0x30, cldap.tlv(0x04, b"Netlogon") + long_form(0x31, cldap.tlv(0x04, b"\x17\x00"))
    )
    entry = long_form(0x64, cldap.tlv(0x04, b"") + long_form(0x30, attribute))
    done = long_form(0x65, cldap.tlv(0x0A, b"\x00") + cldap.tlv(0x04, b"") + cldap.tlv(0x04, b""))
    datagram = long_form(0x30, cldap.tlv(0x02, b"\x12\x34") + entry) + long_form(
        0x30, cldap.tlv(0x02, b"\x12\x34") + done
    )
    assert cldap.parse_reply(datagram) == (0x1234, 1, 0)


def test_a_truncated_ldap_reply_is_refused_by_the_reader() -> None:
    with pytest.raises(ValueError, match="truncated"):
        cldap.parse_reply(cldap.build_ping(5)[:-3])


def free_udp_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def test_ipv6_sources_work_and_mixed_families_are_an_error() -> None:
    import asyncio

    from support.app_probes import probe_ntp

    from auditor.probe.app.dns import probe_dns

    port = free_udp_port("::1")
    assert asyncio.run(probe_ntp("::1", "::1", port, 1.0)).status is Status.REFUSED
    mixed = asyncio.run(probe_dns("::1", "127.0.0.1", 53, 1.0, query_name="x.example.com"))
    assert (mixed.status, "IP versions" in mixed.reason) == (Status.ERROR, True)
