"""Read a JSON document users hand back (probe results, run documents), and place its problems.

The file is a regular file whose size is checked before it is read. Parsing is bounded: numbers
longer than MAX_NUMBER_DIGITS (Python refuses to convert very long ones), NaN/Infinity (not
JSON) and nesting deeper than MAX_DEPTH are refused, each located. Lines come from the JSON text
itself: one pass that follows only the paths of the problems, skipping every other value with
the C decoder, so a 50 MB file with one bad record is placed as fast as it was parsed.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, TypeVar

from auditor.documents.codec import decode
from auditor.documents.yamlsource import read_bytes
from auditor.errors import InputError, Problem, nearest_line

T = TypeVar("T")
MAX_PROBLEMS = 100

MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 64
_WS = re.compile(r"[ \t\n\r]*")
# Strings (skipped whole) and brackets: enough to find where nesting gets too deep.
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|^([^.\[]+)")


class _Refused(ValueError):
    def __init__(self, needle: str, message: str) -> None:
        super().__init__(message)
        self.needle = needle
        self.message = message


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Refused(
            text, f"a number of {len(text)} digits (expected at most {MAX_NUMBER_DIGITS})"
        )
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS * 2:
        raise _Refused(text, f"a number of {len(text)} characters (expected a shorter one)")
    return float(text)


def _constant(text: str) -> float:
    raise _Refused(text, f"{text} is not JSON (expected a number or null)")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def load_json(path: Path, display: str, max_bytes: int, what: str) -> tuple[Any, str]:
    """(data, text) of one JSON file; InputError with a located line when it cannot be read."""
    raw = read_bytes(path, display, max_bytes, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Problem(display, line, "", "not UTF-8 text (expected JSON)")]) from None
    return parse_json(text, display), text


def parse_json(text: str, display: str) -> Any:
    """Parse `text`; InputError located to the parser's own line and column."""
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        problem = Problem(
            display, exc.lineno, "", f"not valid JSON: {exc.msg} (column {exc.colno})"
        )
        raise InputError([problem]) from None
    except _Refused as exc:
        at = text.find(exc.needle)
        raise InputError([Problem(display, _line_at(text, at), "", exc.message)]) from None
    except RecursionError:
        data = None
    if data is None or _too_deep(data):
        at = _deep_position(text)
        message = f"nested deeper than {MAX_DEPTH} levels (expected an auditor document)"
        raise InputError([Problem(display, _line_at(text, at), "", message)])
    return data


def decoded(cls: type[T], data: Any, text: str, display: str) -> T:
    """`data` (parsed from `text`) read as the dataclass `cls` by the codec; InputError with
    every problem at once, each at its line."""
    value, problems = decode(cls, data)
    if problems:
        raise InputError(placed(problems, text, display))
    return value  # type: ignore[return-value]  # decode returns a value when no problems


def placed(problems: Iterable[tuple[str, str]], text: str, display: str) -> list[Problem]:
    """(field path, message) pairs as Problems at their lines (a value's own, else its nearest
    ancestor's), from the top of the file down; past MAX_PROBLEMS, a count of the rest."""
    problems = list(problems)
    lines = locate(text, {a for path, _ in problems for a in _ancestors(path)})
    out = [Problem(display, nearest_line(lines, path), path, m) for path, m in problems]
    out.sort(key=lambda p: p.line or 0)
    if len(out) > MAX_PROBLEMS:
        rest = len(out) - MAX_PROBLEMS
        out = [*out[:MAX_PROBLEMS], Problem(display, None, "", f"{rest} more problem(s) not shown")]
    return out


def _ancestors(path: str) -> list[str]:
    out = [path]
    while (cut := max(path.rfind("."), path.rfind("["))) > 0:
        path = path[:cut]
        out.append(path)
    return out


def _line_at(text: str, position: int) -> int | None:
    return text.count("\n", 0, position) + 1 if position >= 0 else None


def _too_deep(data: Any) -> bool:
    """True when containers nest deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _deep_position(text: str) -> int:
    depth = 0
    for match in _BRACKETS.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif bracket in "]}":
            depth -= 1
    return -1


def split_path(path: str) -> tuple[str | int, ...]:
    """`records[3].port` -> ("records", 3, "port")."""
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(path):
        key, index, head = match.groups()
        parts.append(int(index) if index is not None else (key if key is not None else head))
    return tuple(parts)


def locate(text: str, paths: Iterable[str]) -> dict[str, int]:
    """The line of each field path (`records[3].port`) found in the JSON `text`."""
    wanted = {split_path(p): p for p in paths}
    inner = {parts[:i] for parts in wanted for i in range(len(parts))}
    finder = _Finder(text, wanted, inner)
    # a text that is not JSON after all keeps what was found before the surprise
    with contextlib.suppress(ValueError, IndexError):
        finder.value(0, ())
    return finder.found


class _Finder:
    def __init__(
        self, text: str, wanted: dict[tuple[str | int, ...], str], inner: set[tuple[Any, ...]]
    ) -> None:
        self.text = text
        self.wanted = wanted
        self.inner = inner
        self.found: dict[str, int] = {}
        self._pos = 0
        self._line = 1

    def _skip_ws(self, idx: int) -> int:
        match = _WS.match(self.text, idx)
        return match.end() if match else idx

    def _line_of(self, idx: int) -> int:
        # positions only grow during the walk: count newlines incrementally
        self._line += self.text.count("\n", self._pos, idx)
        self._pos = idx
        return self._line

    def value(self, idx: int, parts: tuple[str | int, ...]) -> int:
        idx = self._skip_ws(idx)
        if parts in self.wanted:
            self.found[self.wanted[parts]] = self._line_of(idx)
        char = self.text[idx]
        if parts in self.inner and char == "{":
            return self._object(idx + 1, parts)
        if parts in self.inner and char == "[":
            return self._array(idx + 1, parts)
        return _DECODER.raw_decode(self.text, idx)[1]

    def _object(self, idx: int, parts: tuple[str | int, ...]) -> int:
        idx = self._skip_ws(idx)
        if self.text[idx] == "}":
            return idx + 1
        while True:
            key, idx = scanstring(self.text, self._skip_ws(idx) + 1)
            idx = self._skip_ws(idx) + 1  # the ':'
            idx = self.value(idx, (*parts, key))
            idx = self._skip_ws(idx)
            if self.text[idx] == "}":
                return idx + 1
            idx += 1  # the ','

    def _array(self, idx: int, parts: tuple[str | int, ...]) -> int:
        idx = self._skip_ws(idx)
        if self.text[idx] == "]":
            return idx + 1
        i = 0
        while True:
            idx = self.value(idx, (*parts, i))
            idx = self._skip_ws(idx)
            if self.text[idx] == "]":
                return idx + 1
            idx += 1
            i += 1
