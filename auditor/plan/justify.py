"""Why a rule exists, in words a firewall reviewer can check."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model.inventory import PEER_KIND, PEER_PROVIDER
from auditor.model.record import Status
from auditor.plan.model import RuleStatus

STATUS_MEANING: dict[Status, str] = {
    Status.FILTERED: "filtered (proven blocked)",
    Status.UNREACHABLE: "unreachable (proven blocked)",
    Status.REFUSED: "refused (a firewall reject, or nothing listening on the port)",
}


def status_text(status: Status) -> str:
    """`refused (a firewall reject, or nothing listening on the port)`; others as they are."""
    return STATUS_MEANING.get(status, status.value)


def evidence_text(evidence: Sequence[Status]) -> str:
    """What the probes said, honestly: `filtered, unreachable (proven blocked), refused (...)`.
    No `;` or quote: the text reaches snippet comments, whose safe alphabet has neither."""
    blocked = [s.value for s in evidence if s in (Status.FILTERED, Status.UNREACHABLE)]
    parts = [", ".join(blocked) + " (proven blocked)"] if blocked else []
    parts += [status_text(s) for s in evidence if s not in (Status.FILTERED, Status.UNREACHABLE)]
    return ", ".join(parts)


PEER_REASON = (
    "the unique IPs of both appliances must reach each other on the peer TLS port for failover"
)


def justify(
    providers: Sequence[str],
    kinds: Sequence[str],
    status: RuleStatus,
    evidence: Sequence[Status],
) -> str:
    """Why the rule exists, in one sentence a firewall reviewer can check."""
    services = [k for k in kinds if k != PEER_KIND]
    needs: list[str] = []
    if services:
        who = ", ".join(p for p in providers if p != PEER_PROVIDER) or ", ".join(providers)
        needs.append(
            f"{who} ({', '.join(services)}) must be reachable from every address of both "
            "appliances (shared-IP failover)"
        )
    if PEER_KIND in kinds:
        needs.append(f"{PEER_PROVIDER} ({PEER_KIND}): {PEER_REASON}")
    why = ". ".join(needs)
    if status is RuleStatus.PROVEN:
        return f"{why}. Probed from this host: {evidence_text(evidence)}"
    seen = ", ".join(s.value for s in evidence)
    return f"{why}. Not testable from this host ({seen}): unverified"
