"""Both junit.xml files (a pair's audit, the fleet report) are valid against the strict Ant
JUnit schema as published (tests/junit/JUnit.xsd, Windy Road's, Apache-2.0: its source in
its header), not only readable by junitparser: testsuite `hostname`, `time`, `id`,
`package`, a timestamp without a zone, `properties`/`system-out`/`system-err`, at most one
result per testcase, no attribute on `testsuites`. What GitLab and Jenkins read stays: the
suites, testcase names and classnames, failure/error/skipped with their type and message."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import report_factories as rf
import xmlschema
from fleet_support import PAIR, results_for
from junitparser import Failure, JUnitXml
from support.cli import auditor

from auditor.fleet.page import fleet_junit
from auditor.fleet.summary import FleetSummary
from auditor.report.junit import render_junit

SCHEMA = Path(__file__).parent / "junit" / "JUnit.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def errors(schema: xmlschema.XMLSchema, text: str) -> list[str]:
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(text)]


def test_the_schema_is_strict_enough_to_fail_what_junit_xml_was(schema) -> None:
    """The schema catches what the reviewer saw: no hostname/time/id, a `Z` timestamp."""
    old = (
        '<testsuites name="fleet"><testsuite name="a" tests="1" failures="0" errors="0" '
        'skipped="0" timestamp="2026-12-07T00:26:00Z"><testcase classname="a" name="verdict"/>'
        "</testsuite></testsuites>"
    )
    found = " ".join(errors(schema, old))
    for word in ("name", "hostname", "timestamp", "properties"):
        assert word in found, found


@pytest.mark.parametrize(
    "run",
    [
        rf.findings_run(),
        rf.green_run(),
        rf.green_run(run_id="u1", accept_unverified=""),  # unproven: one more suite
        rf.green_run(lint=(rf.lint_finding("error"), rf.lint_finding("warning", "w <&>"))),
        rf.green_run(lint=(rf.lint_finding("error", '<x a="1">&\x00\x1b]0;t\x07</x>'),)),
    ],
)
def test_a_pairs_junit_xml_is_valid(schema, run, tmp_path) -> None:
    text = render_junit(run)
    assert errors(schema, text) == []
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.hostname for s in suites] and all(
        s.timestamp == "2026-11-24T01:00:00" for s in suites
    )
    assert [int(s._elem.get("id")) for s in suites] == list(range(len(suites)))


def test_a_lint_warning_is_kept_in_its_suites_output(schema) -> None:
    run = rf.green_run(lint=(rf.lint_finding("warning", "site_instance_ip is not set"),))
    root = ET.fromstring(render_junit(run))
    lint = next(s for s in root if s.get("name") == "inventory-lint")
    assert "warning: " in (lint.findtext("system-out") or "")
    assert "site_instance_ip is not set" in (lint.findtext("system-out") or "")
    props = {p.get("name"): p.get("value") for p in lint.iter("property")}
    assert props["verdict"] == run.verdict.value and props["started_at"] == run.started_at


def test_the_fleet_junit_xml_is_valid_for_every_verdict_and_an_empty_store(
    schema, tmp_path, monkeypatch
):
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "unused: gamma's site is never reached")
    fleet = tmp_path / "fleet.yaml"
    lines = ["sites:", "  - name: east", "    pairs:"]
    for name, outcome in (("alpha", rf.everywhere_good), ("beta", rf.classic_gap)):
        inv = tmp_path / f"{name}.yaml"
        inv.write_text(PAIR.read_text().replace("support.example.com", f"{name}.example.com"))
        results_for(inv, tmp_path / f"{name}.json", outcome)
        lines += [f"      - inventory: {name}.yaml", f"        evidence: {name}.json"]
    lines += ["  - name: west", "    probe_host: ssh://auditor@127.0.0.1:1",
              f"    known_hosts: {fleet}", "    pairs:",
              "      - inventory: gamma.yaml"]  # fmt: skip
    (tmp_path / "gamma.yaml").write_text(
        PAIR.read_text().replace("support.example.com", "gamma.example.com")
    )
    fleet.write_text("\n".join(lines) + "\n")
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "out", "--store",
                     tmp_path / "h.sqlite", "-q", "--site-timeout", "10")  # fmt: skip
    assert result.returncode == 3, result.stderr  # gamma's site cannot be reached
    text = (tmp_path / "out" / "junit.xml").read_text()
    assert errors(schema, text) == []
    xml = JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"east/alpha.example.com", "east/beta.example.com",
                           "west/gamma.example.com"}  # fmt: skip
    beta = {c.name: c for c in suites["east/beta.example.com"]}
    assert isinstance(beta["verdict"].result[0], Failure)
    assert suites["west/gamma.example.com"].errors >= 1
    assert {s._elem.get("package") for s in suites.values()} == {"east", "west"}
    # a store with no pair: one suite with one error, valid too
    empty = FleetSummary(store="sqlite:///none", pairs=())
    assert errors(schema, fleet_junit(empty, now="2026-12-07T00:00:00")) == []
    assert errors(schema, fleet_junit(empty)) == []
