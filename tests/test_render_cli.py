"""`auditor rules`: inventory and results in, files out, exit code by whether rules were needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_factories import example_records, record

from auditor.cli.app import main
from auditor.evidence import Status
from auditor.pipeline import prepare
from auditor.probe.document import ResultsDocument, RunMeta, write_results

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "examples" / "pair.yaml"


def write(path: Path, records) -> Path:
    meta = RunMeta(
        tool_version="test",
        inventory=str(PAIR),
        inventory_digest="0" * 64,
        probing_host="test",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
    )
    write_results(path, ResultsDocument(meta=meta, records=tuple(records)))
    return path


@pytest.fixture
def flows():
    return prepare(PAIR, resolve=False).flows


def test_all_formats_into_a_folder_exit_1_when_rules_are_needed(tmp_path, flows, capsys):
    results = write(tmp_path / "results.json", example_records(flows))
    out = tmp_path / "out"
    code = main(["rules", str(PAIR), "--results", str(results), "--format", "all", "-o", str(out)])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "change-request.csv",
        "iptables.jump.rules",
        "iptables.rules",
        "nftables.nft",
        "pf.conf",
        "ticket.md",
    ]
    assert "wrote" in capsys.readouterr().err


def test_one_format_to_stdout(tmp_path, flows, capsys):
    results = write(tmp_path / "results.json", example_records(flows))
    code = main(["rules", str(PAIR), "--results", str(results), "--format", "nftables"])
    assert code == 1
    assert capsys.readouterr().out.startswith("#!/usr/sbin/nft -f")


def test_exit_0_when_everything_is_open(tmp_path, flows, capsys):
    results = write(tmp_path / "results.json", [record(f, Status.OPEN) for f in flows])
    code = main(["rules", str(PAIR), "--results", str(results), "--format", "csv"])
    assert code == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header only


def test_only_proven_with_nothing_proven_is_clean(tmp_path, flows):
    records = [record(f, Status.NOT_LOCAL) for f in flows]
    results = write(tmp_path / "results.json", records)
    assert main(["rules", str(PAIR), "--results", str(results), "--only-proven"]) == 0
    assert main(["rules", str(PAIR), "--results", str(results)]) == 1


def test_usage_errors_exit_2(tmp_path, flows, capsys):
    results = write(tmp_path / "results.json", example_records(flows))
    assert main(["rules", str(PAIR), "--results", str(results), "--format", "all"]) == 2
    assert main(["rules", str(PAIR), "--results", str(results), "--chain", "a b"]) == 2
    assert "--chain" in capsys.readouterr().err
    assert main(["rules", str(PAIR), "--results", str(tmp_path / "missing.json")]) == 2
