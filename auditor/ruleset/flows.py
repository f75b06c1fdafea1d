"""Required flows through the evaluator: one evaluation per flow, as a new connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netaddr import IPAddress

from auditor.model.inventory import Flow
from auditor.ruleset.evaluate import evaluate
from auditor.ruleset.model import Decision, Hook, Packet, Ruleset, Site, Verdict
from auditor.ruleset.site import DEFAULT_EPHEMERAL


@dataclass(frozen=True, slots=True)
class FlowEvaluation:
    flow: Flow
    decision: Decision

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    def as_dict(self) -> dict[str, object]:
        d = self.decision
        detail = {"detail": dict(d.detail)} if d.detail else {}
        return {
            "source": str(self.flow.source),
            "destination": str(self.flow.destination),
            "protocol": self.flow.protocol.value,
            "port": self.flow.port,
            "verdict": d.verdict.value,
            "action": d.action,
            "rule": d.rule.as_dict() if d.rule is not None else None,
            "path": list(d.path),
            "reason": d.reason,
            **detail,
        }


def packet_of(
    flow: Flow,
    in_interface: str | None = None,
    out_interface: str | None = None,
    site: Site | None = None,
    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL,
) -> Packet | None:
    """The flow's first packet; None when its destination is an unresolved name."""
    if not isinstance(flow.destination, IPAddress):
        return None
    return Packet(
        version=flow.source.version,
        source=int(flow.source),
        destination=int(flow.destination),
        protocol=flow.protocol.value,
        dport=flow.port,
        in_interface=in_interface,
        out_interface=out_interface,
        ephemeral=ephemeral,
        site=site,
    )


def evaluate_flows(
    rulesets: Sequence[Ruleset],
    flows: Sequence[Flow],
    *,
    hook: Hook = Hook.FORWARD,
    in_interface: str | None = None,
    out_interface: str | None = None,
    site: Site | None = None,
    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL,
) -> tuple[FlowEvaluation, ...]:
    """What the rulesets do with each flow's first packet on `hook`, in the order given. An
    on-link flow (source and destination on one connected subnet) crosses no firewall: it is
    not evaluated, and not in the answer."""
    flows = [f for f in flows if not f.on_link]
    packets: list[Packet] = []
    where: list[int | None] = []
    for flow in flows:
        packet = packet_of(flow, in_interface, out_interface, site, ephemeral)
        where.append(len(packets) if packet is not None else None)
        if packet is not None:
            packets.append(packet)
    decisions = evaluate(rulesets, packets, hook)
    unresolved = Decision(
        Verdict.UNKNOWN, "", None, (), "the destination is a name (run without --no-resolve)"
    )
    return tuple(
        FlowEvaluation(flow, decisions[at] if at is not None else unresolved)
        for flow, at in zip(flows, where, strict=True)
    )
