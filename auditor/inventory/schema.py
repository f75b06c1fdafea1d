"""The inventory's JSON Schema, generated from its one definition (auditor.model.inventory_spec).

`python -m auditor.inventory.schema` (part of `make schemas`) rewrites
auditor/schemas/inventory.schema.json; tests/test_schema.py fails when the shipped file differs.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from auditor.model.inventory_spec import INVENTORY, SECTIONS, VALUES, Section, model_mismatches
from auditor.resources import schema_path

SCHEMA_ID = "https://failover-auditor.example/schemas/inventory.schema.json"


def section_schema(section: Section) -> dict[str, Any]:
    """One mapping: exactly its keys (additionalProperties false), the required ones, and
    exactly one source for each secret it names."""
    out: dict[str, Any] = {"type": "object", "additionalProperties": False}
    required = [key.name for key in section.keys if key.required]
    if required:
        out["required"] = required
    if section.description:
        out["description"] = section.description
    properties: dict[str, Any] = {}
    for key in section.keys:
        shape = dict(key.shape)
        if key.nullable:
            shape = {"anyOf": [shape, {"type": "null"}]}
        if key.description:
            shape["description"] = key.description
        properties[key.name] = shape
    out["properties"] = properties
    one_source = [{"oneOf": [given(s.env_key), given(s.file_key)]} for s in section.secrets]
    if len(one_source) == 1:
        out.update(one_source[0])
    elif one_source:
        out["allOf"] = one_source
    return out


def given(key: str) -> dict[str, Any]:
    """`key` is there with a value (`key:` with none counts as left out)."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


def inventory_schema() -> dict[str, Any]:
    top = section_schema(INVENTORY)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Shared-IP failover pair inventory",
        "description": top.pop("description")
        + " Loaded by `auditor.inventory.load_inventory`; generated from"
        " auditor.model.inventory_spec, the definition the loader reads.",
        **top,
        "$defs": {**VALUES, **{s.name: section_schema(s) for s in SECTIONS}},
    }


def render() -> str:
    return json.dumps(inventory_schema(), indent=2) + "\n"


def main() -> int:
    mismatches = model_mismatches()
    if mismatches:
        sys.stderr.write("".join(f"auditor/model/inventory_spec.py: {m}\n" for m in mismatches))
        return 1
    path = schema_path("inventory")
    text = render()
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
