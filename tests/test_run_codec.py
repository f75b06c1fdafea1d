"""Run documents handed back by the user (`auditor drift --baseline run.json`): a sound one
reads back whole; a damaged one is refused with one located line per problem, all at once,
exit 2, no traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import report_factories as rf
from support.cli import auditor
from support.readers import read_run_file

from auditor.errors import InputError
from auditor.history.store import Store
from auditor.model import inventory_spec
from auditor.model.findings import AuditRun
from auditor.model.inventory import Site
from auditor.model.rundoc import dumps

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def run_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(dumps(rf.findings_run(ad_days={rf.AD1: 10})))
    return doc


def line_of(path: Path, needle: str) -> int:
    """The line of the first occurrence of `needle` in the file."""
    return next(n for n, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as err:
        read_run_file(path)
    return str(err.value).splitlines()


def hostname_run() -> AuditRun:
    """A run whose first flow kept a provider hostname (--no-resolve)."""
    run = rf.green_run()
    first = replace(run.flows[0], destination="ad.corp.example.com")
    return replace(run, flows=(first, *run.flows[1:]))


@pytest.mark.parametrize("make", [rf.findings_run, rf.green_run, hostname_run])
def test_a_written_run_reads_back_whole(tmp_path: Path, make: Any) -> None:
    run = make()
    path = tmp_path / "run.json"
    path.write_text(dumps(run), encoding="utf-8")
    assert read_run_file(path) == run


def test_every_problem_is_reported_at_once_with_its_line_and_field(tmp_path: Path) -> None:
    doc = run_doc()
    doc["run_id"] = None
    doc["flows"] = None
    doc["records"][0]["status"] = "wide-open"
    doc["records"][1]["source"] = "not-an-ip"
    path = write_doc(tmp_path / "bad-run.json", doc)
    lines = problems(path)
    assert lines == sorted(lines, key=lambda t: int(t.split(":")[1]))
    run_id, flows = line_of(path, '"run_id"'), line_of(path, '"flows"')
    assert f"{path}:{run_id}: run_id: is null (expected a string)" in lines
    assert f"{path}:{flows}: flows: is null (expected a list of flows)" in lines
    status = next(t for t in lines if "records[0].status" in t)
    assert status.startswith(f"{path}:{line_of(path, 'wide-open')}: records[0].status: ")
    assert '"wide-open"' in status and "expected one of open, refused" in status
    source = f"{path}:{line_of(path, 'not-an-ip')}: records[1].source: "
    assert f'{source}is "not-an-ip" (expected an IP address)' in lines
    assert len(lines) == 4
    assert not any("TypeError" in t or "malformed" in t for t in lines)


def test_a_flow_source_that_is_not_an_ip_is_located(tmp_path: Path) -> None:
    doc = run_doc()
    doc["flows"][2]["source"] = "site1.example.com"
    doc["flows"][3]["port"] = 0
    doc["flows"][3]["checks"] = ["tcp", "ping"]
    path = write_doc(tmp_path / "bad-run.json", doc)
    lines = problems(path)
    assert (
        f"{path}:{line_of(path, 'site1.example.com')}: flows[2].source: "
        'is "site1.example.com" (expected an IP address)'
    ) in lines
    assert any(t.endswith("flows[3].port: is 0 (expected a port number 1-65535)") for t in lines)
    assert any('flows[3].checks[1]: is "ping" (expected one of tcp, tls' in t for t in lines)
    assert len(lines) == 3


def test_the_inventory_inside_is_checked_too(tmp_path: Path) -> None:
    doc = run_doc()
    inv = doc["inventory"]
    del inv["pair"]["backup"]
    inv["pair"]["primary"]["addresses"][0]["interface"] = "198.51.100.300/24"
    inv["pair"]["primary"]["addresses"][1]["enabled"] = "yes"
    inv["providers"][0]["ports"] = [{"port": 636, "protocol": "sctp"}]
    inv["site"] = "support.example.com"
    doc["verdict"] = "fine"
    doc["lint"] = [{"rule": "x", "severity": "error"}]
    doc["snippets"] = {"pf.conf": 3}
    path = write_doc(tmp_path / "bad-run.json", doc)
    fields = [t.split(": ", 2)[1] for t in problems(path)]
    assert sorted(fields) == sorted(
        [
            "inventory.pair.backup",
            "inventory.pair.primary.addresses[0].interface",
            "inventory.pair.primary.addresses[1].enabled",
            "inventory.providers[0].ports[0].protocol",
            "inventory.site",
            "verdict",
            "lint[0].message",
            "snippets.pf.conf",
        ]
    )


@dataclass(frozen=True, slots=True)
class OwnedSite(Site):
    """A site model with one more field, as a new `owner:` key of `site:` would need."""

    owner: str | None = None


def test_a_key_added_to_the_definition_is_in_the_run_documents_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy is written and read by the inventory's definition: one more key in a section
    (and its field in the model) is written, read back and checked, with no codec change."""
    site = inventory_spec.SITE
    owner = inventory_spec.Key("owner", inventory_spec.ref("text"), nullable=True, check="text")
    owned = replace(site, keys=(*site.keys, owner), model=OwnedSite)
    sections = tuple(owned if s is site else s for s in inventory_spec.SECTIONS)
    monkeypatch.setattr(inventory_spec, "SECTIONS", sections)
    run = rf.green_run()
    inventory = replace(run.inventory, site=OwnedSite(run.inventory.site.name, owner="netops"))
    run = replace(run, inventory=inventory)
    path = tmp_path / "run.json"
    path.write_text(dumps(run), encoding="utf-8")
    assert json.loads(path.read_text())["inventory"]["site"]["owner"] == "netops"
    assert read_run_file(path) == run
    doc = json.loads(path.read_text())
    doc["inventory"]["site"]["owner"] = 7
    bad = write_doc(tmp_path / "bad-run.json", doc)
    assert [t.split(": ", 2)[1:] for t in problems(bad)] == [
        ["inventory.site.owner", "is 7 (expected a string)"]
    ]


def test_the_top_level_must_be_a_run_document(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"format": "auditor-run", "run_id": ', encoding="utf-8")
    assert problems(path) == [f"{path}:1: not valid JSON: Expecting value (column 37)"]
    path.write_text("[1, 2]", encoding="utf-8")
    assert "not an audit run document" in problems(path)[0]


def test_drift_with_a_damaged_baseline_exits_2_one_line_per_problem(tmp_path: Path) -> None:
    store = tmp_path / "history.sqlite"
    Store(store).save_run(rf.findings_run())
    doc = run_doc()
    doc["flows"] = None
    doc["run_id"] = None
    doc["records"][0]["status"] = "wide-open"
    bad = write_doc(tmp_path / "bad-run.json", doc)
    done = auditor(
        "drift", str(EXAMPLE), "--store", str(store), "--baseline", str(bad), cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 3 and all(t.startswith(f"error: {bad}:") for t in lines)
    assert any(": flows: is null (expected a list of flows)" in t for t in lines)
    assert "Traceback" not in done.stderr


def test_a_live_state_the_auditor_cannot_read_is_located(tmp_path: Path) -> None:
    """The live state is read back typed (`model.livestate.LiveState`): every field of it is
    checked, each problem at its line."""
    doc = run_doc()
    doc["live_state"] = {"verdict": {"status": 3}, "findings": [1], "appliances": "anything"}
    path = write_doc(tmp_path / "bad-run.json", doc)
    assert [t.split(": ", 1)[1] for t in problems(path)] == [
        "live_state.inventory: missing (expected a string)",
        "live_state.site: missing (expected a string)",
        "live_state.asked_at: missing (expected an RFC 3339 date-time such as "
        "2026-11-30T08:15:00Z, or empty)",
        'live_state.appliances: is "anything" (expected a list of appliance answers)',
        "live_state.findings[0]: is 1 (expected an object: a state finding)",
        "live_state.verdict.failover_state: missing (expected one of primary-active, "
        "backup-active or null)",
        "live_state.verdict.errors: missing (expected a count)",
        "live_state.verdict.warnings: missing (expected a count)",
        "live_state.verdict.status: is 3 (expected one of primary-active, backup-active, "
        "split-brain, unknown)",
    ]
