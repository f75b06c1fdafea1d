"""The application allow-list finding, end to end: `auditor audit --ruleset` in the lab of real
servers (examples/lab-apps.yaml). freeradius's client list leaves out site2's unique address
while the router's ruleset admits the whole pair to UDP 1812: the audit names that address, in
every report, in JUnit and in the exit code. With every address in the client list, no
finding."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.lab import Lab

pytestmark = pytest.mark.lab

SPEC = Path(__file__).resolve().parent.parent / "examples" / "lab-apps.yaml"
SITE1, SHARED, SITE2 = "198.51.100.11", "198.51.100.10", "198.51.100.12"
LEFT_OUT = "radius_clients: [198.51.100.11, 198.51.100.10]"


@dataclass(frozen=True)
class Audited:
    code: int
    stdout: str
    folder: Path

    def read(self, name: str) -> str:
        return (self.folder / name).read_text()


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[object]:
    labs: list[Lab] = []

    def up(spec: Path, name: str) -> Lab:
        lab = Lab(spec, prefix=f"ia{name}{os.getpid() % 10000}")
        labs.append(lab)
        lab.down()
        lab.up()
        return lab

    try:
        yield up
    finally:
        for lab in labs:
            lab.down()


def audit_with_ruleset(lab: Lab, out: Path) -> Audited:
    """The router's live ruleset as evidence, then an audit from the probe namespace."""
    saved = lab.exec(
        ["iptables-save"], namespace=lab.router_ns, capture_output=True, text=True, check=True
    )
    ruleset = out.parent / f"{out.name}-router.rules"
    ruleset.write_text(saved.stdout)
    done = lab.exec(
        [sys.executable, "-m", "auditor", "audit", str(lab.inventory_path()), "-o", str(out),
         "--no-store", "--timeout", "1", "--ruleset", str(ruleset)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert (out / "run.json").exists(), done.stderr
    return Audited(done.returncode, done.stdout, out)


def test_audit_names_the_address_the_radius_client_list_leaves_out(
    make_lab: object, tmp_path: Path
) -> None:
    assert LEFT_OUT in SPEC.read_text()  # the lab this test relies on
    lab = make_lab(SPEC, "a")  # type: ignore[operator]
    result = audit_with_ruleset(lab, tmp_path / "report")

    assert result.code == 1  # a finding
    run = json.loads(result.read("run.json"))
    assert run["verdict"] == "findings"
    (finding,) = run["allowlist"]
    assert (finding["provider"], finding["protocol"], finding["port"]) == (
        "lab-radius",
        "udp",
        1812,
    )
    assert finding["ignored"] == [SITE2]
    assert finding["answered"] == [SHARED, SITE1]
    assert finding["check"] == "radius" and "router.rules" in finding["evidence"]

    # The text summary, both reports and JUnit carry it, naming the server, port and address.
    line = next(x for x in result.stdout.splitlines() if "allow-list:" in x)
    assert "203.0.113.20 udp/1812 (lab-radius)" in line and f"ignores {SITE2}" in line
    assert "client list must hold every appliance address" in line
    markdown = result.read("report.md")
    section = markdown.split("## Servers that ignore some of the pair's addresses")[1]
    section = section.split("\n## ")[0]
    assert "203.0.113.20 udp/1812 (lab-radius)" in section and f"**{SITE2}**" in section
    html = result.read("report.html")
    assert 'id="allowlist"' in html and f'<td class="st failing">{SITE2}</td>' in html
    root = ET.fromstring(result.read("junit.xml"))
    (case,) = root.findall(".//testcase[@classname='application-allow-list']")
    failure = case.find("failure")
    assert failure is not None and SITE2 in failure.get("message", "")
    assert SITE1 not in failure.get("message", "").split("ignores")[1]


def test_no_finding_when_the_server_answers_every_address(make_lab: object, tmp_path: Path) -> None:
    every = SPEC.read_text().replace(LEFT_OUT, f"radius_clients: [{SITE1}, {SHARED}, {SITE2}]")
    spec = tmp_path / "lab-apps-all-clients.yaml"
    spec.write_text(every)
    inventory = SPEC.with_name("lab-apps-inventory.yaml")  # the lab file names it relatively
    (tmp_path / inventory.name).write_text(inventory.read_text())
    lab = make_lab(spec, "b")  # type: ignore[operator]
    result = audit_with_ruleset(lab, tmp_path / "report")

    run = json.loads(result.read("run.json"))
    radius = {r["source"]: r["status"] for r in run["records"] if r["check"] == "radius"}
    assert radius == dict.fromkeys((SITE1, SHARED, SITE2), "radius-answered")
    assert "allowlist" not in run
    assert "allow-list:" not in result.stdout
    assert "Servers that ignore" not in result.read("report.md")
    root = ET.fromstring(result.read("junit.xml"))
    assert root.findall(".//testcase[@classname='application-allow-list']") == []
