"""Fuzzing the health API's check_health XML and the nft JSON reader further: whatever the bytes,
`parse_health` returns a document or raises DocumentError with one line that holds no raw
control character, no Python repr and no configured secret; a document's text fields are
sanitised (nothing invisible or terminal-driving survives) and redacted. The nft JSON reader's
refusals, likewise, quote values as text or JSON, never as Python reprs."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

import pytest
from hostile_support import EXAMPLE, RAW_CONTROLS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz import examples
from test_hostile_fuzz import HOSTILE_TEXT, JSON_VALUES
from test_hostile_ruleset_fuzz import DATA, _read_or_refuse, _replace_somewhere

from auditor.flows.prepare import prepare
from auditor.health.document import DocumentError, HealthDocument, parse_health
from auditor.redact import redacting
from auditor.textout import UNSAFE_RE

SETTINGS = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SECRET = "Fuzz-S3cret-Value-31"
# a Python repr inside a message: a list or a mapping of strings, bytes, an object
PY_REPR = re.compile(r"\['[^']*'(?:, |\])|\{'[^']*': |\bb'\\x|<[A-Za-z_.]+ object at 0x")
ELEMENTS = ["appliance", "version", "success", "error_message", "failover_role",
            "enabled_shared_ips", "ip", "last_data_sync_time", "last_data_sync_status",
            "x"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["1", "0", "primary", "backup", "none", "198.51.100.10", "2001:db8::1",
                     "2026-11-30T00:00:00Z", "1700000000", SECRET, "\u202e\u200b\x9b[31m"]),
    HOSTILE_TEXT,
)  # fmt: skip


def _element(data: st.DataObject, depth: int = 0) -> str:
    name = data.draw(st.sampled_from(ELEMENTS))
    attr = ""
    if data.draw(st.booleans()):
        attr = f' {data.draw(st.sampled_from(["id", "ts", "xmlns"]))}="{_xml(data.draw(VALUES))}"'
    if depth < 2 and data.draw(st.integers(0, 3)) == 0:
        inner = "".join(_element(data, depth + 1) for _ in range(data.draw(st.integers(0, 3))))
    else:
        inner = _xml(data.draw(VALUES))
    return f"<{name}{attr}>{inner}</{name}>"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


GOOD = (
    '<?xml version="1.0"?><appliance_health xmlns="urn:x"><appliance id="g">site1</appliance>'
    "<version>24.3</version><success>0</success><error_message>disk</error_message>"
    "<failover_role>primary</failover_role><enabled_shared_ips><ip>198.51.100.10</ip>"
    '</enabled_shared_ips><last_data_sync_time ts="1700000000">2026-11-30T00:00:00Z'
    "</last_data_sync_time><last_data_sync_status>Success</last_data_sync_status>"
    "</appliance_health>"
)


def _check(data: bytes) -> None:
    with redacting() as scope:
        scope.add(SECRET)
        try:
            doc = parse_health(data)
        except DocumentError as exc:
            message = str(exc)
            assert "\n" not in message and not RAW_CONTROLS.search(message), message
            assert not PY_REPR.search(message), message
            assert SECRET not in message
            return
    assert isinstance(doc, HealthDocument)
    for text in (doc.error_message, doc.hostname, doc.appliance_id, doc.version,
                 doc.last_sync_status):  # fmt: skip
        if text is not None:
            assert not UNSAFE_RE.search(text), text
            assert SECRET not in text
    assert doc.last_sync_time is None or doc.last_sync_time.utcoffset() == UTC.utcoffset(None)


@SETTINGS
@given(data=st.data())
def test_any_structured_health_document_parses_or_is_one_clean_line(data: st.DataObject) -> None:
    body = "".join(_element(data) for _ in range(data.draw(st.integers(0, 8))))
    _check(f"<appliance_health>{body}</appliance_health>".encode())


@SETTINGS
@given(data=st.data())
def test_any_bytes_spliced_into_a_health_document_parse_or_are_refused(
    data: st.DataObject,
) -> None:
    raw = GOOD.encode()
    at = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 24))
    splice = data.draw(st.one_of(st.binary(max_size=40), HOSTILE_TEXT.map(lambda t: t.encode(
        "utf-8", "surrogatepass"))))  # fmt: skip
    _check(raw[:at] + splice + raw[at + cut :])


def test_a_repeated_single_valued_element_is_malformed_not_first_wins() -> None:
    for name, extra in (("failover_role", "<failover_role>backup</failover_role>"),
                        ("success", "<success>1</success>")):  # fmt: skip
        doc = GOOD.replace("</appliance_health>", extra + "</appliance_health>")
        try:
            parse_health(doc.encode())
        except DocumentError as exc:
            assert f"{name} (2 times)" in str(exc)
        else:
            raise AssertionError(f"two {name} elements were read first-wins")


def test_remote_text_is_escaped_visibly_not_dropped() -> None:
    doc = parse_health(GOOD.replace("disk", "a\x9b31mb\u202ec\u2066d\u200be").encode())
    assert doc.error_message == "a\\x9b31mb\\u202ec\\u2066d\\u200be"


NFT_SAMPLES = sorted(DATA.glob("*.json"))


@pytest.fixture(scope="module")
def flows() -> Any:
    return prepare(EXAMPLE, resolve=False).flows


@SETTINGS
@given(data=st.data())
def test_any_nft_sample_mutated_parses_or_is_refused_without_a_python_repr(
    data: st.DataObject, flows: Any
) -> None:
    path = data.draw(st.sampled_from(NFT_SAMPLES))
    doc = _replace_somewhere(json.loads(path.read_text(encoding="utf-8")), data)
    _read_or_refuse({"fw.json": json.dumps(doc, indent=1)}, (), flows)  # located, or evaluated
    _no_python_repr(doc)


def _no_python_repr(doc: Any) -> None:
    import tempfile
    from pathlib import Path

    from auditor.errors import InputError
    from auditor.ruleset import read_rulesets

    with tempfile.TemporaryDirectory(prefix="nftrepr-") as name:
        path = Path(name) / "fw.json"
        path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
        try:
            read_rulesets([path])
        except InputError as exc:
            # a repr that happens to be the JSON text too is no Python repr
            same = (json.dumps, lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
            reprs = [repr(v) for v in _containers(doc) if all(repr(v) != f(v) for f in same)]
            for problem in exc.problems:
                assert not any(r in str(problem) for r in reprs), str(problem)


def _containers(doc: Any) -> list[Any]:
    """Every non-empty list and mapping inside `doc` (what a message might repr)."""
    found = []
    if isinstance(doc, dict | list) and doc:
        found.append(doc)
        for inner in doc.values() if isinstance(doc, dict) else doc:
            found.extend(_containers(inner))
    return found


@SETTINGS
@given(value=JSON_VALUES)
def test_nft_refusals_quote_values_as_json_never_as_python_reprs(value: Any) -> None:
    doc = {"nftables": [{"metainfo": {"json_schema_version": 1}},
                        {"table": {"family": "inet", "name": "filter", "handle": 1}},
                        {"chain": {"family": "inet", "table": "filter", "name": "forward",
                                   "handle": 1, "type": "filter", "hook": value, "prio": value,
                                   "policy": value}}]}  # fmt: skip
    _no_python_repr(doc)
