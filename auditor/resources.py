"""Where the shipped templates and requirement packs are.

In a wheel they are `auditor/templates` and `auditor/rules`; in a source checkout they are the
top-level `templates/` and `rules/` folders beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The shipped folder `name` ("templates" or "rules")."""
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"shipped folder {name} not found beside {_PACKAGE}")


def templates_dir() -> Path:
    return data_dir("templates")


def rules_dir() -> Path:
    return data_dir("rules")


def schema_path(name: str) -> Path:
    """The shipped JSON Schema `name` ("inventory", "results" or "run")."""
    return _PACKAGE / "schemas" / f"{name}.schema.json"
