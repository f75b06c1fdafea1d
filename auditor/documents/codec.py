"""JSON from the model's own definition: frozen dataclasses walked by their type hints.

One definition per shape: `to_json` writes a dataclass by its fields (names, types, the
markers of `auditor.documents.fields`), `decode` reads it back and reports every value that
does not fit, with its field path and what was expected, and `auditor.documents.describe`
writes the same fields as JSON Schema: a document's format, its reader, its validation and its
shipped schema cannot drift apart. Supported field types: str, int, float, bool, None, StrEnum,
netaddr IPAddress/IPNetwork, Path, tuples, frozensets, Mappings of str, unions of these, nested
dataclasses, and `Any` (plain JSON, kept as is). Fields marked `compare=False` (derived data
such as an inventory's line map) are not written. Unknown keys are ignored when read, so a
document may carry more (its format name, a summary).
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.fields import As, Keep, Layout, Valid

T = TypeVar("T")

SCALARS: Mapping[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
WORDS: Mapping[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
    IPAddress: "an IP address",
    IPNetwork: "an address with its prefix, a.b.c.d/n",
    Path: "a path",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """One written field of a dataclass: its name, full type, layout marks, and whether a
    document must have it."""

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


# ---- writing ----------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Plain JSON data for a model value (a dataclass, or anything a field may hold)."""
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
    for slot in slots(cls):
        item = getattr(value, slot.name)
        if Layout.OMIT in slot.marks and (item is None or item in ((), {}, frozenset())):
            continue
        if Layout.INLINE in slot.marks:
            inline.update(to_json(item) if item is not None else {})
            continue
        out[slot.name] = _encode(slot.hint, item)
    out.update(inline)
    return out


def _encode(tp: Any, value: Any) -> Any:
    base, marks = peel(tp)
    as_cls = first_mark(marks, As)
    if as_cls is not None:
        return _encode_object(value, as_cls.cls)
    if Layout.PAIRS in marks:
        return {str(k): to_json(v) for k, v in value}
    if get_origin(base) is tuple and isinstance(value, tuple):
        return [_encode(get_args(base)[0], v) for v in value]
    return to_json(value)


# ---- reading ----------------------------------------------------------------------------


class DecodeError(ValueError):
    """A value that does not fit its field; `path` says where (`pair.primary.addresses[0]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def decode(cls: type[T], data: Any, path: str = "") -> tuple[T | None, list[tuple[str, str]]]:
    """(the dataclass `cls` read from `data`, []), or (None, every (path, problem))."""
    reader = _Reader()
    value = reader.value(cls, data, path)
    if reader.problems:
        return None, reader.problems
    return typing.cast(T, value), []


def from_json(cls: type[T], data: Any, path: str = "") -> T:
    """The dataclass `cls` rebuilt from `to_json` output; DecodeError names the first field
    that does not fit."""
    value, problems = decode(cls, data, path)
    if problems:
        raise DecodeError(*problems[0])
    return typing.cast(T, value)


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
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """A results document names a few addresses many times: parse each once."""
    return IPAddress(text, 6 if ":" in text else 4)


class _Bad:
    """What a value that did not fit reads as (its problem is already recorded)."""


BAD: Any = _Bad()


class _Reader:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def wrong(self, path: str, data: Any, tp: Any) -> Any:
        self.problems.append((path, f"is {shown(data)} (expected {expected(tp)})"))
        return BAD

    def value(self, tp: Any, data: Any, path: str) -> Any:
        base, marks = peel(tp)
        if data is None and is_union(base) and type(None) in get_args(base):
            return None
        for mark in marks:
            if isinstance(mark, As):
                return self.value(mark.cls, data, path)
            if isinstance(mark, Keep):
                return BAD if self.value(mark.shape, data, path) is BAD else data
            if mark is Layout.PAIRS:
                return self.pairs(base, data, path)
        valid = first_mark(marks, Valid)
        if valid is None:
            return self.plain(base, data, path)
        trial = _Reader()  # a value that is not even of its type is told what would pass
        out = trial.plain(base, data, path)
        if trial.problems or not valid.test(out):
            return self.wrong(path, data, tp)
        return out

    def plain(self, tp: Any, data: Any, path: str) -> Any:
        if tp is Any:
            return data
        if is_union(tp):
            return self.union(tp, data, path)
        if is_dataclass_type(tp):
            return self.object(tp, data, path)
        origin = get_origin(tp)
        if origin in (tuple, frozenset):
            if not isinstance(data, list):
                return self.wrong(path, data, tp)
            items = [self.value(get_args(tp)[0], v, join(path, i)) for i, v in enumerate(data)]
            if any(v is BAD for v in items):
                return BAD
            return frozenset(items) if origin is frozenset else tuple(items)
        if origin is not None and issubclass(origin, Mapping):
            if not isinstance(data, Mapping):
                return self.wrong(path, data, tp)
            item = get_args(tp)[1]
            out = {str(k): self.value(item, v, join(path, str(k))) for k, v in data.items()}
            return BAD if any(v is BAD for v in out.values()) else out
        return self.leaf(tp, data, path)

    def object(self, cls: type, data: Any, path: str) -> Any:
        if not isinstance(data, Mapping):
            return self.wrong(path, data, cls)
        kwargs: dict[str, Any] = {}
        for slot in slots(cls):
            where = join(path, slot.name)
            if Layout.INLINE in slot.marks:
                value = self.inline(slot, data, path)
            elif slot.name in data:
                value = self.value(slot.hint, data[slot.name], where)
            elif slot.required:
                self.problems.append((where, f"missing (expected {expected(slot.hint)})"))
                value = BAD
            else:
                continue
            kwargs[slot.name] = value
        if any(v is BAD for v in kwargs.values()):
            return BAD
        return cls(**kwargs)

    def inline(self, slot: Slot, data: Mapping[str, Any], path: str) -> Any:
        """An inlined dataclass is there when any of its keys is."""
        cls = next(o for o in get_args(peel(slot.hint)[0]) if is_dataclass_type(o))
        if not any(s.name in data for s in slots(cls)):
            return None
        return self.object(cls, data, path)

    def pairs(self, tp: Any, data: Any, path: str) -> Any:
        item = get_args(get_args(tp)[0])[1]
        out = self.plain(Mapping[str, item], data, path)  # type: ignore[valid-type]
        return BAD if out is BAD else tuple(sorted(out.items()))

    def union(self, tp: Any, data: Any, path: str) -> Any:
        options = [o for o in get_args(tp) if o is not type(None)]
        if data is None and len(options) < len(get_args(tp)):
            return None
        if len(options) == 1:
            return self.value(options[0], data, path)
        # An address before a plain string: a destination is an IP unless it is not one.
        for option in sorted(options, key=lambda o: peel(o)[0] is str):
            trial = _Reader()
            value = trial.value(option, data, path)
            if not trial.problems:
                return value
        return self.wrong(path, data, tp)

    def leaf(self, tp: Any, data: Any, path: str) -> Any:
        if isinstance(tp, type) and issubclass(tp, Enum):
            try:
                return tp(data)
            except (ValueError, TypeError):
                return self.wrong(path, data, tp)
        if tp is IPAddress or tp is IPNetwork:
            return self.address(tp, data, path)
        if tp is Path:
            return Path(data) if isinstance(data, str) else self.wrong(path, data, tp)
        if tp is type(None):
            return None if data is None else self.wrong(path, data, tp)
        number = isinstance(data, int | float) and not isinstance(data, bool)
        if tp is float and number:
            return float(data)
        if tp in SCALARS and isinstance(data, tp) and not (tp is int and isinstance(data, bool)):
            return data
        return self.wrong(path, data, tp)

    def address(self, tp: Any, data: Any, path: str) -> Any:
        if isinstance(data, str):
            try:
                if tp is IPAddress:
                    return _address(data)
                if "/" in data:  # an interface keeps its prefix: never a silent /32
                    return IPNetwork(data)
            except (AddrFormatError, ValueError, TypeError):
                pass
        return self.wrong(path, data, tp)


# ---- the words of an error message --------------------------------------------------------


def noun(cls: type) -> str:
    """`ProbeRecord` -> "probe record"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()


def _plural(word: str) -> str:
    if word.endswith(("s", "x")):
        return word + "es"
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def expected(tp: Any) -> str:
    """What a value of type `tp` must be, in the words of an error message."""
    base, marks = peel(tp)
    for mark in marks:
        if isinstance(mark, Valid):
            return mark.expected
        if isinstance(mark, As | Keep):
            return expected(mark.cls if isinstance(mark, As) else mark.shape)
        if mark is Layout.PAIRS:
            return "an object of strings"
    if is_union(base):
        words = [expected(o) for o in get_args(base) if o is not type(None)]
        if len(words) < len(get_args(base)):
            words.append("null")
        return " or ".join(words)
    if is_dataclass_type(base):
        return f"an object: {_article(noun(base))}"
    origin = get_origin(base)
    if origin in (tuple, frozenset):
        item = peel(get_args(base)[0])[0]
        if is_dataclass_type(item):
            return f"a list of {_plural(noun(item))}"
        return "a list of strings" if item is str else "a list"
    if origin is not None and issubclass(origin, Mapping):
        return "an object of strings" if get_args(base)[1] is str else "an object"
    if isinstance(base, type) and issubclass(base, Enum):
        return "one of " + ", ".join(str(m.value) for m in base)
    return WORDS.get(base, "any JSON value")
