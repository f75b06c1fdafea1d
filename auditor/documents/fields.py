"""What a model field says about its JSON, beyond its type: `Annotated[int, PORT]`.

The model's dataclasses are the one definition of every document shape; these markers carry
the rest of it (a value's range or pattern, a field written only when set), and the codec
(`auditor.documents.codec`) reads them to write, read, validate and describe the JSON.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Annotated, Any, TypeVar, Union, get_origin

from netaddr import AddrFormatError, IPAddress

from auditor.values import NAME_RE, is_hostname, is_name

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Valid:
    """A value of the field's type that must also pass `test`; `expected` says what passes,
    in the words of an error message, and `schema` in JSON Schema."""

    test: Callable[[Any], bool]
    expected: str
    schema: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Layout(Enum):
    """Where and when a field is written."""

    OMIT = "omit"  # not written when None or empty; so it may be absent when read
    INLINE = "inline"  # an optional dataclass whose fields sit in the parent object
    PAIRS = "pairs"  # a tuple of (key, value) pairs, written as an object


OMIT = Layout.OMIT
INLINE = Layout.INLINE
PAIRS = Layout.PAIRS


@dataclass(frozen=True, eq=False)
class As:
    """A field typed by a protocol: its JSON is the dataclass `cls`, read from the value's
    attributes when written and built as `cls` when read."""

    cls: type


@dataclass(frozen=True, eq=False)
class Via:
    """A field whose JSON comes from a definition of its own rather than its type's fields:
    `write(value)` gives its plain JSON, `read(data, path, problems)` the value (or the codec's
    BAD, with every problem recorded). The run document's copy of the inventory is written
    and read this way, by the inventory's definition (auditor.model.inventory_copy)."""

    write: Callable[[Any], Any]
    read: Callable[[Any, str, list[tuple[str, str]]], Any]


@lru_cache(maxsize=4096)
def _ip_text(value: str) -> bool:
    """A document names a few addresses many times: check each once."""
    try:
        IPAddress(value, 6 if ":" in value else 4)
    except (AddrFormatError, ValueError, TypeError):
        return False
    return True


def in_range(low: int, high: int, expected: str) -> Valid:
    return Valid(lambda v: low <= v <= high, expected, {"minimum": low, "maximum": high})


def one_of(values: Iterable[Enum]) -> Valid:
    """A `str` field that holds the value of one member of an enum."""
    allowed = tuple(str(m.value) for m in values)
    return Valid(lambda v: v in allowed, "one of " + ", ".join(allowed), {"enum": list(allowed)})


NAME = Valid(is_name, "a name", {"pattern": f"^{NAME_RE.pattern}$"})
HOSTNAME = Valid(is_hostname, "a hostname")
# The codec tests a value only once it has its field's type (a str here): never unhashable.
IP_TEXT = Valid(_ip_text, "an IP address")
ADDRESS_OR_HOSTNAME = Valid(lambda v: _ip_text(v) or is_hostname(v), "an IP address or a hostname")
PORT = in_range(1, 65535, "a port number 1-65535")

_RFC3339 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _timestamp(value: str) -> bool:
    """An RFC 3339 date-time with its offset, and a real one (no 2026-02-30, no 25:00)."""
    if not re.fullmatch(_RFC3339, value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# A moment, or "" where none was recorded.
TIMESTAMP = Valid(
    lambda v: v == "" or _timestamp(v),
    "an RFC 3339 date-time such as 2026-11-30T08:15:00Z, or empty",
    {"pattern": f"^$|^{_RFC3339}$"},
)


# ---- reading the markers ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """One written field of a dataclass: name, full type, layout marks, must a document have it."""

    name: str
    hint: Any
    marks: tuple[Any, ...]
    required: bool


def peel(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """(the type, its Annotated markers)."""
    if get_origin(tp) is Annotated:
        return tp.__origin__, tuple(tp.__metadata__)
    return tp, ()


@cache
def slots(cls: type) -> tuple[Slot, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        if not f.compare:
            continue
        marks = peel(hints[f.name])[1]
        has_default = f.default is not dataclasses.MISSING or (
            f.default_factory is not dataclasses.MISSING
        )
        out.append(Slot(f.name, hints[f.name], marks, not has_default))
    return tuple(out)


def is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def first_mark(marks: tuple[Any, ...], kind: type[T]) -> T | None:
    return next((m for m in marks if isinstance(m, kind)), None)
