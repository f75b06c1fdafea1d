"""The check_health document: read by local name, whatever root and namespace; anything
hostile or malformed is a clear DocumentError, never a crash or a leak."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from netaddr import IPAddress
from support.fake_appliance import BOMB, Behaviour, xxe_document

from auditor.health.document import MAX_DOCUMENT, DocumentError, FailoverRole, parse_health

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def fake(**changes: object) -> bytes:
    behaviour = Behaviour("id", "secret", "site1.example.com", "primary", ["198.51.100.10"])
    for key, value in changes.items():
        setattr(behaviour, key, value)
    return behaviour.document(NOW)


def test_the_documented_fields_are_read() -> None:
    doc = parse_health(fake())
    assert doc.success is True
    assert doc.failover_role is FailoverRole.PRIMARY
    assert doc.enabled_shared_ips == (IPAddress("198.51.100.10"),)
    assert doc.hostname == "site1.example.com"
    assert doc.appliance_id is not None
    assert doc.version == "24.3.1 (build 20241)"
    assert doc.last_sync_time == datetime(2026, 11, 30, 11, 53, tzinfo=UTC)
    assert doc.last_sync_status == "Success"
    assert doc.error_message is None


def test_any_root_and_namespace_and_prefix() -> None:
    text = (
        b'<r:whatever xmlns:r="urn:x"><r:success>0</r:success>'
        b"<r:error_message>disk full</r:error_message><r:failover_role>backup</r:failover_role>"
        b"<r:enabled_shared_ips><r:ip>2001:db8::10</r:ip><r:ip>198.51.100.20</r:ip>"
        b"</r:enabled_shared_ips></r:whatever>"
    )
    doc = parse_health(text)
    assert doc.success is False
    assert doc.error_message == "disk full"
    assert doc.failover_role is FailoverRole.BACKUP
    assert doc.enabled_shared_ips == (IPAddress("198.51.100.20"), IPAddress("2001:db8::10"))
    assert doc.version is None and doc.last_sync_time is None


def test_no_enabled_shared_ips_element_means_none_enabled() -> None:
    doc = parse_health(fake(enabled_shared_ips=[], role="backup"))
    assert doc.enabled_shared_ips == ()


def test_sync_time_from_iso_text_when_ts_is_absent() -> None:
    text = (
        b"<h><success>1</success><failover_role>primary</failover_role>"
        b"<last_data_sync_time>2026-11-30T06:30:00-05:00</last_data_sync_time></h>"
    )
    assert parse_health(text).last_sync_time == datetime(2026, 11, 30, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"<h><success>1</success><failover_role>prim", "not well-formed"),
        (b"<h><success>1</success></h>", "no failover_role"),
        (b"<h><success>1</success><failover_role>leader</failover_role></h>", "not one of"),
        (b"<h><success>yes</success><failover_role>none</failover_role></h>", "success"),
        (
            b"<h><success>1</success><failover_role>primary</failover_role>"
            b"<enabled_shared_ips><ip>site.example</ip></enabled_shared_ips></h>",
            "not an IP address",
        ),
        (
            b"<h><success>1</success><failover_role>primary</failover_role>"
            b'<last_data_sync_time ts="soon">x</last_data_sync_time></h>',
            "not a timestamp",
        ),
        (b"", "not well-formed"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(text: bytes, why: str) -> None:
    with pytest.raises(DocumentError, match=why):
        parse_health(text)


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(DocumentError, match="DTD"):
        parse_health(BOMB)


def test_external_entity_never_reads_the_local_file(tmp_path: Path) -> None:
    secret = tmp_path / "local-secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        parse_health(xxe_document(secret))
    assert "TOP-SECRET-CONTENT" not in str(caught.value)
    assert "DTD" in str(caught.value)


def test_oversized_documents_are_refused_before_parsing() -> None:
    with pytest.raises(DocumentError, match="larger than"):
        parse_health(b"<h>" + b" " * MAX_DOCUMENT + b"</h>")


def test_long_or_multiline_texts_are_cut_to_one_line() -> None:
    text = (
        b"<h><success>0</success><failover_role>primary</failover_role><error_message>line1\n"
        b"\x1b[31mline2" + b"x" * 2000 + b"</error_message></h>"
    ).replace(b"\x1b", b"&#27;")
    with pytest.raises(DocumentError):  # an escape character is not even valid XML 1.0
        parse_health(text)
    doc = parse_health(text.replace(b"&#27;", b""))
    assert doc.error_message is not None
    assert "\n" not in doc.error_message and len(doc.error_message) <= 500
