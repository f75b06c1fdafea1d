"""What crosses the firewall: a flow between addresses of one connected subnet of the inventory
(the peer link of two appliances on one /24) is on-link. It is still probed and judged, but no
rule is written for it and no ruleset is asked about it; every output says why."""

from __future__ import annotations

from pathlib import Path

from plan_factories import record
from support.cli import auditor
from support.model import fresh_times, port_list

from auditor.flows.prepare import prepare
from auditor.model.record import Status
from auditor.model.results import ResultsDocument, RunMeta, write_results
from auditor.model.verdict import FlowVerdict
from auditor.plan import make_plan

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"
PEER = {
    ("198.51.100.11", "198.51.100.12", "tcp", 443),
    ("198.51.100.12", "198.51.100.11", "tcp", 443),
}


def test_the_peer_link_on_one_subnet_is_on_link_and_nothing_else_is() -> None:
    flows = prepare(EXAMPLE, resolve=False).flows
    assert {f.key for f in flows if f.on_link} == PEER
    assert {f.link for f in flows if f.on_link} == {"198.51.100.0/24"}


def test_an_on_link_flow_gets_no_rule_whatever_its_evidence_and_the_plan_says_why() -> None:
    flows = prepare(EXAMPLE, resolve=False).flows
    blocked = [record(f, Status.FILTERED) for f in flows]
    plan = make_plan(flows, blocked, site="support.example.com")
    assert plan.counts.on_link == 2 and plan.counts.missing == len(flows) - 2
    ruled = {(str(s), str(d)) for r in plan.rules for s in r.sources for d in r.destinations}
    assert not any(pair == ("198.51.100.11/32", "198.51.100.12/32") for pair in ruled)
    assert all(port_list(r) != (443,) for r in plan.rules)
    assert {(e.source, e.destination, e.protocol, e.port) for e in plan.on_link} == PEER
    assert {e.verdict for e in plan.on_link} == {FlowVerdict.ON_LINK}
    assert all("198.51.100.0/24" in e.reason and "no rule" in e.reason for e in plan.on_link)


def test_an_on_link_flow_is_still_probed_and_judged(tmp_path: Path) -> None:
    """A blocked peer link is a finding of the audit (exit 1) though no rule can fix it; the
    report says it is on-link."""
    prepared = prepare(EXAMPLE)
    records = [
        record(f, Status.FILTERED if f.key in PEER else Status.OPEN, check=c.value)
        if i == 0
        else record(f, Status.SKIPPED if f.key in PEER else ok, check=c.value)
        for f in prepared.flows
        for i, (c, ok) in enumerate(
            (c, {"tls": Status.TLS_OK, "ldap-bind": Status.BIND_OK}.get(c.value, Status.OPEN))
            for c in f.checks
        )
    ]
    meta = RunMeta("test", str(EXAMPLE), prepared.inventory.digest, "node",
                   *fresh_times())  # fmt: skip
    write_results(tmp_path / "given.json", ResultsDocument(meta=meta, records=tuple(records)))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     tmp_path / "given.json")  # fmt: skip
    assert result.returncode == 1
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert (
        "on-link (198.51.100.0/24): no firewall between source and destination, no rule" in report
    )
    iptables = (tmp_path / "r" / "rules" / "iptables.rules").read_text(encoding="utf-8")
    assert "--dport 443" not in iptables
    ticket = (tmp_path / "r" / "rules" / "ticket.md").read_text(encoding="utf-8")
    assert "**On-link flows: no rule.**" in ticket


def test_an_on_link_flow_is_not_evaluated_against_a_ruleset(tmp_path: Path) -> None:
    ruleset = tmp_path / "fw.rules"
    ruleset.write_text("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n", encoding="utf-8")
    result = auditor("evaluate", EXAMPLE, "--ruleset", ruleset, "--format", "json")
    assert result.returncode == 0
    assert '"port": 443' not in result.stdout
    assert "2 on-link flow(s) not evaluated" in result.stderr
