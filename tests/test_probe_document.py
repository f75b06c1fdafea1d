"""The results document and the journal as files: atomic replacement, torn journal lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.evidence import CertInfo, ProbeRecord, Status
from auditor.probe import Journal, ResultsDocument, RunMeta, read_journal, read_results
from auditor.probe.document import write_results


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
