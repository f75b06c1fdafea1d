"""Read a firewall's real ruleset (iptables-save, ip6tables-save, ipset save, nft -j) and
evaluate what it does with a new connection: admitted, denied, or unknown with the reason."""

from auditor.ruleset.evaluate import evaluate
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows, packet_of
from auditor.ruleset.load import detect_kind, read_rulesets
from auditor.ruleset.model import Decision, Hook, Kind, Packet, RuleRef, Ruleset, Verdict

__all__ = [
    "Decision",
    "FlowEvaluation",
    "Hook",
    "Kind",
    "Packet",
    "RuleRef",
    "Ruleset",
    "Verdict",
    "detect_kind",
    "evaluate",
    "evaluate_flows",
    "packet_of",
    "read_rulesets",
]
