"""Evidence from several places: merged per flow and check, conflicts kept, and `probe` and
`audit` judging the same records the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from auditor.cli.app import main
from auditor.evidence.merge import merge_records
from auditor.flows.prepare import prepare
from auditor.model.inventory import Flow
from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, read_results, write_results

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"


def rec(source: str, status: Status, check: str = "tcp", origin: str = "a") -> ProbeRecord:
    return ProbeRecord(
        source=source,
        destination="203.0.113.10",
        protocol="tcp",
        port=636,
        provider="corp-ad",
        check=check,
        status=status,
        origin=origin,
    )


def test_conclusive_evidence_beats_not_local_whatever_the_order() -> None:
    here = rec("198.51.100.10", Status.OPEN, origin="node-a")
    elsewhere = rec("198.51.100.10", Status.NOT_LOCAL, origin="node-b")
    assert merge_records([[elsewhere], [here]]) == (here,)
    assert merge_records([[here], [elsewhere]]) == (here,)


def test_in_use_says_more_than_not_local() -> None:
    in_use = rec("198.51.100.10", Status.IN_USE, origin="auditor (claim)")
    not_local = rec("198.51.100.10", Status.NOT_LOCAL, origin="node-b")
    assert merge_records([[not_local], [in_use]]) == (in_use,)


def test_disagreeing_conclusive_evidence_is_a_conflict_naming_both_sources() -> None:
    open_ = rec("198.51.100.10", Status.OPEN, origin="node-a")
    blocked = rec("198.51.100.10", Status.FILTERED, origin="node-b")
    (merged,) = merge_records([[open_], [blocked]])
    assert merged.status is Status.CONFLICT
    assert merged.method is Method.MERGED
    assert "open (probe from node-a)" in merged.reason
    assert "filtered (probe from node-b)" in merged.reason


def _document(records: Sequence[ProbeRecord], host: str, digest: str) -> ResultsDocument:
    meta = RunMeta(
        "test", str(EXAMPLE), digest, host, "2026-11-30T00:00:00Z", "2026-11-30T00:00:01Z"
    )
    return ResultsDocument(meta=meta, records=tuple(records))


def _records_for(
    flows: Sequence[Flow], status_of: dict[str, Status], origin: str = "node"
) -> list[ProbeRecord]:
    """Every check of every flow, the reachability status chosen per source address."""
    out = []
    for flow in flows:
        reach = status_of.get(str(flow.source), Status.NOT_LOCAL)
        for i, check in enumerate(flow.checks):
            if i == 0:
                status = reach
            elif reach is Status.OPEN:
                status = {"tls": Status.TLS_OK, "ldap-bind": Status.BIND_OK}.get(check, reach)
            else:
                status = Status.SKIPPED
            out.append(
                ProbeRecord(
                    source=str(flow.source),
                    destination=str(flow.destination),
                    protocol=flow.protocol.value,
                    port=flow.port,
                    provider=flow.provider,
                    check=check.value,
                    status=status,
                    origin=origin,
                )
            )
    return out


def test_two_hosts_merged_equal_one_host_holding_both(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    both = {"198.51.100.10": Status.OPEN, "198.51.100.11": Status.FILTERED}
    a_only = {"198.51.100.10": Status.OPEN}
    b_only = {"198.51.100.11": Status.FILTERED}
    one = _records_for(prepared.flows, both)
    write_results(tmp_path / "a.json", _document(_records_for(prepared.flows, a_only), "a", digest))
    write_results(tmp_path / "b.json", _document(_records_for(prepared.flows, b_only), "b", digest))
    from auditor.evidence.load import load_evidence

    merged = load_evidence([tmp_path / "a.json", tmp_path / "b.json"], prepared.inventory)
    strip = lambda rs: sorted((r.key, r.check, r.status) for r in rs)  # noqa: E731
    assert strip(merged.records) == strip(one)
    assert merged.hosts == ("a", "b")


MIXES = {
    "all open": {"198.51.100.10": Status.OPEN, "198.51.100.11": Status.OPEN,
                 "198.51.100.12": Status.OPEN},
    "one blocked": {"198.51.100.10": Status.OPEN, "198.51.100.11": Status.FILTERED},
    "one refused": {"198.51.100.11": Status.REFUSED},
    "only errors": {"198.51.100.10": Status.ERROR, "198.51.100.11": Status.ERROR,
                    "198.51.100.12": Status.ERROR},
    "nothing local": {},
    "errors beside open": {"198.51.100.10": Status.OPEN, "198.51.100.11": Status.ERROR},
}  # fmt: skip


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_probe_and_audit_give_the_same_exit_code_on_the_same_records(
    mix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, MIXES[mix])
    document = tmp_path / "given.json"
    write_results(document, _document(records, "node", prepared.inventory.digest))
    # `probe` with its engine answering from the document: the judgement is what is tested.
    monkeypatch.setattr(
        "auditor.probe_run.probe_flows", lambda *a, **k: tuple(read_results(document).records)
    )
    probe_code = main(["probe", str(EXAMPLE), "-q", "-o", str(tmp_path / "probe.json")])
    audit_code = main(
        ["audit", str(EXAMPLE), "-q", "--no-store", "--evidence", str(document),
         "-o", str(tmp_path / "report")]
    )  # fmt: skip
    assert probe_code == audit_code
    assert probe_code in (0, 1, 3)


def test_audit_with_evidence_writes_the_merged_records(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    a = _records_for(prepared.flows, {"198.51.100.10": Status.OPEN}, origin="a")
    b = _records_for(prepared.flows, {"198.51.100.10": Status.FILTERED}, origin="b")
    write_results(tmp_path / "a.json", _document(a, "a", digest))
    write_results(tmp_path / "b.json", _document(b, "b", digest))
    code = main(
        ["audit", str(EXAMPLE), "-q", "--no-store", "-o", str(tmp_path / "r"),
         "--evidence", str(tmp_path / "a.json"), "--evidence", str(tmp_path / "b.json")]
    )  # fmt: skip
    assert code == 1
    written = read_results(tmp_path / "r" / "results.json")
    conflicts = [r for r in written.records if r.status is Status.CONFLICT]
    assert conflicts and all(r.source == "198.51.100.10" for r in conflicts)
    assert "probe from a" in conflicts[0].reason and "probe from b" in conflicts[0].reason
