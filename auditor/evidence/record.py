"""Evidence: what was checked for one flow, from where, by which method, when, and what it
showed. A failed check is data, not an exception. One status vocabulary for every stage (see
DESIGN.md); how each status is judged is in `auditor.verdict`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
    days_left: int


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    """The outcome of one check on one flow."""

    source: str
    destination: str
    protocol: str
    port: int
    provider: str
    check: str  # an auditor.model.Check value
    status: Status
    reason: str = ""
    latency_ms: float | None = None
    cert: CertInfo | None = None
    attempts: int = 1
    method: Method = Method.PROBE
    origin: str = ""  # where: the probing host (claimed addresses say so), or the ruleset file
    observed_at: str = ""  # ISO 8601 UTC; "" when the document's run time is all there is
    detail: tuple[tuple[str, str], ...] = ()  # check-specific facts (an rcode, a RADIUS code)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.source, self.destination, self.protocol, self.port)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "source": self.source,
            "destination": self.destination,
            "protocol": self.protocol,
            "port": self.port,
            "provider": self.provider,
            "check": self.check,
            "status": self.status.value,
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "attempts": self.attempts,
            "method": self.method.value,
            "origin": self.origin,
            "observed_at": self.observed_at,
        }
        if self.detail:
            doc["detail"] = dict(self.detail)
        if self.cert is not None:
            doc.update(
                subject=self.cert.subject,
                issuer=self.cert.issuer,
                not_after=self.cert.not_after,
                san=list(self.cert.san),
                days_left=self.cert.days_left,
            )
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ProbeRecord:
        cert = None
        if doc.get("not_after") is not None:
            cert = CertInfo(
                subject=str(doc.get("subject", "")),
                issuer=str(doc.get("issuer", "")),
                not_after=str(doc["not_after"]),
                san=tuple(str(s) for s in doc.get("san") or ()),
                days_left=int(doc.get("days_left", 0)),
            )
        latency = doc.get("latency_ms")
        return cls(
            source=str(doc["source"]),
            destination=str(doc["destination"]),
            protocol=str(doc["protocol"]),
            port=int(doc["port"]),
            provider=str(doc["provider"]),
            check=str(doc["check"]),
            status=Status(doc["status"]),
            reason=str(doc.get("reason") or ""),
            latency_ms=None if latency is None else float(latency),
            cert=cert,
            attempts=int(doc.get("attempts", 1)),
            method=Method(doc.get("method") or Method.PROBE.value),
            origin=str(doc.get("origin") or ""),
            observed_at=str(doc.get("observed_at") or ""),
            detail=tuple(sorted((str(k), str(v)) for k, v in (doc.get("detail") or {}).items())),
        )
