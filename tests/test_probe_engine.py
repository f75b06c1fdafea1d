"""The probe engine on loopback: every flow is checked from its own bound source address and
each outcome lands in the status vocabulary. Real sockets, real TLS, no mocks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from probe_support import Pki, flow, listener, make_pki, tls_server, unused_port

from auditor.model.inventory import BindSpec, Check, Protocol, Provider
from auditor.model.record import ProbeRecord, Status
from auditor.probe.engine import ProbeOptions, probe_flows
from auditor.probe.ldapcheck import LdapTarget, ldap_check
from auditor.probe.tls import probe_tls

FAST = ProbeOptions(timeout=2.0)
LDAPS = (Check.TCP, Check.TLS, Check.LDAP_BIND)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def provider(pki: Pki | None = None, **fields: object) -> Provider:
    values: dict[str, object] = {"tls_name": "ldap.test", "ca_file": pki.ca if pki else None}
    values.update(fields)
    return Provider(name="dir", kind="ldaps", endpoints=("127.0.0.10",), **values)  # type: ignore[arg-type]


def by_check(records: tuple[ProbeRecord, ...]) -> dict[str, ProbeRecord]:
    return {r.check: r for r in records}


def test_listening_port_is_open_with_latency() -> None:
    with listener() as port:
        (record,) = probe_flows([flow("127.0.0.2", "127.0.0.10", port)], [], {}, FAST)
    assert record.status is Status.OPEN
    assert record.source == "127.0.0.2"
    assert record.check == "tcp"
    assert record.latency_ms is not None
    assert record.latency_ms >= 0


def test_socket_is_bound_to_the_flow_source() -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.10", 0))
        server.listen(8)
        port = server.getsockname()[1]
        probe_flows([flow("127.0.0.7", "127.0.0.10", port)], [], {}, FAST)
        conn, peer = server.accept()
        conn.close()
    assert peer[0] == "127.0.0.7"


def test_unused_port_is_refused_at_once() -> None:
    port = unused_port()
    start = time.monotonic()
    (record,) = probe_flows([flow("127.0.0.2", "127.0.0.10", port)], [], {}, FAST)
    assert record.status is Status.REFUSED
    assert record.latency_ms is not None
    assert time.monotonic() - start < FAST.timeout


def test_source_not_on_this_host_is_not_local_and_later_checks_are_skipped() -> None:
    records = probe_flows(
        [flow("198.51.100.99", "127.0.0.10", 636, checks=LDAPS)], [provider()], {}, FAST
    )
    checks = by_check(records)
    assert checks["tcp"].status is Status.NOT_LOCAL
    assert "198.51.100.99" in checks["tcp"].reason
    assert checks["tls"].status is Status.SKIPPED
    assert checks["ldap-bind"].status is Status.SKIPPED
    assert "not-local" in checks["ldap-bind"].reason


def test_udp_flow_is_untested_with_a_reason() -> None:
    (record,) = probe_flows(
        [flow("127.0.0.2", "127.0.0.11", 123, protocol=Protocol.UDP, checks=(Check.UDP,))],
        [],
        {},
        FAST,
    )
    assert record.status is Status.UNTESTED
    assert record.check == "udp"
    assert record.reason


def test_mixed_address_families_is_an_error_with_the_cause() -> None:
    (record,) = probe_flows([flow("127.0.0.2", "::1", 443)], [], {}, FAST)
    assert record.status is Status.ERROR
    assert "IP version" in record.reason


def test_ipv6_loopback_is_probed() -> None:
    with listener("::1") as port:
        (record,) = probe_flows([flow("::1", "::1", port)], [], {}, FAST)
    assert record.status is Status.OPEN


def test_refused_tcp_skips_tls_and_bind_with_the_reason() -> None:
    records = probe_flows(
        [flow("127.0.0.2", "127.0.0.10", unused_port(), checks=LDAPS)], [provider()], {}, FAST
    )
    assert [(r.check, r.status) for r in records] == [
        ("tcp", Status.REFUSED),
        ("tls", Status.SKIPPED),
        ("ldap-bind", Status.SKIPPED),
    ]
    assert records[1].reason == "tcp check was refused"


def test_tls_ok_reports_the_certificate(pki: Pki) -> None:
    with tls_server(pki) as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=(Check.TCP, Check.TLS))],
            [provider(pki)],
            {},
            FAST,
        )
    tls = by_check(records)["tls"]
    assert tls.status is Status.TLS_OK, tls.reason
    assert tls.cert is not None
    assert tls.cert.subject == "CN=ldap.test"
    assert "Probe Test ca" in tls.cert.issuer
    assert tls.cert.san == ("ldap.test",)
    assert 28 <= tls.cert.days_left <= 30
    assert tls.cert.not_after.endswith("Z")


def test_certificate_for_another_name_is_hostname_mismatch(pki: Pki) -> None:
    with tls_server(pki) as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=LDAPS)],
            [provider(pki, tls_name="ad.corp.example.com")],
            {},
            FAST,
        )
    tls = by_check(records)["tls"]
    assert tls.status is Status.TLS_FAILED
    assert tls.reason.startswith("hostname-mismatch")
    assert by_check(records)["ldap-bind"].status is Status.SKIPPED


def test_an_expired_certificate_is_tls_failed_expired(tmp_path: Path) -> None:
    expired = make_pki(tmp_path / "expired", days=-1)  # notAfter: yesterday
    with tls_server(expired) as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=LDAPS)],
            [provider(expired)],
            {},
            FAST,
        )
    tls = by_check(records)["tls"]
    assert tls.status is Status.TLS_FAILED
    assert tls.reason.startswith("expired"), tls.reason
    assert by_check(records)["ldap-bind"].status is Status.SKIPPED


def test_certificate_from_another_ca_is_untrusted(pki: Pki) -> None:
    with tls_server(pki) as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=(Check.TCP, Check.TLS))],
            [provider(pki, ca_file=pki.other_ca)],
            {},
            FAST,
        )
    assert by_check(records)["tls"].status is Status.TLS_FAILED
    assert by_check(records)["tls"].reason.startswith("untrusted")


def test_without_ca_file_the_system_store_is_used(pki: Pki) -> None:
    with tls_server(pki) as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=(Check.TCP, Check.TLS))],
            [provider(None)],
            {},
            FAST,
        )
    assert by_check(records)["tls"].reason.startswith("untrusted")


def test_silent_server_fails_tls_within_about_the_timeout() -> None:
    options = ProbeOptions(timeout=0.5)
    with listener() as port:
        start = time.monotonic()
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=(Check.TCP, Check.TLS))],
            [provider()],
            {},
            options,
        )
        elapsed = time.monotonic() - start
    tls = by_check(records)["tls"]
    assert tls.status is Status.TLS_FAILED
    assert "0.5 s" in tls.reason
    assert elapsed < 5 * options.timeout


def test_unreadable_ca_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with listener() as port:
        records = probe_flows(
            [flow("127.0.0.3", "127.0.0.10", port, checks=(Check.TCP, Check.TLS))],
            [provider(ca_file=tmp_path / "missing.pem")],
            {},
            FAST,
        )
    assert by_check(records)["tls"].status is Status.ERROR
    assert "missing.pem" in by_check(records)["tls"].reason


def test_many_flows_under_tight_caps_all_get_a_record_in_a_stable_order() -> None:
    refused = unused_port()
    with listener() as open_port:
        flows = [
            flow(f"127.0.0.{s}", "127.0.0.10", port)
            for s in range(20, 60)
            for port in (open_port, refused)
        ]
        options = ProbeOptions(timeout=2.0, concurrency=7, per_destination=3)
        records = probe_flows(list(reversed(flows)), [], {}, options)
    assert len(records) == len(flows)
    assert [r.source for r in records[:2]] == ["127.0.0.20", "127.0.0.20"]
    statuses = {r.port: r.status for r in records}
    assert statuses == {open_port: Status.OPEN, refused: Status.REFUSED}


def test_observer_sees_every_check_start_and_finish(pki: Pki) -> None:
    events: list[tuple[str, str]] = []

    class Recorder:
        def planned(self, total: int) -> None:
            events.append(("planned", str(total)))

        def started(self, flow: object, check: Check) -> None:
            events.append(("started", check.value))

        def finished(self, record: ProbeRecord) -> None:
            events.append(("finished", record.check))

    probe_flows(
        [flow("127.0.0.2", "127.0.0.10", unused_port(), checks=LDAPS)],
        [provider()],
        {},
        FAST,
        Recorder(),
    )
    assert events[0] == ("planned", "3")
    assert [e for e in events if e[0] == "finished"] == [
        ("finished", "tcp"),
        ("finished", "tls"),
        ("finished", "ldap-bind"),
    ]


def test_starttls_provider_gets_a_tls_check_on_the_ldap_port() -> None:
    from auditor.model.checks import required_checks
    from auditor.model.inventory import PortSpec, Protocol

    ldap = PortSpec(Protocol.TCP, 389, (Check.LDAP_BIND,))
    ldaps = PortSpec(Protocol.TCP, 636, (Check.TCP, Check.TLS, Check.LDAP_BIND))
    want = (Check.TCP, Check.TLS, Check.LDAP_BIND)
    assert required_checks(provider(starttls=True), ldap) == want
    assert required_checks(provider(starttls=False), ldap) == (Check.TCP, Check.LDAP_BIND)
    assert required_checks(provider(starttls=True), ldaps) == want
    assert required_checks(None, PortSpec(Protocol.UDP, 123, ())) == (Check.UDP,)


def test_ldap_check_classifies_refused_and_not_local() -> None:
    target = LdapTarget(
        source="127.0.0.2",
        destination="127.0.0.10",
        port=unused_port(),
        tls_name="ldap.test",
        ca_file=None,
        implicit_tls=True,
        starttls=False,
        bind_dn="cn=svc,dc=test",
    )
    assert ldap_check(target, "pw", 2.0).status is Status.REFUSED
    from dataclasses import replace

    elsewhere = replace(target, source="198.51.100.99")
    assert ldap_check(elsewhere, "pw", 2.0).status is Status.NOT_LOCAL


def test_ldap_check_against_a_server_with_the_wrong_name_is_tls_failed(pki: Pki) -> None:
    with tls_server(pki) as port:
        target = LdapTarget(
            source="127.0.0.2",
            destination="127.0.0.10",
            port=port,
            tls_name="ad.corp.example.com",
            ca_file=pki.ca,
            implicit_tls=True,
            starttls=False,
            bind_dn=None,
        )
        outcome = ldap_check(target, None, 2.0)
    assert outcome.status is Status.TLS_FAILED
    assert "hostname-mismatch" in outcome.reason


def test_bind_configured_without_a_password_read_is_an_error_record() -> None:
    p = provider(bind=BindSpec(dn="cn=svc,dc=test", password_env="X"))
    with listener() as port:
        records = probe_flows(
            [flow("127.0.0.2", "127.0.0.10", port, checks=(Check.TCP, Check.LDAP_BIND))],
            [p],
            {},
            FAST,
        )
    assert by_check(records)["ldap-bind"].status is Status.ERROR


def test_a_busy_event_loop_does_not_turn_answered_probes_into_filtered() -> None:
    """Thousands of connects start in one loop pass, which takes longer than this timeout; the
    answers that arrived meanwhile are still open or refused, never `filtered`."""
    refused = unused_port()
    with listener() as open_port:
        flows = [
            flow(f"127.0.{s}.{h}", "127.0.0.10", port)
            for s in (2, 3)
            for h in range(1, 201)
            for port in (open_port, refused)
        ]
        records = probe_flows(flows, [], {}, ProbeOptions(timeout=0.01))
    assert len(records) == 800
    assert {r.status for r in records} == {Status.OPEN, Status.REFUSED}


def test_a_silent_tls_server_is_tls_failed_after_the_timeout_and_a_cancel_is_not_lost() -> None:
    """A listener that accepts and never answers: the handshake ends at the timeout, and a
    cancellation while it waits (Ctrl-C) ends the probe at once."""
    with listener("127.0.0.10") as silent:
        started = time.monotonic()
        outcome = asyncio.run(
            probe_tls("127.0.0.1", "127.0.0.10", silent, 0.3, tls_name="x", ca_file=None)
        )
        assert outcome.status is Status.TLS_FAILED
        assert "no TLS handshake within 0.3 s" in outcome.reason
        assert time.monotonic() - started < 3

        async def cancelled() -> float:
            task = asyncio.ensure_future(
                probe_tls("127.0.0.1", "127.0.0.10", silent, 30, tls_name="x", ca_file=None)
            )
            await asyncio.sleep(0.2)
            begun = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - begun

        assert asyncio.run(cancelled()) < 2
