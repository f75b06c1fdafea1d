"""Located checks of the JSON documents users hand back (probe results, run documents).

Each problem is one `Problem(file, line, field.path, "is X (expected Y)")`; a checker collects
them all so the user fixes the file in one go. Lines come from the JSON text itself
(`jsonsource.locate`, one pass for every problem), and only when there is a problem to place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.jsonsource import locate
from auditor.errors import Problem
from auditor.evidence.record import Method, Status
from auditor.inventory.model import Check, Protocol, nearest_line
from auditor.inventory.yamlsource import join
from auditor.values import is_hostname, is_name

# Parses one JSON value; raises ValueError or TypeError when it is not what is expected.
Parse = Callable[[Any], Any]

RECORD_TEXT = ("provider", "reason")


def shown(value: Any) -> str:
    """A JSON value as the user wrote it, shortened."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def integer(low: int, high: int) -> Parse:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(value)
        return value

    return parse


def an_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(value)
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def ip_address(value: Any) -> IPAddress:
    if not isinstance(value, str):
        raise TypeError(value)
    try:
        return _address(value)
    except AddrFormatError as exc:
        raise ValueError(value) from exc


@lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """A results document names a few addresses many times: parse each once."""
    return IPAddress(text, 6 if ":" in text else 4)


def ip_interface(value: Any) -> IPNetwork:
    if not isinstance(value, str) or "/" not in value:
        raise TypeError(value)
    try:
        return IPNetwork(value)
    except AddrFormatError as exc:
        raise ValueError(value) from exc


def hostname(value: Any) -> str:
    if not is_hostname(value):
        raise ValueError(value)
    return str(value)


def name(value: Any) -> str:
    """A site, appliance, provider or kind name (they reach chain names and terminals)."""
    if not is_name(value):
        raise ValueError(value)
    return str(value)


def address_or_hostname(value: Any) -> object:
    try:
        return ip_address(value)
    except (TypeError, ValueError):
        return hostname(value)


def one_of(values: Iterable[str]) -> Parse:
    allowed = tuple(values)

    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError(value)
        return str(value)

    return parse


def choices(values: Iterable[str]) -> str:
    return "one of " + ", ".join(values)


MAX_PROBLEMS = 100


class JsonChecker:
    """Collects located problems in one JSON document (`source` is its text, for lines)."""

    def __init__(self, display: str, source: str) -> None:
        self.display = display
        self.source = source
        self.problems: list[Problem] = []  # located lazily, all at once, by in_file_order

    def line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        return nearest_line(locate(self.source, _ancestors(path)), path)

    def in_file_order(self) -> list[Problem]:
        """The problems, located, from the top of the file down (unlocated ones first); past
        MAX_PROBLEMS, a count of the rest."""
        lines = locate(self.source, {a for p in self.problems for a in _ancestors(p.field)})
        placed = [
            Problem(p.file, nearest_line(lines, p.field), p.field, p.message) for p in self.problems
        ]
        placed.sort(key=lambda p: p.line or 0)
        if len(placed) > MAX_PROBLEMS:
            rest = len(placed) - MAX_PROBLEMS
            placed = [
                *placed[:MAX_PROBLEMS],
                Problem(self.display, None, "", f"{rest} more problem(s) not shown"),
            ]
        return placed

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.display, None, path, message))

    def field(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        parse: Parse,
        expected: str,
        *,
        optional: bool = False,
    ) -> Any:
        """The parsed value of obj[key]; None (and a problem, unless optional and absent or
        null) when it is missing or wrong."""
        where = join(path, key)
        if key not in obj:
            if not optional:
                self.add(where, f"missing (expected {expected})")
            return None
        value = obj[key]
        if value is None and optional:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError):
            self.add(where, f"is {shown(value)} (expected {expected})")
            return None

    def string(self, obj: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Any:
        return self.field(obj, key, path, text, "a string", optional=optional)

    def mapping(self, value: Any, path: str, expected: str) -> dict[str, Any] | None:
        """`value` when it is an object; else a problem at `path`."""
        if isinstance(value, dict):
            return value
        self.add(path, f"is {shown(value)} (expected {expected})")
        return None

    def items(
        self, obj: Mapping[str, Any], key: str, path: str, expected: str, *, optional: bool = False
    ) -> list[tuple[str, Any]]:
        """(path, item) for each item of the list obj[key]; a problem when it is not a list."""
        where = join(path, key)
        if key not in obj:
            if not optional:
                self.add(where, f"missing (expected {expected})")
            return []
        value = obj[key]
        if value is None and optional:
            return []
        if not isinstance(value, list):
            self.add(where, f"is {shown(value)} (expected {expected})")
            return []
        return [(join(where, i), item) for i, item in enumerate(value)]

    def strings(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        parse: Parse = text,
        expected: str = "a string",
        *,
        optional: bool = False,
    ) -> None:
        """A list whose every item parses."""
        for where, item in self.items(obj, key, path, f"a list of {expected}", optional=optional):
            try:
                parse(item)
            except (TypeError, ValueError):
                self.add(where, f"is {shown(item)} (expected {expected})")


def _ancestors(path: str) -> list[str]:
    out = [path]
    while True:
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return out
        path = path[:cut]
        out.append(path)


STATUSES = tuple(s.value for s in Status)
CHECKS = tuple(c.value for c in Check)
PROTOCOLS = tuple(p.value for p in Protocol)
METHODS = tuple(m.value for m in Method)


def check_record(checker: JsonChecker, rec: Any, where: str) -> bool:
    """Check one probe record (as ProbeRecord.to_json writes it); True when it is sound."""
    before = len(checker.problems)
    if checker.mapping(rec, where, "an object: a probe record") is None:
        return False
    checker.field(rec, "source", where, ip_address, "an IP address")
    checker.field(rec, "destination", where, address_or_hostname, "an IP address or a hostname")
    checker.field(rec, "protocol", where, one_of(PROTOCOLS), choices(PROTOCOLS))
    checker.field(rec, "port", where, integer(1, 65535), "a port number 1-65535")
    checker.field(rec, "check", where, one_of(CHECKS), choices(CHECKS))
    checker.field(rec, "status", where, one_of(STATUSES), choices(STATUSES))
    for key in RECORD_TEXT:
        checker.string(rec, key, where)
    checker.field(rec, "latency_ms", where, number, "a number or null", optional=True)
    checker.field(rec, "attempts", where, integer(0, 1_000_000), "a count", optional=True)
    checker.field(rec, "method", where, one_of(METHODS), choices(METHODS), optional=True)
    for key in ("origin", "observed_at"):
        checker.string(rec, key, where, optional=True)
    detail = rec.get("detail")
    if detail is not None and (
        not isinstance(detail, dict) or not all(isinstance(v, str) for v in detail.values())
    ):
        checker.add(f"{where}.detail", "expected an object of strings")
    if rec.get("not_after") is not None:
        for key in ("subject", "issuer", "not_after"):
            checker.string(rec, key, where, optional=key != "not_after")
        checker.field(
            rec, "days_left", where, integer(-(10**6), 10**6), "an integer", optional=True
        )
        checker.strings(rec, "san", where, optional=True)
    return len(checker.problems) == before
