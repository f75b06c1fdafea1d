"""The firewall's own policy as evidence: Linux rulesets (auditor.ruleset) or a vendor
configuration (PAN-OS), told apart by the files' content. One entry point for `evaluate`,
`rules` and `audit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import UsageError
from auditor.model.inventory import Flow
from auditor.policy.panos.flows import is_panos, judge_flows, read_policy
from auditor.policy.panos.proof import PanosEvidence
from auditor.policy.panos.read import Selection
from auditor.ruleset.evidence import RulesetEvidence, ruleset_evidence, ruleset_records

FirewallEvidence = RulesetEvidence | PanosEvidence


@dataclass(frozen=True, slots=True)
class PanosOptions:
    """--panos-vsys, --panos-device-group, --from-zone/--to-zone (None or `any`: from the
    routes), --resolve (FQDN address objects)."""

    vsys: str | None = None
    device_group: str | None = None
    from_zone: str | None = None
    to_zone: str | None = None
    resolve: bool = False


def split_vendor(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(PAN-OS configuration files, the others), told apart by their content."""
    vendor: list[Path] = []
    linux: list[Path] = []
    for path in dict.fromkeys(paths):
        head = b""
        if path.is_file():  # anything else is refused, with its reason, by the reader
            with path.open("rb") as handle:
                head = handle.read(4096)
        (vendor if is_panos(head) else linux).append(path)
    return vendor, linux


def firewall_evidence(
    flows: Sequence[Flow],
    *,
    ruleset: Sequence[Path],
    ipset: Sequence[Path],
    ruleset_hook: str,
    in_interface: str | None,
    out_interface: str | None,
    panos: PanosOptions | None = None,
    local_address: Sequence[str] = (),
    local_addresses: Path | None = None,
    source_ports: str = "",
) -> FirewallEvidence | None:
    """The firewall's record for each flow; None when no --ruleset was given. An on-link flow
    (one connected subnet, no firewall between) is not evaluated."""
    if not ruleset:
        return None
    flows = [f for f in flows if not f.on_link]
    vendor, linux = split_vendor(ruleset)
    if not vendor:
        return ruleset_evidence(
            flows,
            ruleset=ruleset,
            ipset=ipset,
            ruleset_hook=ruleset_hook,
            in_interface=in_interface,
            out_interface=out_interface,
            local_address=local_address,
            local_addresses=local_addresses,
            source_ports=source_ports,
        )
    if linux or ipset:
        given = ", ".join(map(str, (*linux, *ipset)))
        raise UsageError(
            f"--ruleset {vendor[0]} is a PAN-OS configuration and {given} a Linux ruleset: "
            "they are different firewalls, evaluate them in separate runs"
        )
    options = panos or PanosOptions()
    selection = Selection(options.vsys, options.device_group, options.resolve)
    configs, policy = read_policy(vendor, selection)
    from_zone = options.from_zone if options.from_zone not in (None, "any") else None
    to_zone = options.to_zone if options.to_zone not in (None, "any") else None
    evaluations = judge_flows(policy, flows, from_zone=from_zone, to_zone=to_zone)
    records = ruleset_records(evaluations, origin=", ".join(map(str, vendor)))
    return PanosEvidence(configs, selection, policy, evaluations, records, from_zone, to_zone)
