"""The pair's live state: what the appliances' health API said and how the health judge judged
it (`auditor.health`). Built once where the appliances are asked (`health.render.live_state`),
carried typed by the run (`AuditRun.live_state`), written by the codec into the run document
and the `state --format json` output, and read back typed by history, drift and the reports.
Pure data: no clock, no network."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from netaddr import IPAddress

from auditor.documents.fields import IP_TEXT, TIMESTAMP, Valid, in_range
from auditor.model.inventory import FailoverState, Side

FORMAT = "auditor-state"
VERSION = 1
COUNT = in_range(0, 10**6, "a count")


class FailoverRole(StrEnum):
    """`failover_role` as the appliance reports it."""

    NONE = "none"
    PRIMARY = "primary"
    BACKUP = "backup"


class FailureReason(StrEnum):
    """Why an appliance could not be asked."""

    TLS = "tls"  # untrusted certificate, wrong name, handshake failure
    AUTH = "auth"  # client credentials or token refused (401/403)
    TIMEOUT = "timeout"  # no answer within the timeout
    CONNECT = "connect"  # refused, unreachable
    HTTP = "http"  # any other HTTP status
    MALFORMED = "malformed"  # an answer that is not the documented JSON or XML


@dataclass(frozen=True, slots=True)
class AskFailure:
    reason: FailureReason
    message: str


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class StateCode(StrEnum):
    """What a finding is about; stable names for JSON, history and tests."""

    IP_CONFLICT = "ip-conflict"
    SHARED_IP_NOWHERE = "shared-ip-enabled-nowhere"
    TWO_PRIMARIES = "two-primaries"
    TWO_BACKUPS = "two-backups"
    ON_BACKUP = "shared-ip-on-backup"
    NO_FAILOVER = "failover-not-configured"
    UNHEALTHY = "health-check-failed"
    CANNOT_ASK = "cannot-ask"
    NOT_CONFIGURED = "no-health-block"
    FAILED_OVER = "failed-over"
    SYNC_STALE = "sync-stale"
    SYNC_IN_FUTURE = "sync-in-future"
    UNKNOWN_SHARED_IP = "unknown-shared-ip"


class PairStatus(StrEnum):
    """The pair's live state as a label."""

    PRIMARY_ACTIVE = "primary-active"  # the inventory's primary is primary
    BACKUP_ACTIVE = "backup-active"  # failed over: the inventory's backup is primary
    SPLIT_BRAIN = "split-brain"  # two primaries, or a shared IP enabled on both
    UNKNOWN = "unknown"  # no appliance answered as primary


@dataclass(frozen=True, slots=True, kw_only=True)
class StateFinding:
    code: StateCode
    severity: Severity
    appliance: str | None = None
    ip: Annotated[str, IP_TEXT] | None = None
    message: str


@dataclass(frozen=True, slots=True)
class StateVerdict:
    """The health judge's verdict (`auditor.health.judge.judge`): the pair's status and its
    findings, errors first."""

    status: PairStatus
    findings: tuple[StateFinding, ...]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def failover_state(self) -> FailoverState | None:
        """The flow graph's state that is live now, when the pair is in one."""
        if self.status is PairStatus.PRIMARY_ACTIVE:
            return FailoverState.PRIMARY_ACTIVE
        if self.status is PairStatus.BACKUP_ACTIVE:
            return FailoverState.BACKUP_ACTIVE
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class PairVerdict:
    """The verdict as the live state document writes it (its findings beside it)."""

    status: PairStatus
    failover_state: FailoverState | None
    errors: Annotated[int, COUNT]
    warnings: Annotated[int, COUNT]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplianceAnswer:
    """One appliance as it answered (or why it could not be asked, or that it was not)."""

    name: str
    side: Side
    url: str | None
    asked: bool
    answered: bool
    failure: AskFailure | None
    failover_role: FailoverRole | None
    success: bool | None
    error_message: str | None
    enabled_shared_ips: tuple[IPAddress, ...]
    hostname: str | None
    version: str | None
    last_sync_time: Annotated[str, TIMESTAMP] | None
    last_sync_age_seconds: int | None
    last_sync_status: str | None


def _is_format(value: str) -> bool:
    return value == FORMAT


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveState:
    """The pair's live state: every appliance's answer, the verdict and its findings, as asked
    at `asked_at` (UTC)."""

    format: Annotated[str, Valid(_is_format, FORMAT, {"const": FORMAT})] = FORMAT
    version: Annotated[int, in_range(VERSION, VERSION, f"version {VERSION}")] = VERSION
    inventory: str
    site: str
    asked_at: Annotated[str, TIMESTAMP]
    verdict: PairVerdict
    appliances: tuple[ApplianceAnswer, ...]
    findings: tuple[StateFinding, ...]

    @property
    def status(self) -> PairStatus:
        return self.verdict.status

    @property
    def errors(self) -> int:
        """Error-level findings (a split brain, an appliance that cannot be asked)."""
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)
