"""The HTML report: self-contained, escaped, deterministic, and readable in a real browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import report_factories as rf
from support.browser import Browser

from auditor.history.drift import compare
from auditor.report.html import render_drift_html, render_html

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def baseline_and_findings() -> tuple[str, str]:
    base = rf.green_run(run_id="nightly-1", started_at="2026-11-23T01:00:00+00:00")
    run = rf.findings_run(run_id="nightly-2")
    return render_html(run, compare(base, run)), render_html(run)


def test_the_html_report_matches_the_golden_file() -> None:
    with_drift, _ = baseline_and_findings()
    rf.check_golden("report.html", with_drift)


def test_the_same_run_renders_to_the_same_bytes() -> None:
    assert baseline_and_findings() == baseline_and_findings()


def test_the_verdict_comes_before_everything_else() -> None:
    html = render_html(rf.findings_run())
    body = html[html.index("<main>") :]
    order = [
        body.index(marker)
        for marker in (
            'id="verdict"',
            'id="diagram"',
            'id="matrix"',
            'id="certificates"',
            'id="lint"',
            'id="missing-rules"',
            'id="drift"',
        )
    ]
    assert order == sorted(order)
    assert "FINDINGS (exit code 1)" in html


def test_it_fetches_nothing_and_needs_no_script() -> None:
    html = render_html(rf.findings_run())
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(" not in html
    assert "<svg" in html and "<style>" in html


def test_hostile_inventory_strings_are_escaped() -> None:
    inv = rf.inventory(description=HOSTILE, ad_name=f"ad{HOSTILE}")
    run = rf.findings_run(
        inv=inv,
        lint=(rf.lint_finding("error", HOSTILE),),
        snippets={"x</pre><script>.txt": HOSTILE},
    )
    html = render_html(run)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_the_certificate_table_warns_under_30_days() -> None:
    html = render_html(rf.findings_run(ad_days={rf.AD1: 200, rf.AD2: 12}))
    assert "12 (under 30 days)" in html
    assert "200</td>" in html


def test_missing_rules_carry_their_snippets() -> None:
    html = render_html(rf.findings_run())
    assert "iptables.rules" in html
    assert "-A FORWARD -s 198.51.100.11/32 -d 203.0.113.10/32 -p tcp --dport 636 -j ACCEPT" in html


def test_a_drift_page_of_its_own_renders() -> None:
    base = rf.green_run(run_id="a")
    run = rf.findings_run(run_id="b")
    page = render_drift_html(compare(base, run))
    assert page.startswith("<!DOCTYPE html>")
    assert "newly-blocked" in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# The browser check runs in CI; locally it is skipped only when Chromium is not installed
# (`make deps` installs it).
needs_chromium = pytest.mark.skipif(
    _chromium() is None and not os.environ.get("CI"),
    reason="chromium not installed (make deps installs it)",
)


@needs_chromium
def test_the_console_check_sees_a_script_error(tmp_path: Path, browser: Browser) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>noSuchFunction();</script></body></html>")
    loaded = browser.load(page.as_uri())
    assert loaded.error == ""
    assert any("Uncaught" in line for line in loaded.console_errors), loaded.console_errors


@needs_chromium
def test_the_report_renders_in_headless_chromium(tmp_path: Path, browser: Browser) -> None:
    base = rf.green_run(run_id="nightly-1", started_at="2026-11-23T01:00:00+00:00")
    run = rf.findings_run(run_id="nightly-2")
    page = tmp_path / "report.html"
    page.write_text(render_html(run, compare(base, run)), encoding="utf-8")
    loaded = browser.load(page.as_uri())
    assert loaded.error == ""
    assert loaded.console_errors == []
    shot = browser.screenshot(1280, 2000)
    dom = browser.evaluate("document.documentElement.outerHTML")
    # The browser parsed the page into the structure a reader sees.
    assert '<table class="matrix">' in dom
    assert re.search(r"<svg[^>]*class=\"pair-diagram\"", dom)
    assert dom.count('<td class="st blocked"') >= 3
    assert "FINDINGS (exit code 1)" in dom
    # A screenshot of a blank page is a few kB; the report's is far larger.
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(shot) > 50_000
    if os.environ.get("REPORT_SCREENSHOT"):
        Path(os.environ["REPORT_SCREENSHOT"]).write_bytes(shot)
