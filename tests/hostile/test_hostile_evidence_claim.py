"""Hostile evidence documents against `audit --evidence FILE...`, and hostile `--claim*`
options against `probe`, `audit` and `claim check`: one clear refusal each, exit 2, nothing
written, nothing configured (every claim option is checked before root or `ip` is asked)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, assert_refused, assert_usage, cli, snapshot
from support.model import fresh_times

from auditor.flows.prepare import prepare
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, dumps


def records(status: Status = Status.OPEN) -> list[ProbeRecord]:
    prepared = prepare(EXAMPLE, resolve=False)
    return [
        ProbeRecord(str(f.source), str(f.destination), f.protocol.value, f.port, f.provider,
                    check.value, status if i == 0 else Status.SKIPPED, "", origin="node-a")
        for f in prepared.flows
        for i, check in enumerate(f.checks)
    ]  # fmt: skip


def document(recs: list[ProbeRecord], host: str = "node-a") -> str:
    digest = prepare(EXAMPLE, resolve=False).inventory.digest
    meta = RunMeta("0.1.0", str(EXAMPLE), digest, host, *fresh_times())  # fmt: skip
    return dumps(ResultsDocument(meta, tuple(recs)))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    return tmp_path


def audit(*files: str):
    args: list[object] = ["audit", EXAMPLE, "-q", "--no-resolve", "--no-store", "-o", "out"]
    for name in files:
        args += ["--evidence", name]
    return cli(*args)


def field_line(text: str, index: int, field: str = "") -> int:
    """The line of records[index] (its first line), or of its `field` (one key per line)."""
    lines = text.splitlines()
    start = [n for n, line in enumerate(lines, 1) if line == "    {"][index]
    if not field:
        return start
    return next(
        n for n in range(start, len(lines) + 1) if lines[n - 1].strip().startswith(f'"{field}"')
    )


def _with(extra: ProbeRecord) -> list[ProbeRecord]:
    return [*records(), extra]


BASE = records()[0]
EVIDENCE_CASES = [
    ("record from no address of the pair", _with(replace(BASE, source="192.0.2.99")), "source"),
    ("record from a documentation address on no appliance",
     _with(replace(BASE, source="198.51.100.99")), "source"),
    ("record for no provider of the inventory", _with(replace(BASE, provider="evil")), "provider"),
    ("same flow and check twice, conflicting", _with(replace(BASE, status=Status.FILTERED)), ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "recs", "field"), EVIDENCE_CASES, ids=[c[0] for c in EVIDENCE_CASES]
)
def test_evidence_no_probe_of_this_inventory_writes_is_refused_located(
    name: str, recs: list[ProbeRecord], field: str, work: Path
) -> None:
    text = document(recs)
    (work / "a.json").write_text(text, encoding="utf-8")
    before = snapshot(work)
    result = audit("a.json")
    index = len(recs) - 1
    assert_refused(result, ("a.json", field_line(text, index, field)))
    assert f"records[{index}]" in result.errors[0]
    assert snapshot(work) == before


def test_conflicting_documents_are_merged_as_a_conflict_not_refused(work: Path) -> None:
    (work / "a.json").write_text(document(records(Status.OPEN), "node-a"), encoding="utf-8")
    other = [replace(records(Status.FILTERED)[0], origin="node-b")]
    (work / "b.json").write_text(document(other, "node-b"), encoding="utf-8")
    result = audit("a.json", "b.json")
    assert result.code == 1
    written = json.loads((work / "out" / "results.json").read_text(encoding="utf-8"))
    conflicts = [r for r in written["records"] if r["status"] == "conflict"]
    assert [(r["source"], r["check"]) for r in conflicts] == [(other[0].source, other[0].check)]
    assert "node-a" in conflicts[0]["reason"] and "node-b" in conflicts[0]["reason"]


def test_the_same_document_twice_is_evidence_once(work: Path) -> None:
    (work / "a.json").write_text(document(records(Status.OPEN)), encoding="utf-8")
    result = audit("a.json", "a.json")
    written = json.loads((work / "out" / "results.json").read_text(encoding="utf-8"))
    assert len(written["records"]) == len(records())
    assert "conflict" not in result.out


@pytest.mark.parametrize(
    ("field", "value"),
    [("port", "636"), ("port", True), ("port", 70000), ("source", "0x7f.1"), ("status", "maybe"),
     ("latency_ms", "fast"), ("method", "guess"), ("check", "telepathy"), ("protocol", "icmp")],
)  # fmt: skip
def test_a_record_of_the_wrong_type_in_a_second_document_is_located(
    field: str, value: object, work: Path
) -> None:
    (work / "a.json").write_text(document(records()), encoding="utf-8")
    doc = json.loads(document(records()))
    doc["records"][3][field] = value
    text = json.dumps(doc, indent=2)
    (work / "b.json").write_text(text, encoding="utf-8")
    result = audit("a.json", "b.json")
    assert_refused(result, ("b.json", field_line(text, 3, field)))
    assert f"records[3].{field}" in result.errors[0]


def test_escapes_in_a_given_reason_never_reach_a_report_raw(work: Path) -> None:
    hostile = [replace(r, reason="\x1b]0;pwn\x07\nFORGED LINE", origin="a\x1b[2J")
               for r in records(Status.FILTERED)]  # fmt: skip
    (work / "a.json").write_text(document(hostile), encoding="utf-8")
    audit("a.json")
    for report in ("report.html", "report.md"):
        text = (work / "out" / report).read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text
        assert "pwn" in text  # shown, as its escapes


# ---- --claim IFACE, --claim-gateway IP --------------------------------------------------------

CLAIM_CASES = [
    (["--claim", "eth0;id"], "not an interface name"),
    (["--claim", "x" * 300], "is 300 characters long (at most 15: IFNAMSIZ)"),
    (["--claim", ""], "is empty (expected an interface name"),
    (["--claim", "-eth0"], "not an interface name"),
    (["--claim", "../../etc"], "not an interface name"),
    (["--claim", "eth0 "], "contains a space"),
    (["--claim", "$(reboot)"], "not an interface name"),
    (["--claim", "eth0", "--claim-gateway", "192.0.2.0/24"], "not an IP address"),
    (["--claim", "eth0", "--claim-gateway", "0x7f.1"], "not an IP address"),
    (["--claim", "eth0", "--claim-gateway", "fe80::1%eth0"], "carries a zone index (%eth0)"),
    (["--claim", "eth0", "--claim-gateway", "0.0.0.0"], "not a unicast address"),
    (["--claim", "eth0", "--claim-gateway", "255.255.255.255"], "not a unicast address"),
    (["--claim", "eth0", "--claim-gateway", "224.0.0.1"], "not a unicast address"),
    (["--claim", "eth0", "--claim-gateway", "127.0.0.1"], "not a unicast address"),
    (["--claim", "eth0", "--claim-gateway", "::"], "not a unicast address"),
    (["--claim", "eth0", "--claim-gateway", "ff02::1"], "not a unicast address"),
]


@pytest.mark.parametrize("command", ["probe", "audit"])
@pytest.mark.parametrize(
    ("args", "message"), CLAIM_CASES, ids=[" ".join(c[0])[:30] for c in CLAIM_CASES]
)
def test_hostile_claim_options_are_refused_before_anything_runs(
    command: str, args: list[str], message: str, work: Path
) -> None:
    before = snapshot(work)
    result = cli(command, EXAMPLE, "--no-resolve", "-o", "out", *args)
    assert_usage(result, message)
    assert snapshot(work) == before


def test_claim_check_refuses_a_hostile_interface_name(work: Path) -> None:
    result = cli("claim", "check", EXAMPLE, "--no-resolve", "--claim", "eth0|id")
    assert_usage(result, "not an interface name")


def test_a_control_character_in_a_claim_option_is_refused(work: Path) -> None:
    result = cli("probe", EXAMPLE, "--no-resolve", "--claim", "eth0\x1b[31m")
    assert_usage(result, "control characters are refused")


AGE_CASES = [
    ("99999999999999999d", "is not a duration"),
    ("1e3d", "is not a duration"),
    ("0x10h", "is not a duration"),
    ("7d\x1b[31m", "control characters are refused"),
]


@pytest.mark.parametrize("command", ["audit", "rules", "fleet run"])
@pytest.mark.parametrize(("value", "message"), AGE_CASES, ids=[c[0][:12] for c in AGE_CASES])
def test_a_hostile_max_evidence_age_is_refused_before_anything_runs(
    command: str, value: str, message: str, work: Path
) -> None:
    if command == "fleet run":
        fleet = work / "fleet.yaml"
        fleet.write_text(f"sites:\n  - name: a\n    pairs:\n      - inventory: {EXAMPLE}\n")
        target: list[object] = ["fleet", "run", fleet]
    else:
        target = [command, EXAMPLE, "--no-resolve"]
    before = snapshot(work)
    result = cli(*target, "-o", "out", "--max-evidence-age", value)
    assert_usage(result, message)
    assert snapshot(work) == before


@pytest.mark.parametrize(("value", "message"), AGE_CASES, ids=[c[0][:12] for c in AGE_CASES])
def test_a_hostile_fleet_report_max_age_is_refused_before_anything_is_written(
    value: str, message: str, work: Path
) -> None:
    """`fleet report --max-age` reads its duration as --max-evidence-age does."""
    before = snapshot(work)
    result = cli("fleet", "report", "--store", "h.sqlite", "-o", "out", "--max-age", value)
    assert_usage(result, message)
    assert snapshot(work) == before
