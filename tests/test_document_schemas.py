"""One definition per document shape: the results and run documents are written, read,
validated and described (the shipped JSON Schemas) from the model's dataclasses, and the
documents the earlier hand-written codecs wrote still read, and are written again byte for byte."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
import report_factories as rf
from support.readers import read_run_file

from auditor.errors import InputError
from auditor.flows.prepare import prepare
from auditor.model.record import Method, Status
from auditor.model.results import dumps as results_dumps
from auditor.model.results import read_results
from auditor.model.rundoc import dumps as run_dumps
from auditor.model.schemas import GENERATED, render
from auditor.resources import schema_path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "documents"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_the_shipped_schema_is_the_one_the_model_generates(name: str) -> None:
    shipped = schema_path(name).read_text(encoding="utf-8")
    assert shipped == render(name), f"run `make schemas` to regenerate {schema_path(name)}"
    jsonschema.Draft202012Validator.check_schema(json.loads(shipped))


def test_a_results_document_of_the_hand_written_codec_reads_and_writes_back_the_same() -> None:
    path = GOLDEN / "results-v1.json"
    doc = read_results(path)
    assert results_dumps(doc) == path.read_text(encoding="utf-8")
    jsonschema.validate(json.loads(path.read_text()), json.loads(render("results")))
    radius = next(r for r in doc.records if r.check == "radius")
    assert radius.detail == (("code", "Access-Reject"), ("reply_message", "no"))
    assert radius.destination == "ad.corp.example.com" and radius.attempts == 2
    assert next(r for r in doc.records if r.method is Method.RULESET).origin == "rules.v4"
    certs = [r.cert for r in doc.records if r.cert is not None]
    assert len(certs) == 2 and all(c.days_left for c in certs)


def test_a_run_document_of_the_hand_written_codec_reads_and_writes_back_the_same() -> None:
    path = GOLDEN / "run-v1.json"
    run = read_run_file(path)
    assert run_dumps(run) == path.read_text(encoding="utf-8")
    jsonschema.validate(json.loads(path.read_text()), json.loads(render("run")))
    assert str(run.flows[0].destination) == "ad.corp.example.com"
    assert run.live_status == "primary-active" and run.lint[0].severity == "warning"


def test_an_inventory_with_health_and_application_settings_survives_a_run_document(
    tmp_path: Path,
) -> None:
    """The hand-written codec dropped `health:`, `radius:`, `kerberos:` and `dns:`."""
    inventory = prepare(ROOT / "examples" / "health.yaml", resolve=False).inventory
    assert inventory.pair.primary.health is not None
    run = replace(rf.green_run(), inventory=inventory)
    (tmp_path / "run.json").write_text(run_dumps(run), encoding="utf-8")
    assert read_run_file(tmp_path / "run.json") == run


def test_a_half_written_certificate_is_refused_at_its_line(tmp_path: Path) -> None:
    doc = json.loads((GOLDEN / "results-v1.json").read_text())
    index = next(i for i, r in enumerate(doc["records"]) if "not_after" in r)
    del doc["records"][index]["issuer"]
    doc["records"][index]["days_left"] = "soon"
    text = json.dumps(doc, indent=2)
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_results(path)
    line = text[: text.index('"days_left": "soon"')].count("\n") + 1
    start = text.index('"records"')
    for _ in range(index + 1):
        start = text.index('"source"', start + 1)
    record = text[:start].count("\n")  # the record's "{", the line above its first key
    assert [str(p) for p in err.value.problems] == [
        f"{path}:{record}: records[{index}].issuer: missing (expected a string)",
        f'{path}:{line}: records[{index}].days_left: is "soon" (expected a number of days)',
    ]


def test_every_status_counts_in_the_summary_the_schema_allows() -> None:
    schema = json.loads(render("results"))
    assert schema["$defs"]["status"]["enum"] == [s.value for s in Status]
