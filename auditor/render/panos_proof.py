"""With a PAN-OS configuration as --ruleset: the PAN-OS change placed before the first rule
that denies a required flow, in that rule's rulebase (a device group's pre-rulebase, or the
firewall's rulebase), rendered, applied to the parsed configuration in memory and proven.
Pure: data in, options out."""

from __future__ import annotations

import re
from dataclasses import replace

from auditor.plan import Plan
from auditor.policy.panos.proof import PanosEvidence
from auditor.render import panos
from auditor.render.option_set import RenderOptions
from auditor.ruleset.model import Verdict
from auditor.ruleset.proof import ChangeProofReport

_DG = "device-group "
# A rule name the change may name in `move ... before NAME` (quoted when it holds a space): the
# PAN-OS alphabet; anything else in a configuration is never written into a command.
_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}")
_PRE = " pre-rulebase"


def panos_proven_options(
    plan: Plan, options: RenderOptions, evidence: PanosEvidence
) -> tuple[RenderOptions, ChangeProofReport]:
    """`options` with the PAN-OS rulebase and `--before` rule the configuration says (unless
    --before was given), the ticket's vendor PAN-OS (unless --vendor was given), and the
    proof. Only the PAN-OS options change: a PAN-OS rule name is no other vendor's position."""
    placement = evidence.placement()
    own = options.panos
    changes: dict[str, str | None] = {}
    group = evidence.selection.device_group or _device_group(evidence.policy.context)
    if any(c.panorama for c in evidence.configs):
        changes["device_group"] = own.device_group or group
    safe = placement.rule is not None and _RULE_NAME.fullmatch(placement.rule.ref) is not None
    if own.before is None and placement.rule is not None and safe:
        section = placement.rule.table
        if section.startswith(_DG) and section.endswith(_PRE):
            changes |= {
                "before": placement.rule.ref,
                "device_group": section[len(_DG) : -len(_PRE)],
            }
        elif section == "rulebase":
            changes |= {"before": placement.rule.ref, "device_group": None}
    if own.from_zone == own.to_zone == "any":
        zones = _missing_zones(evidence)
        if zones is not None:  # one zone pair for every missing flow: the rules name it
            changes |= {"from_zone": zones[0], "to_zone": zones[1]}
    placed_panos = replace(own, **changes)  # type: ignore[arg-type]
    ticket = options.ticket
    if ticket.vendor is None:
        ticket = replace(ticket, vendor="panos")
    placed = replace(options, panos=placed_panos, ticket=ticket)
    scope, rulebase = panos.scope(placed_panos)
    where = replace(placement, table=f"{scope}{rulebase}", before=placed_panos.before)
    text = panos.render(plan, placed.shared, placed_panos)[panos.FILENAME]
    return placed, evidence.prove(text, where)


def _missing_zones(evidence: PanosEvidence) -> tuple[str, str] | None:
    """The (from, to) zones of every flow the policy does not admit, when they are one pair."""
    pairs = set()
    for e in evidence.evaluations:
        if e.verdict is Verdict.ADMITTED:
            continue
        zones = dict(e.decision.detail).get("zones", "")
        words = zones.split()
        if len(words) != 4 or "?" in words:
            return None
        pairs.add((words[1], words[3]))
    return pairs.pop() if len(pairs) == 1 else None


def _device_group(context: str) -> str | None:
    first = context.split(" / ", maxsplit=1)[0]
    return first[len(_DG) :] if first.startswith(_DG) else None
