"""JSON from the model's own definition: frozen dataclasses walked by their type hints.

One definition per shape: `to_json` writes a dataclass by its fields (names, types, the
markers of `auditor.documents.fields`), `decode` reads it back and reports every value that
does not fit, with its field path and what was expected, and `auditor.documents.describe`
writes the same fields as JSON Schema: a document's format, its reader, its validation and its
shipped schema cannot drift apart. Supported field types: str, int, float, bool, None, StrEnum,
netaddr IPAddress/IPNetwork, Path, tuples, frozensets, Mappings of str, unions of these, nested
dataclasses, and `Any` (plain JSON, kept as is); a field marked `Via` is written and read by
the functions it names. Fields marked `compare=False` (derived data
such as an inventory's line map) are not written. Unknown keys are ignored when read, so a
document may carry more (its format name, a summary).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.describe import expected
from auditor.documents.fields import (
    As,
    Layout,
    Valid,
    Via,
    first_mark,
    is_dataclass_type,
    is_union,
    peel,
    slots,
)
from auditor.textout import printable

T = TypeVar("T")


# ---- writing ----------------------------------------------------------------------------


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_json(value: Any) -> Any:
    """Plain JSON data for a model value (a dataclass, or anything a field may hold)."""
    if type(value) in _PLAIN:  # exact types: a StrEnum member is a str, but written by value
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_object(value, type(value))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, IPAddress | IPNetwork | Path):
        return str(value)
    if isinstance(value, frozenset | set):
        items = list(value)
        if items and all(isinstance(v, Enum) for v in items):
            members: list[Enum] = list(typing.cast(type[Enum], type(items[0])))
            order = {m: i for i, m in enumerate(members)}  # the vocabulary's order
            return [to_json(v) for v in sorted(items, key=order.__getitem__)]
        return sorted(to_json(v) for v in items)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def _encode_object(value: Any, cls: type) -> dict[str, Any]:
    """`value`'s fields as `cls` defines them (`value` may be any object with those
    attributes); inlined fields come last."""
    out: dict[str, Any] = {}
    inline: dict[str, Any] = {}
    for name, omit, is_inline, encode in _writer(cls):
        item = getattr(value, name)
        if omit and is_empty(item):
            continue
        if is_inline:
            inline.update(to_json(item) if item is not None else {})
            continue
        out[name] = encode(item)
    out.update(inline)
    return out


def is_empty(item: Any) -> bool:
    """Whether a field marked OMIT is left out: None or empty."""
    return item is None or item in ((), {}, frozenset(), "")


@cache
def _writer(cls: type) -> tuple[tuple[str, bool, bool, Callable[[Any], Any]], ...]:
    """Per field: its name, whether it is left out when empty, whether inlined, its encoder."""
    return tuple(
        (s.name, Layout.OMIT in s.marks, Layout.INLINE in s.marks, encoder(s.hint))
        for s in slots(cls)
    )


def encoder(tp: Any) -> Callable[[Any], Any]:
    """The writer of values of type `tp` (a field's type, with its markers)."""
    base, marks = peel(tp)
    via = first_mark(marks, Via)
    if via is not None:
        return via.write
    as_cls = first_mark(marks, As)
    if as_cls is not None:
        return lambda value: _encode_object(value, as_cls.cls)
    if Layout.PAIRS in marks:
        return lambda value: {str(k): to_json(v) for k, v in value}
    if get_origin(base) is tuple and peel(get_args(base)[0])[1]:
        item = encoder(get_args(base)[0])  # items that carry markers of their own
        return lambda value: [item(v) for v in value]
    return to_json


# ---- reading ----------------------------------------------------------------------------


def decode(cls: type[T], data: Any, path: str = "") -> tuple[T | None, list[tuple[str, str]]]:
    """(the dataclass `cls` read from `data`, []), or (None, every (path, problem))."""
    problems: Problems = []
    value = reader(typing.cast(Any, cls))(data, path, problems)
    if problems:
        return None, problems
    return typing.cast(T, value), []


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def shown(value: Any) -> str:
    """A JSON value as the user wrote it, shortened."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = printable(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """A results document names a few addresses many times: parse each once."""
    return IPAddress(text, 6 if ":" in text else 4)


class _Bad:
    """What a value that did not fit reads as (its problem is already recorded)."""


BAD: Any = _Bad()
Problems = list[tuple[str, str]]
# Reads one value: (data, its path, where problems go) -> the value, or BAD with a problem.
Read = Callable[[Any, str, Problems], Any]
_NONE = type(None)


class _Misfit(ValueError):
    """A leaf value of the wrong kind (caught by its reader, never raised further)."""


def wrong(problems: Problems, path: str, data: Any, want: str) -> Any:
    """Records that `data` at `path` is not `want`; BAD."""
    problems.append((path, f"is {shown(data)} (expected {want})"))
    return BAD


@cache
def reader(tp: Any) -> Read:
    """The reader of values of type `tp`, built once: a results document reads the same few
    types a million times."""
    base, marks = peel(tp)
    read = _marked(base, marks) or _plain(base)
    valid = first_mark(marks, Valid)
    if valid is not None:
        read = _validated(read, valid, expected(tp))
    if is_union(base) and _NONE in get_args(base):
        read = _or_none(read)
    return read


def _marked(base: Any, marks: tuple[Any, ...]) -> Read | None:
    for mark in marks:
        if isinstance(mark, Via):
            return mark.read
        if isinstance(mark, As):
            return reader(mark.cls)
        if mark is Layout.PAIRS:
            mapping = reader(Mapping[str, get_args(get_args(base)[0])[1]])  # type: ignore[misc]
            return lambda data, path, problems: (
                BAD if (out := mapping(data, path, problems)) is BAD else tuple(sorted(out.items()))
            )
    return None


def _validated(inner: Read, valid: Valid, want: str) -> Read:
    def read(data: Any, path: str, problems: Problems) -> Any:
        trial: Problems = []  # a value not even of its type is told what would pass
        out = inner(data, path, trial)
        if trial or not valid.test(out):
            return wrong(problems, path, data, want)
        return out

    return read


def _or_none(inner: Read) -> Read:
    return lambda data, path, problems: None if data is None else inner(data, path, problems)


def _plain(tp: Any) -> Read:
    if tp is Any:
        return lambda data, path, problems: data
    if is_union(tp):
        return _union(tp)
    if is_dataclass_type(tp):
        return _object(tp)
    origin = get_origin(tp)
    if origin in (tuple, frozenset):
        return _sequence(tp, frozenset if origin is frozenset else tuple)
    if origin is not None and issubclass(origin, Mapping):
        return _mapping(tp)
    return _leaf(tp)


def _sequence(tp: Any, build: Callable[[list[Any]], Any]) -> Read:
    want, item_type = expected(tp), get_args(tp)[0]

    def read(data: Any, path: str, problems: Problems) -> Any:
        if not isinstance(data, list):
            return wrong(problems, path, data, want)
        item = reader(item_type)
        items = [item(v, f"{path}[{i}]", problems) for i, v in enumerate(data)]
        return BAD if any(v is BAD for v in items) else build(items)

    return read


def _mapping(tp: Any) -> Read:
    want, item_type = expected(tp), get_args(tp)[1]

    def read(data: Any, path: str, problems: Problems) -> Any:
        if not isinstance(data, Mapping):
            return wrong(problems, path, data, want)
        item = reader(item_type)
        out = {str(k): item(v, join(path, str(k)), problems) for k, v in data.items()}
        return BAD if any(v is BAD for v in out.values()) else out

    return read


Plan = list[tuple[str, Read, bool, str | None]]


def _object(cls: type) -> Read:
    want = expected(cls)
    plan: Plan = []

    def read(data: Any, path: str, problems: Problems) -> Any:
        if not isinstance(data, Mapping):
            return wrong(problems, path, data, want)
        if not plan:  # built on first use, whole (a field's type may be this very class)
            plan[:] = _plan(cls)
        kwargs: dict[str, Any] = {}
        bad = False
        for name, field, inline, missing in plan:
            if inline:
                value = field(data, path, problems)
            elif name in data:
                value = field(data[name], f"{path}.{name}" if path else name, problems)
            elif missing is not None:
                problems.append((f"{path}.{name}" if path else name, missing))
                value = BAD
            else:
                continue
            bad = bad or value is BAD
            kwargs[name] = value
        return BAD if bad else cls(**kwargs)

    return read


def _plan(cls: type) -> Plan:
    """Per field: its name, its reader, whether inlined, and its message when missing."""
    out: Plan = []
    for slot in slots(cls):
        if Layout.INLINE in slot.marks:
            inner = next(o for o in get_args(peel(slot.hint)[0]) if is_dataclass_type(o))
            out.append((slot.name, _inline(inner), True, None))
            continue
        missing = f"missing (expected {expected(slot.hint)})" if slot.required else None
        out.append((slot.name, reader(slot.hint), False, missing))
    return out


def _inline(cls: type) -> Read:
    """An inlined dataclass is there when any of its keys is."""
    keys, read = tuple(s.name for s in slots(cls)), reader(cls)
    return lambda data, path, problems: (
        read(data, path, problems) if any(k in data for k in keys) else None
    )


def _union(tp: Any) -> Read:
    options = [o for o in get_args(tp) if o is not _NONE]
    if len(options) == 1:
        return reader(options[0])
    # An address before a plain string: a destination is an IP unless it is not one.
    ordered = [reader(o) for o in sorted(options, key=lambda o: peel(o)[0] is str)]
    want = expected(tp)

    def read(data: Any, path: str, problems: Problems) -> Any:
        for option in ordered:
            trial: Problems = []
            value = option(data, path, trial)
            if not trial:
                return value
        return wrong(problems, path, data, want)

    return read


def _leaf(tp: Any) -> Read:
    want, convert = expected(tp), _converter(tp)

    def read(data: Any, path: str, problems: Problems) -> Any:
        try:
            return convert(data)
        except (AddrFormatError, ValueError, TypeError, KeyError):
            return wrong(problems, path, data, want)

    return read


def _converter(tp: Any) -> Callable[[Any], Any]:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {m.value: m for m in tp}.__getitem__
    converters: dict[Any, Callable[[Any], Any]] = {
        IPAddress: lambda d: _address(_of(d, str)),
        IPNetwork: _network,
        Path: lambda d: Path(_of(d, str)),
        _NONE: lambda d: _of(d, _NONE),
        float: lambda d: float(_of(d, int | float)),
        int: lambda d: _of(d, int),
        str: lambda d: _of(d, str),
        bool: lambda d: _of(d, bool),
    }
    return converters[tp]


def _of(data: Any, kind: Any) -> Any:
    """`data` when it is of `kind` (a bool is not a number here, as in JSON)."""
    if isinstance(data, kind) and (kind is bool or not isinstance(data, bool)):
        return data
    raise _Misfit


def _network(data: Any) -> IPNetwork:
    if "/" not in _of(data, str):  # an interface keeps its prefix: never a silent /32
        raise _Misfit
    return IPNetwork(data)
