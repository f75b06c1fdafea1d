"""The audit asks the appliances first: the run is labelled with the live failover state, a
split brain is a finding in every report and in JUnit, and a failover between two runs is
drift. The appliances are the fake pair of tests/support/fake_appliance.py over real TLS; the
flows' evidence is a results document (no namespaces needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml
from support.cli import auditor
from support.fake_appliance import (
    ID_ENV,
    SECRET_ENV,
    FakeAppliance,
    inventory_text,
    make_pki,
    scenario,
)
from support.model import fresh_times
from support.readers import read_run_file

from auditor.flows.prepare import prepare
from auditor.model.inventory import Side
from auditor.model.livestate import FailoverRole, PairStatus
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, write_results
from auditor.model.schemas import render

CLIENT_ID = "audit-account-7f3a"
CLIENT_SECRET = "audit-S3cret-Never-Printed-91c2"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)


class Site:
    """A fake appliance pair, its inventory, and a results document with every flow open."""

    def __init__(self, pki: dict[str, Path], directory: Path) -> None:
        self.pki, self.directory = pki, directory
        self.inventory = directory / "pair.yaml"
        self.apps: list[FakeAppliance] = []

    def serve(self, name: str) -> None:
        for app in self.apps:
            app.close()
        first, second = scenario(name, CLIENT_ID, CLIENT_SECRET)
        one = FakeAppliance(first, self.pki["site1"], self.pki["site1_key"])
        two = FakeAppliance(second, self.pki["site2"], self.pki["site2_key"])
        one.__enter__()
        two.__enter__()
        self.apps = [one, two]
        text = inventory_text(one.url, two.url, self.pki["ca"], site="audit.example.com")
        self.inventory.write_text(text, encoding="utf-8")

    def evidence(self) -> Path:
        prepared = prepare(self.inventory)
        records = tuple(
            ProbeRecord(str(f.source), str(f.destination), f.protocol.value, f.port,
                        f.provider, c.value, Status.OPEN, origin="node")
            for f in prepared.flows for c in f.checks
        )  # fmt: skip
        meta = RunMeta("t", str(self.inventory), prepared.inventory.digest, "node",
                       *fresh_times())  # fmt: skip
        path = self.directory / "results.json"
        write_results(path, ResultsDocument(meta, records))
        return path

    def audit(self, out: str, *extra: str) -> int:
        result = auditor("audit", self.inventory, "--evidence", self.evidence(),
                         "-o", self.directory / out, *extra)  # fmt: skip
        printed = result.stdout + result.stderr
        assert CLIENT_SECRET not in printed and CLIENT_ID not in printed
        return result.returncode


@pytest.fixture
def site(pki: dict[str, Path], tmp_path: Path) -> Iterator[Site]:
    s = Site(pki, tmp_path)
    yield s
    for app in s.apps:
        app.close()


def test_a_healthy_pair_labels_the_run_and_stays_compliant(site: Site) -> None:
    site.serve("healthy")
    assert site.audit("r", "--no-store") == 0
    run = json.loads((site.directory / "r" / "run.json").read_text())
    assert run["live_state"]["verdict"]["status"] == "primary-active"
    # Written once, by the codec, from the health check's typed live state; read back typed.
    jsonschema.validate(run, json.loads(render("run")))
    back = read_run_file(site.directory / "r" / "run.json").live_state
    assert back is not None and back.status is PairStatus.PRIMARY_ACTIVE
    roles = [(a.side, a.failover_role) for a in back.appliances]
    assert roles == [(Side.PRIMARY, FailoverRole.PRIMARY), (Side.BACKUP, FailoverRole.BACKUP)]
    assert "**primary-active**" in (site.directory / "r" / "report.md").read_text()


def test_a_split_brain_is_a_finding_in_every_report_and_in_junit(site: Site) -> None:
    site.serve("split-brain")
    assert site.audit("r", "--no-store") == 1
    folder = site.directory / "r"
    assert "split-brain" in (folder / "report.md").read_text()
    assert 'id="live-state"' in (folder / "report.html").read_text()
    junit = JUnitXml.fromfile(str(folder / "junit.xml"))
    state = [s for s in junit if s.name == "pair-live-state"]
    assert state and state[0].failures >= 1


def test_a_failover_between_runs_is_drift_that_matters(site: Site) -> None:
    store = str(site.directory / "h.sqlite")
    site.serve("healthy")
    assert site.audit("first", "--store", store) == 0
    site.serve("failed-over")
    code = site.audit("second", "--store", store, "--baseline", "last-green")
    assert code == 1
    report = (site.directory / "second" / "report.md").read_text()
    assert "failed over between runs" in report
