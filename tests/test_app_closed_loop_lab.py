"""The UDP closed loop against real servers (examples/lab-apps.yaml): probe, generate the rules
for the UDP flows that got no answer or were refused, load them into the lab router, probe
again. The firewall gaps are answered afterwards; RADIUS from site2's unique address stays
silent although the change admits it: freeradius's client list leaves it out, which is the
application allow-list finding."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from netaddr import IPAddress, IPNetwork
from support.model import port_list

from auditor.cli.app import main
from auditor.evidence.allowlist import Admitted, allowlist_findings
from auditor.flows.prepare import prepare
from auditor.lab import Lab
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import read_results
from auditor.plan import Plan, make_plan

pytestmark = pytest.mark.lab

SPEC = Path(__file__).resolve().parent.parent / "examples" / "lab-apps.yaml"
APPS = "203.0.113.20"
SITE1, SHARED, SITE2 = "198.51.100.11", "198.51.100.10", "198.51.100.12"


@pytest.fixture
def lab() -> Iterator[Lab]:
    the_lab = Lab(SPEC, prefix=f"i12c{os.getpid() % 10000}")
    try:
        the_lab.down()
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


def probe(lab: Lab, out: Path) -> list[ProbeRecord]:
    done = lab.exec(
        [sys.executable, "-m", "auditor", "probe", str(lab.inventory_path()), "-o", str(out),
         "--timeout", "1", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.exists(), done.stderr
    return list(read_results(out).records)


def udp(records: list[ProbeRecord]) -> dict[tuple[str, int], Status]:
    return {(r.source, r.port): r.status for r in records if r.protocol == "udp"}


def test_udp_gaps_get_rules_in_every_format_and_are_answered_after_the_change(
    lab: Lab, tmp_path: Path
) -> None:
    before = udp(probe(lab, tmp_path / "before.json"))
    assert before[(SITE1, 1812)] is Status.RADIUS_ANSWERED
    assert before[(SITE2, 53)] is Status.NO_ANSWER  # the router drops it
    assert before[(SHARED, 123)] is Status.REFUSED  # the router rejects it
    assert before[(SITE2, 1812)] is Status.NO_ANSWER  # admitted, but not a RADIUS client
    assert before[(SITE1, 514)] is Status.UNTESTED  # syslog over UDP: nothing can prove it

    out = tmp_path / "rules"
    code = main(
        ["rules", str(lab.inventory_path()), "--results", str(tmp_path / "before.json"),
         "--only-proven", "--format", "all", "-o", str(out)]
    )  # fmt: skip
    assert code == 1
    # Every format admits the silent and refused UDP flows (and nothing for syslog: untested).
    for name in ("iptables.rules", "nftables.nft", "pf.conf", "change-request.csv", "ticket.md"):
        text = (out / name).read_text()
        assert "udp" in text and "1812" in text and "123" in text and "53" in text, name
        assert name == "ticket.md" or "514" not in text, name
    ticket = (out / "ticket.md").read_text()
    assert "client list must hold" in ticket
    assert all(a in ticket for a in (SITE1, SHARED, SITE2))

    lab.apply(out / "iptables.rules")
    lab.apply(out / "iptables.jump.rules")
    records = probe(lab, tmp_path / "after.json")
    after = udp(records)
    assert after[(SITE2, 53)] is Status.DNS_ANSWERED
    assert after[(SHARED, 123)] is Status.NTP_ANSWERED
    assert after[(SITE2, 123)] is Status.NTP_ANSWERED
    # The change admits it and the server is still silent: not the firewall.
    assert after[(SITE2, 1812)] is Status.NO_ANSWER

    prepared = prepare(lab.inventory_path())
    before_records = read_results(tmp_path / "before.json").records
    plan = make_plan(prepared.flows, before_records, site=prepared.inventory.site.name,
                     only_proven=True)  # fmt: skip
    findings = allowlist_findings(records, admitted_by_plan(plan), "admitted by the change")
    assert [(f.provider, f.port, f.ignored, f.answered) for f in findings] == [
        ("lab-radius", 1812, (SITE2,), (SHARED, SITE1))
    ]
    assert "client list" in findings[0].message and SITE2 in findings[0].message


def admitted_by_plan(plan: Plan) -> Admitted:
    """The flows an applied change admits: what a plan's rules accept."""

    def admits(record: ProbeRecord) -> bool:
        src, dst = IPAddress(record.source), IPAddress(record.destination)
        return any(
            rule.protocol.value == record.protocol
            and record.port in port_list(rule)
            and any(src in IPNetwork(n) for n in rule.sources)
            and any(dst in IPNetwork(n) for n in rule.destinations)
            for rule in plan.rules
        )

    return admits
