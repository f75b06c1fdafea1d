"""Hostile packs, results documents, placement options and templates against `rules`, `probe`
and `audit`: refused with located lines, nothing written, no template code run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, assert_refused, assert_usage, cli, line_of, snapshot
from support.model import fresh_times

from auditor.flows.prepare import prepare
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import FORMAT, ResultsDocument, RunMeta, dumps

PACK = """pack: site
description: a pack of the site's own
kinds:
  portal:
    description: the portal
    ports:
      - {port: 8443, protocol: tcp, checks: [tcp]}
"""


def results_text(status: Status = Status.FILTERED, reason: str = "no answer") -> str:
    prepared = prepare(EXAMPLE, resolve=False)
    records = tuple(
        ProbeRecord(
            str(f.source),
            str(f.destination),
            f.protocol.value,
            f.port,
            f.provider,
            "tcp",
            status,
            reason,
        )
        for f in prepared.flows
    )
    meta = RunMeta("0.1.0", str(EXAMPLE), prepared.inventory.digest, "host", *fresh_times())
    return dumps(ResultsDocument(meta, records))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text(results_text(), encoding="utf-8")
    return tmp_path


def rules(*extra: object):
    return cli("rules", EXAMPLE, "--results", "results.json", "--no-resolve", *extra)


# ---- packs (--rules DIR) -----------------------------------------------------------------

PACK_CASES = [
    ("nul", PACK.replace("the portal", "the\x00portal"), 5),
    ("esc", PACK.replace("the portal", "the\x1bportal"), 5),
    ("python-tag", PACK.replace("{port: 8443", "{port: !!python/object/apply:os.system [id]"), 7),
    ("int-tag", PACK.replace("{port: 8443", '{port: !!int "abc"'), 7),
    ("huge-int", PACK.replace("8443", "9" * 5000), 7),
    ("deep", PACK + "extra: " + "[" * 500 + "]" * 500 + "\n", 8),
    ("kind-newline", PACK.replace("  portal:", '  "portal\\n":'), 4),
    ("pack-newline", PACK.replace("pack: site", 'pack: "site\\n"'), 1),
    ("description-escape", PACK.replace("the portal", '"a\\e[2Jb"'), 5),
    (
        "ports-bomb",
        PACK.replace(
            "      - {port: 8443, protocol: tcp, checks: [tcp]}\n",
            "".join(
                f"      - {{port: {p}, protocol: tcp, checks: [tcp]}}\n" for p in range(1, 200)
            ),
        ),
        6,
    ),
]


@pytest.mark.parametrize(
    ("text", "line"), [c[1:] for c in PACK_CASES], ids=[c[0] for c in PACK_CASES]
)
def test_a_hostile_pack_is_refused_with_its_line(work, text, line):
    (work / "packs").mkdir()
    (work / "packs" / "site.yaml").write_text(text, encoding="utf-8")
    before = snapshot(work)
    result = cli("check", EXAMPLE, "--rules", "packs")
    assert_refused(result, ("packs/site.yaml", line))
    assert "<unicode string>" not in result.err
    assert snapshot(work) == before


# ---- results documents (--results) ---------------------------------------------------------


def _records_doc(work: Path) -> dict:
    return json.loads((work / "results.json").read_text())


def _bad_record(work: Path, index: int, key: str, value: object) -> tuple[str, int]:
    """Rewrite results.json with records[index][key] = value; the line of that record's key."""
    doc = _records_doc(work)
    doc["records"][index][key] = value
    text = json.dumps(doc, indent=2)
    (work / "results.json").write_text(text, encoding="utf-8")
    start = text.index('"records"')
    for _ in range(index + 1):
        start = text.index('"source"', start + 1)
    return text, text[: text.index(f'"{key}"', start)].count("\n") + 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("port", 70000),
        ("port", "636"),
        ("source", "198.51.100.11\n"),
        ("destination", "0x7f.1"),
        ("status", "\x1b[31mopen"),
        ("check", None),
        ("latency_ms", "fast"),
    ],
)
def test_one_bad_record_is_located_by_the_json_itself(work, key, value):
    _text, line = _bad_record(work, 3, key, value)
    result = rules()
    assert_refused(result, ("results.json", line))
    assert f"records[3].{key}" in result.err


RAW_RESULTS = [
    ("not-json", '{"format": "auditor-results/1",\n "meta": {,}}', 2),
    ("deep-nesting", "[" * 200_000 + "]" * 200_000, 1),
    ("huge-int", '{"format": "auditor-results/1",\n "x": ' + "9" * 5000 + "}", 2),
    ("nan", '{"format": "auditor-results/1",\n "x": NaN}', 2),
    ("infinity", '{"format": "auditor-results/1",\n "x": -Infinity}', 2),
    ("not-utf8", b'{"format": "\xff"}', 1),
    ("a-list", "[]", 1),
    ("wrong-format", '{\n"format": "auditor-results/9"}', 2),
]


@pytest.mark.parametrize(
    ("raw", "line"), [c[1:] for c in RAW_RESULTS], ids=[c[0] for c in RAW_RESULTS]
)
def test_a_hostile_results_document_is_one_located_line(work, raw, line):
    data = raw if isinstance(raw, bytes) else raw.encode()
    (work / "results.json").write_bytes(data)
    before = snapshot(work)
    result = rules("-o", "out")
    assert_refused(result, ("results.json", line))
    assert snapshot(work) == before and not (work / "out").exists()


def test_deep_nesting_inside_a_valid_document_is_refused(work):
    doc = _records_doc(work)
    inner: object = []
    for _ in range(100):
        inner = [inner]
    doc["meta"]["options"] = {"x": inner}
    text = json.dumps(doc, indent=None)
    (work / "results.json").write_text(text, encoding="utf-8")
    result = rules()
    assert_refused(result, ("results.json", 1))
    assert "nested deeper than 64" in result.err


def test_a_results_file_over_the_size_cap_is_refused_before_reading(work, monkeypatch):
    from auditor.model import results as document

    monkeypatch.setattr(document, "MAX_BYTES", 1000)
    result = rules()
    assert_refused(result, ("results.json", None))
    assert "larger than" in result.err


def test_a_fifo_as_results_is_refused(work):
    import os

    (work / "results.json").unlink()
    os.mkfifo(work / "results.json")
    result = rules()
    assert_refused(result, ("results.json", None))


def test_hostile_reasons_reach_no_snippet_raw(work):
    (work / "results.json").write_text(results_text(reason="x\n-A INPUT -j ACCEPT\x1b]0;t\x07"))
    result = rules("--format", "all", "-o", "out")
    assert result.code == 1
    for path in (work / "out").iterdir():
        text = path.read_text()
        assert "\x1b" not in text and "\x07" not in text
        # the reason may be quoted inside a line, never become a line (a rule) of its own
        assert not any(line.startswith("-A INPUT") for line in text.splitlines())
        assert oct(path.stat().st_mode & 0o777) in ("0o644", "0o664", "0o666")


def test_change_sheet_quotes_every_cell(work):
    assert rules("--format", "csv", "--requested-by", "=1+1;x").code == 1
    result = rules("--format", "csv", "--requested-by", "=1+1;x")
    for row in result.out.splitlines():
        assert row.startswith('"') and row.endswith('"')
    assert '"\'=1+1;x"' in result.out


# ---- placement options ------------------------------------------------------------------

OPTIONS = [
    ("--chain", "AUD-x\n"),
    ("--chain", "AUD x"),
    ("--interface", "eth0\n"),
    ("--interface", "eth0;"),
    ("--nft-chain", "forward\n"),
    ("--nft-table", "inet filter\n"),
    ("--hook", "FORWARD\n"),
    ("--table", "nat"),
    ("--position", "99999999999999999999999"),
    ("--position", "0"),
    ("--position", "٣"),
    ("--requested-by", "me\x1b[2J"),
    ("--ticket", "CHG-1\nerror: forged"),
]


@pytest.mark.parametrize(("option", "value"), OPTIONS, ids=[f"{o}={v!r}" for o, v in OPTIONS])
def test_a_bad_placement_option_is_one_line_and_nothing_written(work, option, value):
    before = snapshot(work)
    result = rules(option, value, "--format", "all", "-o", "out")
    assert_usage(result, option if not any(c < " " for c in value) else "control characters")
    assert snapshot(work) == before


# ---- templates ----------------------------------------------------------------------------

TEMPLATES = [
    ("globals", "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}\n", 1),
    ("mro", "x\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n", 2),
    ("format", "{{ '{0.__class__}'.format(1) }}\n", 1),
    ("zero-division", "a\nb\n{{ 1/0 }}\n", 3),
    ("range-bomb", "{{ range(10**9)|list|length }}\n", 1),
    ("undefined", "{{ nothing_here }}\n", 1),
    ("syntax", "{% for %}\n", 1),
]


@pytest.mark.parametrize(
    ("text", "line"), [c[1:] for c in TEMPLATES], ids=[c[0] for c in TEMPLATES]
)
def test_a_hostile_template_is_refused_and_never_run(work, text, line):
    (work / "tpl").mkdir()
    (work / "tpl" / "iptables.rules.j2").write_text(text, encoding="utf-8")
    before = snapshot(work)
    result = rules("--templates", "tpl", "-o", "out")
    assert_refused(result, ("tpl/iptables.rules.j2", line))
    assert "template error" in result.err
    assert not (work / "PWNED").exists() and not (work / "out").exists()
    assert snapshot(work) == before


def test_a_failing_report_template_stops_an_audit_before_it_probes(work, monkeypatch):
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "x")
    (work / "tpl").mkdir()
    (work / "tpl" / "report.md.j2").write_text("# {{ 1/0 }}\n", encoding="utf-8")
    from auditor import run as run_module

    probed = []
    monkeypatch.setattr(run_module, "probe_flows", lambda *a, **k: probed.append(1) or ())
    before = snapshot(work)
    # the default places: reports/ and its history store are not even created
    result = cli("audit", EXAMPLE, "--templates", "tpl", "-q", "--no-resolve")
    assert_refused(result, ("tpl/report.md.j2", 1))
    assert probed == []
    assert snapshot(work) == before and not (work / "reports").exists()


def test_probe_refuses_a_flow_bomb_before_probing(work):
    eps = "[" + ", ".join(f"10.{i // 256}.{i % 256}.1" for i in range(1000)) + "]"
    text = EXAMPLE.read_text() + "".join(
        f"  - name: p{k}\n    kind: ldap\n    endpoints: {eps}\n" for k in range(10)
    )
    (work / "bomb.yaml").write_text(text, encoding="utf-8")
    before = snapshot(work)
    result = cli("probe", "bomb.yaml", "-o", "r.json", "--no-resolve")
    assert_refused(result, ("bomb.yaml", line_of(text, "  - name: p0")))
    assert snapshot(work) == before


def test_probe_source_with_a_forged_line_is_refused(work):
    result = cli("probe", EXAMPLE, "--source", "198.51.100.11\nerror: forged")
    assert_usage(result, "control characters")


def test_results_format_constant(work):
    assert json.loads((work / "results.json").read_text())["format"] == FORMAT


def test_lab_apply_refuses_a_fifo_without_blocking(tmp_path):
    import os

    from auditor.errors import InputError
    from auditor.lab.router import apply_snippet

    fifo = tmp_path / "iptables.rules"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        apply_snippet("i9-no-such-namespace", fifo)


@pytest.mark.parametrize("target", ["/dev/zero", "DIR", "BIG"])
def test_a_password_file_that_is_a_device_or_huge_is_refused(work, target):
    if target == "DIR":
        target = str(work)
    elif target == "BIG":
        (work / "big").write_bytes(b"x" * 100_000)
        target = str(work / "big")
    text = EXAMPLE.read_text().replace(
        "password_env: AUDITOR_BIND_PASSWORD", f"password_file: {target}"
    )
    (work / "pair.yaml").write_text(text, encoding="utf-8")
    result = cli("probe", "pair.yaml", "-o", "r.json", "--no-resolve")
    assert_refused(result, ("pair.yaml", 33))
    assert not (work / "r.json").exists()
