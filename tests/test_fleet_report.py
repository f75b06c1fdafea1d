"""The fleet report: from a store of several runs per pair, per pair the verdict, since when,
the last green run, the flows not ok, drift that matters, the trend (pandas) and a link to its
report; fleet.json and junit.xml agree; the page renders in a real headless Chromium with no
console error, and every link resolves."""

from __future__ import annotations

import json
from pathlib import Path

import report_factories as rf
from fleet_support import PAIR, next_second, results_for
from junitparser import JUnitXml
from support.browser import Browser
from support.cli import auditor

from auditor.history.store import Store


def fleet_with_history(tmp_path: Path) -> tuple[Path, Path]:
    """Two pairs: alpha green then broken (drift that matters), beta green twice."""
    inv_a, inv_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    text = PAIR.read_text()
    inv_a.write_text(text.replace("name: support.example.com", "name: alpha.example.com"))
    inv_b.write_text(text.replace("name: support.example.com", "name: beta.example.com"))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "sites:\n"
        "  - name: east\n    pairs:\n      - inventory: a.yaml\n        evidence: a.json\n"
        "  - name: west\n    pairs:\n      - inventory: b.yaml\n        evidence: b.json\n"
    )
    store = tmp_path / "h.sqlite"
    results_for(inv_b, tmp_path / "b.json", rf.everywhere_good)
    for night, outcome in enumerate((rf.everywhere_good, rf.classic_gap)):
        next_second()
        results_for(inv_a, tmp_path / "a.json", outcome)
        result = auditor(
            "fleet", "run", fleet, "-o", tmp_path / f"night{night}", "--store", store, "-q"
        )
        assert (
            result.returncode == night
        )  # first night all green (0), second alpha has findings (1)
    return store, tmp_path / "night1"


def test_the_fleet_report_says_per_pair_what_operations_needs(tmp_path) -> None:
    store, night = fleet_with_history(tmp_path)
    doc = json.loads((night / "fleet.json").read_text())
    assert (doc["verdict"], doc["exit_code"]) == ("findings", 1)
    pairs = {p["pair"]: p for p in doc["pairs"]}
    alpha, beta = pairs["alpha.example.com"], pairs["beta.example.com"]
    runs = Store(store).list_runs("alpha.example.com")
    assert alpha["group"] == "east" and alpha["verdict"] == "findings"
    assert alpha["since"] == runs[1].started_at and alpha["last_green"] == runs[0].started_at
    assert (alpha["blocked"], alpha["failing"]) == (
        runs[1].counts["blocked"],
        runs[1].counts["failed"],
    )
    assert alpha["blocked"] > 0
    assert alpha["drift_measured"] and any(d["kind"] == "newly-blocked" for d in alpha["drift"])
    assert len(alpha["trend"]) == 2 and alpha["trend"][0] > alpha["trend"][1]
    assert alpha["report_html"] == "east/alpha.example.com/report.html"
    assert {p["outcome"] for p in alpha["problems"]} <= {"blocked", "failing", "unverified"}
    assert beta["verdict"] == "compliant" and beta["drift"] == [] and beta["drift_measured"]
    # one test suite per pair, the verdict and the drift as test cases
    xml = JUnitXml.fromfile(str(night / "junit.xml"))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"east/alpha.example.com", "west/beta.example.com"}
    assert suites["east/alpha.example.com"].failures >= 2  # the verdict, the drift, flows
    assert suites["west/beta.example.com"].failures == 0
    # `fleet report` from the store alone shows the same pairs
    out = tmp_path / "again"
    result = auditor("fleet", "report", "--store", store, "-o", out)
    assert result.returncode == 1
    again = json.loads((out / "fleet.json").read_text())
    assert [p["verdict"] for p in again["pairs"]] == ["findings", "compliant"]
    assert again["pairs"][0]["report_html"] == "../night1/east/alpha.example.com/report.html"


def test_the_page_renders_in_chromium_without_console_errors_and_every_link_resolves(
    tmp_path, browser: Browser
) -> None:
    _, night = fleet_with_history(tmp_path)
    index = night / "index.html"
    page = browser.load(index.as_uri())
    assert page.error == "" and page.console_errors == []
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('tr.pair')).map(r => [r.dataset.pair, "
        "r.children[2].textContent, r.querySelectorAll('svg polyline').length])"
    )
    assert rows == [["alpha.example.com", "findings", 1], ["beta.example.com", "compliant", 1]]
    links = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)")
    assert len(links) == 2
    for link in links:
        assert Path(link.removeprefix("file://")).is_file(), link
        followed = browser.load(link)
        assert followed.error == "" and followed.console_errors == [], link
        title = browser.evaluate("document.title")
        assert "alpha" in title or "beta" in title


def test_a_store_without_pairs_fails_the_pipeline_through_junit_too(tmp_path) -> None:
    """A store that holds no pair (a wrong --store path, an empty database) is no green
    fleet: exit 3, and junit.xml has an error a CI pipeline fails on (an empty report of no
    tests passes in most of them)."""
    out = tmp_path / "fleet"
    result = auditor("fleet", "report", "--store", tmp_path / "typo.sqlite", "-o", out)
    assert result.returncode == 3
    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 1 and suites[0].errors == 1 and suites[0].tests == 1
    (case,) = list(suites[0])
    assert "no pair has a complete run" in case.result[0].message
    assert json.loads((out / "fleet.json").read_text())["exit_code"] == 3


def test_an_unproven_pair_fails_the_fleet_junit_as_its_own_junit_does(tmp_path) -> None:
    """Evidence for half the flows: nothing wrong found, half unproven (exit 4). The pair's
    own junit.xml fails it; the fleet's must too, or a pipeline goes green on no proof."""
    inv = tmp_path / "a.yaml"
    inv.write_text(PAIR.read_text().replace("name: support.example.com", "name: alpha.example.com"))
    seen: list[int] = []

    def half(flow):  # type: ignore[no-untyped-def]
        seen.append(1)
        return rf.everywhere_good(flow) if len(seen) % 2 else None

    results_for(inv, tmp_path / "a.json", half)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n  - name: east\n    pairs:\n      - inventory: a.yaml\n"
                     "        evidence: a.json\n")  # fmt: skip
    out = tmp_path / "out"
    result = auditor("fleet", "run", fleet, "-o", out, "--store", tmp_path / "h.sqlite", "-q")
    assert result.returncode == 4
    own = JUnitXml.fromfile(str(out / "east" / "alpha.example.com" / "junit.xml"))
    assert sum(s.failures + s.errors for s in own) >= 1
    fleet_xml = JUnitXml.fromfile(str(out / "junit.xml"))
    (suite,) = list(fleet_xml)
    assert suite.failures + suite.errors >= 1
    verdict = next(c for c in suite if c.name == "verdict")
    assert verdict.result and verdict.result[0].type == "unproven"


def test_a_pair_whose_audits_stopped_is_not_green_in_the_fleet_report(tmp_path) -> None:
    """alpha's newest run is compliant but ten days old (its nightly job broke, or it left
    the fleet file): the fleet report must not call the fleet green on it. It is stale,
    counted incomplete (exit 3), in the page, fleet.json and junit.xml; a fresh pair is not."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from auditor.model.results import utc_stamp

    store = Store(tmp_path / "h.sqlite")
    old = utc_stamp(datetime.now(UTC) - timedelta(days=10))
    alpha = rf.green_run(run_id="a1", started_at=old, finished_at=old)
    store.save_run(replace(alpha, site="alpha.example.com"))
    now = utc_stamp(datetime.now(UTC))
    beta = rf.green_run(run_id="b1", started_at=now, finished_at=now)
    store.save_run(replace(beta, site="beta.example.com"))
    out = tmp_path / "fleet"
    result = auditor("fleet", "report", "--store", tmp_path / "h.sqlite", "-o", out)
    assert result.returncode == 3
    doc = json.loads((out / "fleet.json").read_text())
    assert (doc["verdict"], doc["exit_code"]) == ("incomplete", 3)
    pairs = {p["pair"]: p for p in doc["pairs"]}
    assert pairs["alpha.example.com"]["stale"] and not pairs["beta.example.com"]["stale"]
    suites = {s.name: s for s in JUnitXml.fromfile(str(out / "junit.xml"))}
    assert suites["alpha.example.com"].errors == 1 and suites["beta.example.com"].errors == 0
    page = (out / "index.html").read_text()
    assert f"stale: newest run {old}" in page
    assert "INCOMPLETE (exit code 3): 1 compliant, 1 compliant (stale)" in page
    # the age that still counts is the user's to say
    again = auditor("fleet", "report", "--store", tmp_path / "h.sqlite", "-o", out,
                    "--max-age", "11d")  # fmt: skip
    assert again.returncode == 0
    bad = auditor("fleet", "report", "--store", tmp_path / "h.sqlite", "-o", out, "--max-age", "x")
    assert bad.returncode == 2 and "--max-age:" in bad.stderr
