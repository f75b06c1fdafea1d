"""The results document and the journal as files: atomic replacement, torn journal lines, and
a damaged results file refused with one located line per problem."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.cli import auditor
from support.readers import read_journal

from auditor.errors import InputError
from auditor.model.record import CertInfo, ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, read_results, write_results
from auditor.probe.journal import Journal


def record(status: Status = Status.OPEN, **fields: object) -> ProbeRecord:
    values: dict[str, object] = {
        "source": "198.51.100.11",
        "destination": "203.0.113.10",
        "protocol": "tcp",
        "port": 636,
        "provider": "corp-ad",
        "check": "tcp",
        "status": status,
    }
    values.update(fields)
    return ProbeRecord(**values)  # type: ignore[arg-type]


def document(*records: ProbeRecord) -> ResultsDocument:
    meta = RunMeta(
        tool_version="0.1.0",
        inventory="examples/pair.yaml",
        inventory_digest="sha256:" + "0" * 64,
        probing_host="probe-host",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:02Z",
        options={"timeout": 3.0},
    )
    return ResultsDocument(meta=meta, records=records)


def test_round_trip_keeps_certificate_fields(tmp_path: Path) -> None:
    cert = CertInfo(
        subject="CN=ad.corp.example.com",
        issuer="CN=Corp CA",
        not_after="2027-01-01T00:00:00Z",
        san=("ad.corp.example.com",),
        days_left=12,
    )
    tls = record(Status.TLS_OK, check="tls", cert=cert, latency_ms=3.5, reason="TLSv1.3")
    path = tmp_path / "r.json"
    write_results(path, document(record(latency_ms=1.25), tls))
    back = read_results(path)
    assert back.records == (record(latency_ms=1.25), tls)
    assert back.summary["tls-ok"] == 1
    assert back.summary["open"] == 1
    assert back.summary["filtered"] == 0


def test_a_failed_write_leaves_the_previous_document_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.json"
    write_results(path, document(record()))
    before = path.read_text()
    broken = ResultsDocument(
        meta=RunMeta("0.1.0", "inv", "sha256:" + "0" * 64, "h", "x", "y", {"bad": object()}),
        records=(),
    )
    with pytest.raises(TypeError):
        write_results(path, broken)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_journal_lines_are_whole_records_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.finished(record(Status.REFUSED, latency_ms=0.5))
        journal.finished(record(Status.FILTERED, port=389))
        # visible to another process before the run ends (no buffering in Python)
        assert path.read_text().count("\n") == 2
    with path.open("a") as fh:
        fh.write('{"source": "198.51')  # a crash mid-line
    records = read_journal(path)
    assert [r.status for r in records] == [Status.REFUSED, Status.FILTERED]
    for line in path.read_text().splitlines()[:2]:
        json.loads(line)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def damaged(tmp_path: Path, **changes: object) -> Path:
    """A sound document of three records, with record fields changed: `r1__source="x"` sets
    records[1].source."""
    path = tmp_path / "bad.json"
    write_results(path, document(record(), record(port=389), record(check="tls")))
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        index, name = key.split("__")
        doc["records"][int(index[1:])][name] = value
    path.write_text(json.dumps(doc, indent=2))
    return path


def located(path: Path) -> list[str]:
    with pytest.raises(InputError) as err:
        read_results(path)
    return str(err.value).splitlines()


def line_of(path: Path, needle: str) -> int:
    return next(n for n, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("source", "not-an-ip", "an IP address"),
        ("source", "ad.corp.example.com", "an IP address"),
        ("source", "198.51.100.300", "an IP address"),
        ("destination", "bad host!", "an IP address or a hostname"),
        ("destination", 7, "an IP address or a hostname"),
        ("port", 0, "a port number 1-65535"),
        ("port", 65536, "a port number 1-65535"),
        ("port", "636", "a port number 1-65535"),
        ("protocol", "sctp", "one of tcp, udp"),
        ("check", "ping", "one of tcp, tls, ldap-bind, udp"),
        ("status", "wide-open", "one of open, refused"),
    ],
)
def test_a_bad_record_field_is_refused_with_its_line(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = damaged(tmp_path, **{f"r1__{field}": value})
    (line,) = located(path)
    written = line_of(path, json.dumps({field: value})[1:-1])  # '"port": 0'
    assert line.startswith(f"{path}:{written}: "), line
    assert f"records[1].{field}: is {json.dumps(value)} (expected {expected}" in line


def test_every_bad_record_field_is_reported_at_once(tmp_path: Path) -> None:
    path = damaged(
        tmp_path, r0__source="not-an-ip", r1__protocol="icmp", r2__check="ping", r2__port=-1
    )
    lines = located(path)
    assert [t.split(": ")[1] for t in lines] == [
        "records[0].source",
        "records[1].protocol",
        "records[2].port",
        "records[2].check",
    ]


def test_a_hostname_destination_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    kept = record(destination="ad.corp.example.com")
    v6 = record(source="2001:db8:100::11", destination="2001:db8:113::10")
    write_results(path, document(kept, v6))
    assert read_results(path).records == (kept, v6)


def test_rules_with_a_damaged_results_file_exits_2_one_line_per_problem(tmp_path: Path) -> None:
    path = damaged(tmp_path, r0__source="not-an-ip", r2__status="wide-open")
    pair = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"
    done = auditor("rules", pair, "--results", path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {path}:{line_of(path, 'not-an-ip')}: records[0].source: "
        'is "not-an-ip" (expected an IP address)',
        f"error: {path}:{line_of(path, 'wide-open')}: records[2].status: "
        'is "wide-open" (expected one of ' + ", ".join(s.value for s in Status) + ")",
    ]
