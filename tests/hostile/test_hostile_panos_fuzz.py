"""Fuzzing the PAN-OS reader: whatever the text of a configuration (hostile text spliced into a
real one, or one element's text replaced), `--ruleset` judges every flow or refuses with
problems that each name the file and a line; never another exception."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hostile_support import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz import examples
from test_hostile_fuzz import HOSTILE_TEXT

from auditor.errors import InputError, UsageError
from auditor.flows.prepare import prepare
from auditor.policy.evidence import PanosOptions, firewall_evidence

SETTINGS = settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
CONFIG = (Path(__file__).resolve().parents[1] / "panos_data" / "firewall.xml").read_text()
TEXTS = [m.start(1) for m in re.finditer(r">([^<]+)<", CONFIG)]


@pytest.fixture(scope="module")
def flows() -> Any:
    return prepare(EXAMPLE, resolve=False).flows


def _judge_or_refuse(text: str, flows: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="iphfuzz-") as name:
        path = Path(name) / "fw.xml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            found = firewall_evidence(
                flows, ruleset=[path], ipset=[], ruleset_hook="FORWARD", in_interface=None,
                out_interface=None, panos=PanosOptions(),
            )  # fmt: skip
        except InputError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.file.startswith(name)
                assert problem.line is not None and problem.line >= 1
                assert "\n" not in str(problem)
            return
        except UsageError:
            return
        # every flow that crosses the firewall is judged (on-link flows are not evaluated)
        crossing = [f for f in flows if not f.on_link]
        assert found is not None and len(found.evaluations) == len(crossing)


@SETTINGS
@given(data=st.data())
def test_any_text_spliced_into_a_configuration_is_judged_or_refused_located(
    data: st.DataObject, flows: Any
) -> None:
    at = data.draw(st.integers(0, len(CONFIG)))
    cut = data.draw(st.integers(0, 16))
    _judge_or_refuse(CONFIG[:at] + data.draw(HOSTILE_TEXT) + CONFIG[at + cut :], flows)


VALUES = st.one_of(
    HOSTILE_TEXT.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
    st.sampled_from(
        ["any", "0.0.0.0/0", "::/0", "1-2", "2-1", "65536", "0", "-", "a-b", "10.0.0.1-::1",
         "300.1.1.1", "10.0.0.0/33", "yes", "no", "application-default", "vsys1", "drop",
         "reset-both", "interzone", "intrazone", "1,2,3-4", "tcp/80", "ethernet1/1", ""]
    ),
)  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_any_value_in_any_element_is_judged_or_refused_located(
    data: st.DataObject, flows: Any
) -> None:
    at = data.draw(st.sampled_from(TEXTS))
    end = CONFIG.index("<", at)
    _judge_or_refuse(CONFIG[:at] + data.draw(VALUES) + CONFIG[end:], flows)
