"""The inventory loader's field checks: generic shapes (mappings, lists, text, names, ports,
paths, choices) that report each problem, located, and return None instead of raising.

Every section reader (auditor.inventory.load, appparams, healthspec) builds on these, so one
kind of value is refused with one message wherever it is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from auditor.documents.yamlsource import YamlDocument, join
from auditor.errors import Problem
from auditor.model.inventory_spec import MAX_TEXT
from auditor.textout import quoted
from auditor.values import NAME_EXPECTED, has_control, is_hostname, is_name

# Names reach firewall comments, chain names, file names and shell commands in tickets:
# a conservative alphabet, refused at load rather than escaped in every output. The patterns
# live in auditor.values (one validation path per kind of value, matched whole).

T = TypeVar("T")


class FieldReader:
    """Checks fields of one YAML document; problems collect in `problems`, located to lines."""

    def __init__(self, doc: YamlDocument, path: Path) -> None:
        self.doc = doc
        self.base = path.resolve().parent  # relative file paths are relative to the document
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(path), path, message))

    def mapping(self, path: str, value: Any, keys: Mapping[str, bool]) -> dict[str, Any] | None:
        """`value` as a mapping; unknown keys (with a close match) and missing required ones
        are reported. `keys` maps each accepted key to whether it is required."""
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping with keys {keys_text(keys)}, got {kind(value)}")
            return None
        if not path and value and not any(key in keys for key in value):
            # not this kind of file at all (a wrong path, a symlink to another file): one
            # line, and none of its keys repeated (its lines may be anything, even secrets)
            self.problem(
                path,
                f"none of its {len(value)} top-level keys is one of {keys_text(keys)} "
                "(expected this kind of file: is the path right?)",
            )
            return None
        for key in value:
            if key not in keys:
                hint = difflib.get_close_matches(str(key), list(keys), n=1)
                expected = (
                    f"did you mean '{hint[0]}'?" if hint else f"expected one of {keys_text(keys)}"
                )
                self.problem(join(path, key), f"unknown key ({expected})")
        for key, required in keys.items():
            if required and key not in value:
                self.problem(path, f"missing required key '{key}'")
        return value

    def sequence(self, path: str, value: Any, what: str, *, allow_empty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            self.problem(path, f"expected a list (of {what}), got {kind(value)}")
            return []
        if not value and not allow_empty:
            self.problem(path, f"list is empty (expected at least one {what})")
        return value

    def text(self, path: str, value: Any, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.problem(path, f"expected a string, got {kind(value)}")
            return None
        if has_control(value):
            self.problem(path, "contains a control character or line break (expected one line)")
            return None
        if len(value) > MAX_TEXT:
            self.problem(path, f"is {len(value)} characters long (expected at most {MAX_TEXT})")
            return None
        return value

    def name(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"expected a name ({NAME_EXPECTED}), got {kind(value)}")
            return None
        if not is_name(value):
            shown = value if len(value) <= 40 and not has_control(value) else "this value"
            self.problem(path, f"'{shown}' is not a valid name (expected {NAME_EXPECTED})")
            return None
        return value

    def hostname(self, path: str, value: Any) -> str | None:
        if not is_hostname(value):
            self.problem(
                path, f"expected a DNS hostname like ad.corp.example.com, got {show(value)}"
            )
            return None
        return str(value).rstrip(".").lower()

    def boolean(self, path: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {show(value)}")
            return None
        return value

    def port(self, path: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.problem(path, f"expected a port number 1-65535, got {show(value)}")
            return None
        return value

    def file_path(self, path: str, value: Any) -> Path | None:
        """A file path; a relative one is taken relative to the document's folder."""
        text = self.text(path, value)
        if text is None:
            return None
        if not text:
            self.problem(path, "is empty (expected a file path)")
            return None
        try:
            candidate = Path(text).expanduser()
        except RuntimeError:  # ~user of a user this host does not know
            self.problem(path, f"{show(text)}: cannot expand '~' (no such user's home here)")
            return None
        return candidate if candidate.is_absolute() else self.base / candidate

    def choice(self, path: str, value: Any, enum: Callable[[str], T], names: list[str]) -> T | None:
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        hint = difflib.get_close_matches(str(value), names, n=1)
        extra = f"; did you mean '{hint[0]}'?" if hint else ""
        self.problem(path, f"{show(value)} is not one of {', '.join(names)}{extra}")
        return None


def keys_text(keys: Mapping[str, bool]) -> str:
    return ", ".join(keys)


def kind(value: Any) -> str:
    """What a YAML value is, in words (for "expected X, got Y")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def show(value: Any) -> str:
    """A value as a problem quotes it: strings shortened, lists and mappings by kind only."""
    if isinstance(value, str):
        return quoted(value, 57)
    if value is None:
        return "nothing"
    return kind(value) if isinstance(value, list | dict) else quoted(value)
