"""The shipped templates render in a plain jinja2 Environment, a user's `--templates DIR` in the
bounded sandbox, its own templates and everything they include; the output of the shipped
templates is the same byte for byte either way."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import report_factories as rf
from plan_factories import SITE, example_flows, example_records
from support.render_options import render_options

from auditor.errors import InputError
from auditor.plan import make_plan
from auditor.render import OutputFormat, render
from auditor.render.environment import environment
from auditor.render.sandbox import BoundedSandbox
from auditor.report.bundle import render_reports
from auditor.report.env import make_env

ESCAPE = "{{ cycler.__init__.__globals__ }}\n"


def test_every_format_renders_the_same_in_the_sandbox_as_without_it(tmp_path: Path):
    # An empty user folder: every template is a shipped one, rendered in the sandbox.
    plan = make_plan(example_flows(), example_records(), site=SITE)
    for fmt in OutputFormat:
        plain = render(fmt, plan, render_options())
        sandboxed = render(fmt, plan, render_options(templates=tmp_path))
        assert plain == sandboxed, fmt
        assert plain and all(plain.values()), fmt


@pytest.mark.parametrize("run", [rf.findings_run, rf.green_run], ids=["findings", "green"])
def test_the_reports_render_the_same_in_the_sandbox_as_without_it(tmp_path: Path, run):
    audit = run()
    assert render_reports(audit) == render_reports(audit, templates=tmp_path)


def test_only_the_shipped_templates_render_outside_the_sandbox(tmp_path: Path):
    assert type(environment(None)) is jinja2.Environment
    assert type(make_env(html=True)) is jinja2.Environment
    assert type(make_env(html=False)) is jinja2.Environment
    assert isinstance(environment(tmp_path), BoundedSandbox)
    assert isinstance(make_env(html=True, user_dir=tmp_path), BoundedSandbox)
    assert isinstance(make_env(html=False, user_dir=tmp_path), BoundedSandbox)


def test_a_user_template_cannot_reach_python_internals(tmp_path: Path):
    (tmp_path / "pf.conf.j2").write_text("# pf\n" + ESCAPE, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        render(OutputFormat.PF, make_plan(example_flows(), example_records(), site=SITE),
               render_options(templates=tmp_path))  # fmt: skip
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"{tmp_path}/pf.conf.j2:2: template error: ")
    assert "attribute '__init__' of 'type' object is unsafe" in str(caught.value)


def test_what_a_user_template_includes_is_sandboxed_too(tmp_path: Path):
    (tmp_path / "pf.conf.j2").write_text("{% include 'part.j2' %}\n", encoding="utf-8")
    (tmp_path / "part.j2").write_text("# part\n" + ESCAPE, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        render(OutputFormat.PF, make_plan(example_flows(), example_records(), site=SITE),
               render_options(templates=tmp_path))  # fmt: skip
    assert str(caught.value).startswith(f"{tmp_path}/part.j2:2: template error: ")
    assert "is unsafe" in str(caught.value)


def test_a_user_report_template_cannot_reach_python_internals(tmp_path: Path):
    (tmp_path / "report.md.j2").write_text("# report\n" + ESCAPE, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        render_reports(rf.findings_run(), templates=tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}/report.md.j2:2: template error: ")
    assert "is unsafe" in str(caught.value)


@pytest.mark.parametrize("fmt", [OutputFormat.IPTABLES, OutputFormat.NFTABLES, OutputFormat.PF])
def test_files_rendered_once_per_plan_are_still_each_callers_own(fmt: OutputFormat):
    # the ticket shows these files too, so they are rendered once per plan and options
    plan = make_plan(example_flows(), example_records(), site=SITE)
    first = render(fmt, plan, render_options())
    kept = dict(first)
    first.clear()
    assert render(fmt, plan, render_options()) == kept
    other = make_plan(example_flows(), example_records(), site="other.example.com")
    assert render(fmt, other, render_options()) != kept
