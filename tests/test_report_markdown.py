"""The Markdown report carries the HTML report's content, safe to paste in a ticket."""

from __future__ import annotations

import report_factories as rf

from auditor.history.drift import compare
from auditor.report.markdown import render_markdown


def test_the_markdown_report_matches_the_golden_file() -> None:
    base = rf.green_run(run_id="nightly-1", started_at="2026-11-23T01:00:00+00:00")
    run = rf.findings_run(run_id="nightly-2")
    rf.check_golden("report.md", render_markdown(run, compare(base, run)))


def test_it_carries_the_same_sections_as_the_html_report() -> None:
    md = render_markdown(rf.findings_run())
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Verdict",
        "## The pair and its providers",
        "## Flow matrix: source address x provider",
        "## Flows that are not ok",
        "## Certificates",
        "## Live state of the pair",
        "## Inventory lint",
        "## Missing rules",
        "## Drift since the baseline",
    ]
    assert "**FINDINGS** (exit code 1)" in md
    assert "| 198.51.100.11 (unique: site1 (enabled)) | ✘ filtered, skipped, skipped |" in md
    assert "**12 (under 30 days)**" in md


def test_hostile_strings_cannot_break_tables_or_inject_html() -> None:
    hostile = "a|b <img src=x onerror=alert(1)> `code` [link](http://evil)"
    run = rf.findings_run(
        inv=rf.inventory(description=hostile), lint=(rf.lint_finding("error", hostile),)
    )
    md = render_markdown(run)
    assert "<img" not in md
    lint_rows = [line for line in md.splitlines() if "shared-ip-single-owner" in line]
    # Five columns: the escaped pipe inside the message does not add one.
    assert lint_rows and lint_rows[0].replace("\\|", "").count("|") == 6


def test_a_snippet_with_backtick_fences_inside_keeps_its_own_fence() -> None:
    md = render_markdown(rf.findings_run())
    assert "````\n# Change request\n\n```\nfenced inside\n```\n````" in md


def test_no_baseline_says_so() -> None:
    assert "No baseline was given" in render_markdown(rf.findings_run())
