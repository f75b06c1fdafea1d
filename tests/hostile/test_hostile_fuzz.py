"""Fuzzing the four documents a user hands the auditor (inventory, pack, results, baseline):
whatever the bytes, the answer is a result or a located refusal, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import report_factories as rf
from hostile_support import EXAMPLE, EXAMPLE_TEXT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.cli import auditor
from support.fuzz import examples

from auditor.history.store import Store
from auditor.model.rundoc import dumps as run_dumps

SETTINGS = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Text with every kind of character a hostile file holds: controls, markup, YAML and JSON syntax.
HOSTILE_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\x00\x1b\x07\r\n\t\u2028[]{}:,&*!|>'\"%@`#-?٣")),
    ),
    max_size=40,
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _exit_code(args: list[str]) -> int:
    code = auditor(*args).returncode
    assert code in (0, 1, 2), code
    return code


def _splice(text: str, data: st.DataObject) -> str:
    """`text` with a hostile piece inserted at, or replacing a span around, a random place."""
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 12))
    return text[:at] + data.draw(HOSTILE_TEXT) + text[at + cut :]


@SETTINGS
@given(data=st.data())
def test_any_inventory_is_a_result_or_a_located_refusal(tmp_path: Path, data: st.DataObject):
    path = tmp_path / "pair.yaml"
    path.write_text(_splice(EXAMPLE_TEXT, data), encoding="utf-8", errors="surrogatepass")
    _exit_code(["check", str(path), "--no-resolve"])  # no DNS for the names it makes up
    _exit_code(["flows", str(path), "--no-resolve", "--format", "json"])


PACK = (Path(__file__).resolve().parents[2] / "rules" / "ldap.yaml").read_text(encoding="utf-8")


@SETTINGS
@given(data=st.data())
def test_any_pack_is_a_result_or_a_located_refusal(tmp_path: Path, data: st.DataObject):
    folder = tmp_path / "packs"
    folder.mkdir(exist_ok=True)
    (folder / "site.yaml").write_text(_splice(PACK, data), encoding="utf-8", errors="surrogatepass")
    _exit_code(["check", str(EXAMPLE), "--rules", str(folder)])


def _results_doc() -> dict[str, Any]:
    return {
        "format": "auditor-results/1",
        "meta": {
            "tool_version": "0.1.0",
            "inventory": "pair.yaml",
            "inventory_digest": "sha256:0",
            "probing_host": "h",
            "started_at": "2026-11-30T00:00:00Z",
            "finished_at": "2026-11-30T00:00:01Z",
            "options": {},
        },
        "records": [
            {
                "source": "198.51.100.11",
                "destination": "203.0.113.10",
                "protocol": "tcp",
                "port": 636,
                "provider": "corp-ad",
                "check": "tcp",
                "status": "filtered",
                "reason": "no answer",
                "latency_ms": None,
                "attempts": 1,
            },
        ],
    }


def _poke(doc: Any, data: st.DataObject) -> Any:
    """Replace one value somewhere in `doc` (or the whole of it) with a hostile one."""
    if not isinstance(doc, dict | list) or not doc or data.draw(st.integers(0, 4)) == 0:
        return data.draw(JSON_VALUES)
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = data.draw(st.sampled_from(keys))
    doc[key] = _poke(doc[key], data)
    return doc


@SETTINGS
@given(data=st.data())
def test_any_results_document_is_a_result_or_a_located_refusal(tmp_path: Path, data):
    text = json.dumps(_poke(_results_doc(), data), indent=data.draw(st.sampled_from([None, 2])))
    if data.draw(st.booleans()):
        text = _splice(text, data)
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = auditor("rules", EXAMPLE, "--results", path, "--no-resolve", "--any-inventory")
    # Any verdict of the evidence (3: none of it decided a flow, 4: some flows unproven), or a
    # located refusal; never an internal error.
    assert result.returncode in (0, 1, 2, 3, 4), result.returncode
    assert "internal error" not in result.stderr


_BASELINE = json.loads(run_dumps(rf.green_run(run_id="g0")))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store with one findings run, made when the test runs (not in each worker's
    collection) and removed with pytest's temporary folders."""
    path = tmp_path_factory.mktemp("hostile-fuzz") / "h.sqlite"
    Store(path).save_run(rf.findings_run(run_id="f1"))
    return path


@SETTINGS
@given(data=st.data())
def test_any_baseline_document_is_a_result_or_a_located_refusal(tmp_path: Path, store: Path, data):
    doc = _poke(json.loads(json.dumps(_BASELINE)), data)
    path = tmp_path / "base.json"
    path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    _exit_code(["drift", str(EXAMPLE), "--store", str(store), "--baseline", str(path)])
