"""Missing-rule analysis: classify every required flow against its evidence (`classify`), then
fold the flows that need a rule into as few exact rules as possible (`aggregate`), each with
the sentence that justifies it (`justify`). The data it returns is in `model`."""

from auditor.plan.aggregate import merge_addresses, port_chunks
from auditor.plan.classify import make_plan
from auditor.plan.justify import status_text
from auditor.plan.model import (
    EVIDENCE_SAMPLE,
    MULTIPORT_SLOTS,
    AppFailure,
    FlowEvidence,
    Plan,
    PlanCounts,
    PlannedRule,
    PortRange,
    RuleStatus,
    SourceInfo,
)

__all__ = [
    "EVIDENCE_SAMPLE",
    "MULTIPORT_SLOTS",
    "AppFailure",
    "FlowEvidence",
    "Plan",
    "PlanCounts",
    "PlannedRule",
    "PortRange",
    "RuleStatus",
    "SourceInfo",
    "make_plan",
    "merge_addresses",
    "port_chunks",
    "status_text",
]
