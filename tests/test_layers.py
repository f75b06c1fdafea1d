"""A private name (`_x`) stays in its module: no module of the package imports one from
another (the layers themselves are held by `lint-imports` in `make lint`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"


def private_imports(source: str) -> list[str]:
    """`module._name` for every private name `source` imports from the package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("auditor"):
            found += [
                f"{node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
    return found


def test_the_check_sees_a_private_import() -> None:
    source = "from auditor.plan.model import _Cell, Plan\nfrom os import _exit\n"
    assert private_imports(source) == ["auditor.plan.model._Cell"]


def test_no_module_imports_a_private_name_of_another() -> None:
    found = {
        str(path.relative_to(PACKAGE.parent)): names
        for path in sorted(PACKAGE.rglob("*.py"))
        if (names := private_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}
