"""A PAN-OS configuration as `--ruleset` in evaluate, rules and audit, as a user runs them:
verdicts with the deciding rule, zones and the device's own test command; the verdicts as
evidence of method `ruleset` merged with probes (disagreement kept as a conflict); the PAN-OS
change placed before the first denying rule in its rulebase and proven against the parsed
configuration in the ticket."""

from __future__ import annotations

import json
from pathlib import Path

from golden_support import assert_golden
from panos_support import firewall, rule
from support.cli import Result, auditor
from support.model import fresh_times

from auditor.flows.prepare import prepare

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"
FIREWALL = ROOT / "tests" / "panos_data" / "firewall.xml"


def run(*args: str) -> Result:
    return auditor(*args)


def proof_of(ticket: str) -> str:
    return ticket.split("## Proof against the firewall's ruleset", 1)[1].split("\n## ", 1)[0]


def test_evaluate_names_rule_zones_and_the_test_command() -> None:
    proc = run("evaluate", str(EXAMPLE), "--no-resolve", "--ruleset", str(FIREWALL),
               "--format", "json")  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # some flows are denied
    got = {(r["source"], r["destination"], r["port"]): r for r in json.loads(proc.stdout)}
    ok = got[("198.51.100.10", "203.0.113.10", 636)]
    assert (ok["verdict"], ok["rule"]["ref"], ok["rule"]["table"]) == (
        "admitted",
        "ldaps-shared",
        "rulebase",
    )
    assert ok["detail"]["test"] == (
        "test security-policy-match from appliances to directory source 198.51.100.10 "
        "destination 203.0.113.10 protocol 6 destination-port 636"
    )
    ntp = got[("198.51.100.11", "203.0.113.30", 123)]
    assert (ntp["verdict"], ntp["action"], ntp["rule"]["ref"]) == (
        "denied",
        "reset-client",
        "no-ntp",
    )
    radius = got[("198.51.100.12", "203.0.113.20", 1812)]
    assert (radius["verdict"], radius["rule"]["ref"]) == ("admitted", "radius")  # application table
    default = got[("198.51.100.11", "203.0.113.10", 636)]
    assert (default["verdict"], default["rule"]["ref"]) == ("denied", "interzone-default")


def test_evaluate_zone_overrides_and_bad_input(tmp_path: Path) -> None:
    proc = run("evaluate", str(EXAMPLE), "--no-resolve", "--ruleset", str(FIREWALL),
               "--from-zone", "outside", "--to-zone", "outside", "--format", "json")  # fmt: skip
    records = json.loads(proc.stdout)
    assert {r["rule"]["ref"] for r in records} == {"intrazone-default"}
    assert proc.returncode == 0  # intrazone-default allows every flow
    bad = tmp_path / "bad.xml"
    bad.write_text(firewall([rule("r", "permit")]))
    proc = run("evaluate", str(EXAMPLE), "--no-resolve", "--ruleset", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "bad.xml:29: rule r action: 'permit' (expected allow, deny, drop, reset-client, "
        "reset-server, reset-both)"
    )
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_mixing_a_panos_configuration_and_a_linux_ruleset_is_refused(tmp_path: Path) -> None:
    linux = tmp_path / "fw.rules"
    linux.write_text("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n")
    proc = run("evaluate", str(EXAMPLE), "--no-resolve", "--ruleset", str(FIREWALL),
               "--ruleset", str(linux))  # fmt: skip
    assert proc.returncode == 2 and "different firewalls" in proc.stderr


def test_rules_places_the_change_before_the_first_denying_rule_and_proves_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "change"
    proc = run("rules", str(EXAMPLE), "--no-resolve", "--ruleset", str(FIREWALL),
               "--format", "all", "-o", str(out))  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # rules were needed
    assert "NOT proven" not in proc.stderr
    commands = (out / "panos.set").read_text()
    moves = [line for line in commands.splitlines() if line.startswith("move ")]
    assert moves and all(line.endswith(" before no-ntp") for line in moves)
    ticket = (out / "ticket.md").read_text()
    proof = proof_of(ticket)
    assert proof.startswith("\n\n**Proven.**")
    assert "`move rulebase security rules RULE before no-ntp`" in proof
    assert "after: 12 of 12" in proof and "0 opened by the change" in proof  # 2 on-link
    # the ticket shows the PAN-OS change itself (its vendor), with the device's test commands
    assert "Palo Alto Networks PAN-OS" in ticket and "test security-policy-match" in ticket


PANORAMA = """<config version="10.1.0">
<shared><pre-rulebase><security><rules>{shared}</rules></security></pre-rulebase></shared>
<devices><entry name="localhost.localdomain"><device-group><entry name="dc">
<pre-rulebase><security><rules>{pre}</rules></security></pre-rulebase>
</entry></device-group></entry></devices>
</config>
"""


def test_a_device_group_deny_gets_the_change_in_that_rulebase_a_shared_one_is_not_proven(
    tmp_path: Path,
) -> None:
    panorama = tmp_path / "panorama.xml"
    panorama.write_text(
        PANORAMA.format(
            shared="", pre=rule("no-ntp", "drop", service="any", destination="203.0.113.30")
        )
    )
    args = ("rules", str(EXAMPLE), "--no-resolve", "--ruleset", str(panorama),
            "--panos-device-group", "dc", "--from-zone", "a", "--to-zone", "b",
            "--format")  # fmt: skip
    proc = run(*args, "panos")
    assert proc.returncode == 1, proc.stderr
    assert "move device-group dc pre-rulebase security rules " in proc.stdout
    assert proc.stdout.rstrip().endswith("before no-ntp")
    assert "NOT proven" not in proc.stderr
    # the same deny in the shared pre-rulebase comes before every device-group rule
    panorama.write_text(
        PANORAMA.format(pre="", shared=rule("no-ntp", "drop", destination="203.0.113.30"))
    )
    proc = run(*args, "ticket")
    assert "warning: the change is NOT proven" in proc.stderr
    assert "**NOT PROVEN" in proof_of(proc.stdout)
    assert "shared pre-rulebase security no-ntp: action drop" in proc.stdout


def test_audit_merges_the_panos_verdicts_with_given_evidence(tmp_path: Path) -> None:
    from auditor.model.record import Method, ProbeRecord, Status
    from auditor.model.results import ResultsDocument, RunMeta, read_results, write_results

    prepared = prepare(EXAMPLE)
    records = []
    for flow in prepared.flows:
        for check in flow.checks:
            pair = (str(flow.source), str(flow.destination))
            blocked = pair == ("198.51.100.10", "203.0.113.10")
            status = Status.FILTERED if blocked and check.value == "tcp" else Status.NOT_LOCAL
            records.append(ProbeRecord(str(flow.source), str(flow.destination),
                                       flow.protocol.value, flow.port, flow.provider,
                                       check.value, status, origin="node"))  # fmt: skip
    meta = RunMeta("test", str(EXAMPLE), prepared.inventory.digest, "node",
                   *fresh_times())  # fmt: skip
    document = tmp_path / "given.json"
    write_results(document, ResultsDocument(meta=meta, records=tuple(records)))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     document, "--ruleset", FIREWALL)  # fmt: skip
    assert result.returncode == 1
    written = {(r.key, r.check): r for r in read_results(tmp_path / "r" / "results.json").records}
    conflict = written[(("198.51.100.10", "203.0.113.10", "tcp", 636), "tcp")]
    assert conflict.status is Status.CONFLICT and "open (ruleset from" in conflict.reason
    refused = written[(("198.51.100.11", "203.0.113.30", "udp", 123), "udp")]
    assert (refused.status, refused.method) == (Status.REFUSED, Method.RULESET)
    assert "no-ntp" in refused.reason
    ticket = (tmp_path / "r" / "rules" / "ticket.md").read_text()
    assert "**Proven.**" in proof_of(ticket)


def test_the_panos_proof_section_golden(tmp_path: Path) -> None:
    """The ticket's proof section for PAN-OS, byte for byte: the placement and why, the counts,
    the newly admitted flows (relative paths keep it free of this machine's folders)."""
    import shutil

    shutil.copy(FIREWALL, tmp_path / "fw.xml")
    shutil.copy(EXAMPLE, tmp_path / "pair.yaml")
    proc = auditor("rules", "pair.yaml", "--no-resolve", "--ruleset", "fw.xml", "--format",
                   "ticket", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert_golden("ruleset/ticket-panos-proof.md", proof_of(proc.stdout))


def test_before_given_is_kept_and_shown_and_still_proven() -> None:
    proc = run("rules", str(EXAMPLE), "--no-resolve", "--ruleset", str(FIREWALL),
               "--before", "radius", "--vendor", "panos", "--format", "ticket")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    proof = proof_of(proc.stdout)
    assert "`move rulebase security rules RULE before radius`" in proof
    assert "**Proven.**" in proof
