"""The fleet file's model: sites, each with an optional probe host and its pairs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from auditor.claim.namespace import ClaimRequest
from auditor.history.location import StoreLocation

DEFAULT_SSH_PORT = 22
DEFAULT_REMOTE_AUDITOR = "auditor"


class NotifyOn(StrEnum):
    """When a run sends its one message."""

    FINDINGS = "findings"  # a pair got worse (its verdict), or drift that matters appeared
    DRIFT = "drift"  # only drift that matters
    ALWAYS = "always"  # every run, with its summary


@dataclass(frozen=True, slots=True)
class ProbeHost:
    """`ssh://USER@HOST[:PORT]`: where a site's pairs are probed."""

    user: str
    host: str
    port: int = DEFAULT_SSH_PORT
    ssh_key: Path | None = None  # None: the SSH agent
    known_hosts: Path | None = None  # None: ~/.ssh/known_hosts
    auditor: str = DEFAULT_REMOTE_AUDITOR  # the auditor executable on the probe host

    def __str__(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PairSpec:
    inventory: Path
    ruleset: tuple[Path, ...] = ()
    ipset: tuple[Path, ...] = ()
    evidence: tuple[Path, ...] = ()
    claim: ClaimRequest | None = None  # claim mode where the pair is probed (`claim:`)
    line: int | None = None  # where the pair is written in the fleet file
    claim_line: int | None = None  # where its claim: is


@dataclass(frozen=True, slots=True)
class SiteSpec:
    name: str
    pairs: tuple[PairSpec, ...]
    probe_host: ProbeHost | None = None  # None: this host
    line: int | None = None


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """An Apprise URL as written (`${VAR}` placeholders: what messages show) and expanded from
    the environment (what is sent to; never shown)."""

    written: str
    url: str
    line: int | None = None  # where a fleet file's notify: entry is written

    def __str__(self) -> str:  # as written, a literal password masked
        from auditor.fleet.notify import shown_url  # noqa: PLC0415

        return shown_url(self.written)


@dataclass(frozen=True, slots=True)
class FleetSpec:
    source: Path
    sites: tuple[SiteSpec, ...]
    store: StoreLocation | None = None
    notify: tuple[NotifyTarget, ...] = ()
    notify_on: NotifyOn | None = None
