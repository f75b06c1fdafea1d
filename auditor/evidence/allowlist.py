"""The application allow-list finding: a server answers some addresses of the pair and stays
silent for others that the firewall admits. The firewall is then not the cause: the server's
own list of clients is (a RADIUS client list above all; an NTP `restrict`, a DNS ACL).

Silence alone proves nothing about who dropped the request, so a silent address counts only
with positive evidence that the firewall admits it: a ruleset that accepts the flow, or a
change that was applied to admit it (the closed loop: rules generated, applied, probed again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from netaddr import IPAddress

from auditor.model.allowlist import AllowListFinding
from auditor.model.checks import UDP_APPLICATION_CHECKS
from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.verdict import proves_reach

Admitted = Callable[[ProbeRecord], bool]


def _key(ip: str) -> tuple[int, int]:
    addr = IPAddress(ip)
    return (int(addr.version), int(addr))


def allowlist_findings(
    records: Iterable[ProbeRecord], admitted: Admitted, evidence: str
) -> tuple[AllowListFinding, ...]:
    """One finding per (provider, destination, protocol, port) that answered some sources and
    met silence from others that `admitted` says the firewall lets through."""
    groups: dict[tuple[str, str, str, int, str], tuple[set[str], set[str]]] = {}
    for record in records:
        # Only a UDP application's silence can be the server ignoring the address rather than
        # the firewall dropping it (the registry says which checks those are).
        if record.check not in UDP_APPLICATION_CHECKS:
            continue
        key = (record.provider, record.destination, record.protocol, record.port, record.check)
        answered, ignored = groups.setdefault(key, (set(), set()))
        if proves_reach(record.status):
            answered.add(record.source)
        elif record.status is Status.NO_ANSWER and admitted(record):
            ignored.add(record.source)
    return tuple(
        AllowListFinding(
            provider=provider,
            destination=destination,
            protocol=protocol,
            port=port,
            check=check,
            answered=tuple(sorted(answered, key=_key)),
            ignored=tuple(sorted(ignored, key=_key)),
            evidence=evidence,
        )
        for (provider, destination, protocol, port, check), (answered, ignored) in sorted(
            groups.items()
        )
        if answered and ignored
    )


def admitted_by_ruleset(records: Iterable[ProbeRecord]) -> Admitted:
    """The flows the firewall's own ruleset admits: ruleset records (method `ruleset`) that
    prove the path open. Give `allowlist_findings` the records before they are merged: merged,
    a probe's silence and a ruleset's accept for the same flow become one `conflict`, which
    this finding explains."""
    keys = {r.key for r in records if r.method is Method.RULESET and proves_reach(r.status)}
    return lambda record: record.key in keys


def ruleset_allowlist(
    probed: Iterable[ProbeRecord], ruleset: Iterable[ProbeRecord]
) -> tuple[AllowListFinding, ...]:
    """The audit's allow-list findings: `probed` are the probe records before any merge,
    `ruleset` the records of the firewall's ruleset (`audit --ruleset`)."""
    ruleset = tuple(ruleset)
    if not ruleset:
        return ()
    origins = ", ".join(dict.fromkeys(r.origin for r in ruleset if r.origin)) or "given"
    return allowlist_findings(
        probed, admitted_by_ruleset(ruleset), f"the ruleset {origins} accepts them"
    )
