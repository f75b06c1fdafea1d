"""The model is the one definition of a run document's shape: JSON, the decoder and the JSON
Schema all follow the dataclasses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from support.readers import DecodeError, from_json

from auditor.documents.codec import to_json
from auditor.documents.describe import json_schema
from auditor.flows.prepare import prepare
from auditor.model.inventory import Flow, Inventory

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("example", ["pair.yaml", "health.yaml", "lab-inventory.yaml"])
def test_inventory_and_flows_survive_json_and_match_the_generated_schema(example: str) -> None:
    prepared = prepare(REPO / "examples" / example, resolve=False)
    inv = json.loads(json.dumps(to_json(prepared.inventory)))
    jsonschema.validate(inv, json_schema(Inventory))
    back = from_json(Inventory, inv)
    assert back == prepared.inventory
    assert back.pair.primary.health == prepared.inventory.pair.primary.health
    flows = [json.loads(json.dumps(to_json(f))) for f in prepared.flows]
    assert tuple(from_json(Flow, f) for f in flows) == prepared.flows


def test_a_value_of_the_wrong_kind_names_its_field() -> None:
    prepared = prepare(REPO / "examples" / "pair.yaml")
    doc = to_json(prepared.inventory)
    doc["pair"]["backup"]["addresses"][1]["role"] = "floating"
    with pytest.raises(DecodeError) as exc:
        from_json(Inventory, doc)
    assert exc.value.path == "pair.backup.addresses[1].role"
    assert "expected one of unique, shared" in exc.value.message


def test_a_missing_required_field_is_named() -> None:
    doc = to_json(prepare(REPO / "examples" / "pair.yaml").flows[0])
    del doc["port"]
    with pytest.raises(DecodeError, match=r"^port: missing \(expected a port number 1-65535\)$"):
        from_json(Flow, doc)
