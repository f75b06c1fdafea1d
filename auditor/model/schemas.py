"""The shipped JSON Schemas of the documents the auditor writes, generated from the model.

`python -m auditor.model.schemas` (or `make schemas`) rewrites auditor/schemas/; a test
fails when a shipped file differs from what the model generates. The inventory's schema is
not here: it describes the YAML a user writes, not a document the auditor writes, and is
generated from the inventory's definition by auditor.inventory.schema (also `make schemas`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from auditor.model.results import results_schema
from auditor.model.rundoc import run_schema
from auditor.resources import schema_path

GENERATED: dict[str, Callable[[], dict[str, Any]]] = {
    "results": results_schema,
    "run": run_schema,
}


def render(name: str) -> str:
    return json.dumps(GENERATED[name](), indent=2) + "\n"


def main() -> int:
    for name in GENERATED:
        path = schema_path(name)
        text = render(name)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
