"""Evidence: what was checked for one flow, from where, by which method, when, and what it
showed. A failed check is data, not an exception. One status vocabulary for every stage (see
DESIGN.md); how each status is judged is in `auditor.model.verdict`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any

from auditor.documents.fields import (
    ADDRESS_OR_HOSTNAME,
    INLINE,
    IP_TEXT,
    OMIT,
    PAIRS,
    PORT,
    TIMESTAMP,
    in_range,
    one_of,
)
from auditor.model.inventory import Check, Flow, Protocol
from auditor.redact import redact


class Status(StrEnum):
    # reachability (check tcp / udp)
    OPEN = "open"
    REFUSED = "refused"
    FILTERED = "filtered"
    UNREACHABLE = "unreachable"
    NOT_LOCAL = "not-local"
    UNTESTED = "untested"
    ERROR = "error"
    # check tls
    TLS_OK = "tls-ok"
    TLS_FAILED = "tls-failed"
    # check ldap-bind
    BIND_OK = "bind-ok"
    BIND_INVALID_CREDENTIALS = "bind-invalid-credentials"
    BIND_FAILED = "bind-failed"
    # a check that did not run because an earlier one on the same flow failed
    SKIPPED = "skipped"
    # application probes (auditor.probe.app): only an answer proves a UDP flow
    NO_ANSWER = "no-answer"
    RADIUS_ANSWERED = "radius-answered"
    RADIUS_BAD_SECRET = "radius-bad-secret"  # noqa: S105 (a status, not a secret)
    KDC_ANSWERED = "kdc-answered"
    DNS_ANSWERED = "dns-answered"
    NTP_ANSWERED = "ntp-answered"
    NTP_UNSYNCHRONIZED = "ntp-unsynchronized"
    SMTP_OK = "smtp-ok"
    SMTP_FAILED = "smtp-failed"
    CLDAP_ANSWERED = "cldap-answered"
    BAD_REPLY = "bad-reply"
    # claim mode: the source address answered ARP/NDP for someone else, so it was not borrowed
    IN_USE = "in-use"
    # several sources of evidence (hosts, the ruleset) disagree about the same flow and check
    CONFLICT = "conflict"


class Method(StrEnum):
    """How a record was obtained."""

    PROBE = "probe"  # a check run from the source address (held, or claimed for the run)
    RULESET = "ruleset"  # the firewall's own ruleset, evaluated for this flow
    MERGED = "merged"  # several records combined (see auditor.evidence.merge)


class TlsReason(StrEnum):
    UNTRUSTED = "untrusted"
    HOSTNAME_MISMATCH = "hostname-mismatch"
    EXPIRED = "expired"
    PROTOCOL = "protocol"


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    not_after: str  # ISO 8601, UTC
    san: tuple[str, ...]
    days_left: Annotated[int, in_range(-(10**6), 10**6, "a number of days")]


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    """The outcome of one check on one flow. Its JSON (results documents, journals, the history
    store) is derived from these fields by `auditor.documents.codec`: the certificate's fields
    sit in the record itself, and `detail` is an object written only when there is one."""

    source: Annotated[str, IP_TEXT]
    destination: Annotated[str, ADDRESS_OR_HOSTNAME]
    protocol: Annotated[str, one_of(Protocol)]
    port: Annotated[int, PORT]
    provider: str
    check: Annotated[str, one_of(Check)]
    status: Status
    reason: str = ""
    latency_ms: float | None = None
    cert: Annotated[CertInfo | None, INLINE] = None
    attempts: Annotated[int, in_range(0, 1_000_000, "a count")] = 1
    method: Method = Method.PROBE
    origin: str = ""  # where: the probing host (claimed addresses say so), or the ruleset file
    # RFC 3339 (UTC as written here); "" when the document's run time is all there is
    observed_at: Annotated[str, TIMESTAMP] = ""
    # check-specific facts (an rcode, a RADIUS code), sorted by name when read
    detail: Annotated[tuple[tuple[str, str], ...], PAIRS, OMIT] = ()

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.source, self.destination, self.protocol, self.port)


def flow_record(flow: Flow, check: Check, status: Status, **fields: Any) -> ProbeRecord:
    """The record of `check` on `flow` (its addresses, protocol, port and provider as written
    in the flow); `fields` are the record's other fields (reason, method, origin, ...)."""
    return ProbeRecord(
        source=str(flow.source),
        destination=str(flow.destination),
        protocol=flow.protocol.value,
        port=flow.port,
        provider=flow.provider,
        check=check.value,
        status=status,
        **fields,
    )


def redacted(record: ProbeRecord) -> ProbeRecord:
    """`record` with every configured secret removed from the outside text it carries (the
    reason, the detail values, the certificate's names): a server or a results file echoing a
    secret passes it on to no report, run document or store row."""
    cert = record.cert
    if cert is not None:
        cert = replace(
            cert,
            subject=redact(cert.subject),
            issuer=redact(cert.issuer),
            san=tuple(redact(name) for name in cert.san),
        )
    return replace(
        record,
        reason=redact(record.reason),
        detail=tuple((key, redact(value)) for key, value in record.detail),
        cert=cert,
    )
