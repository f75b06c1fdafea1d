"""What a model field says about its JSON, beyond its type: `Annotated[int, PORT]`.

The model's dataclasses are the one definition of every document shape; these markers carry
the rest of it (a value's range or pattern, a field written only when set), and the codec
(`auditor.documents.codec`) reads them to write, read, validate and describe the JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from netaddr import AddrFormatError, IPAddress

from auditor.values import NAME_RE, is_hostname, is_name


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
class Keep:
    """Plain JSON kept as it is, but checked against the dataclass `shape` (the part of it
    the auditor reads) when read."""

    shape: type


def _ip_text(value: Any) -> bool:
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
IP_TEXT = Valid(_ip_text, "an IP address")
ADDRESS_OR_HOSTNAME = Valid(lambda v: _ip_text(v) or is_hostname(v), "an IP address or a hostname")
PORT = in_range(1, 65535, "a port number 1-65535")
