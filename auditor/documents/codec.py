"""JSON from the model's own definition: frozen dataclasses walked by their type hints.

One definition per shape: `to_json` and `from_json` follow the dataclass fields (names,
types, defaults), and `json_schema` writes the JSON Schema the reader validates against, so
the document format, its codec and its validation cannot drift apart. Supported field types:
str, int, float, bool, None, StrEnum, netaddr IPAddress/IPNetwork, Path, tuples, frozensets,
Mappings of str, unions of these, nested dataclasses, and `Any` (plain JSON, kept as is).
Fields marked `compare=False` (derived data such as an inventory's line map) are not written.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

from netaddr import IPAddress, IPNetwork

T = TypeVar("T")

_SCALARS: Mapping[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@cache
def _hints(cls: type) -> Mapping[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.compare)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def to_json(value: Any) -> Any:
    """Plain JSON data for a model value (a dataclass, or anything a field may hold)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in _fields(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, IPAddress | IPNetwork | Path):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(to_json(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


class DecodeError(ValueError):
    """A value that does not fit its field; `path` says where (`pair.primary.addresses[0]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def from_json(cls: type[T], data: Any, path: str = "") -> T:
    """The dataclass `cls` rebuilt from `to_json` output; DecodeError names the field."""
    return typing.cast(T, _decode(cls, data, path))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"expected an object for {cls.__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in _fields(cls):
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name], _join(path, f.name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DecodeError(_join(path, f.name), "missing")
    return cls(**kwargs)


def _decode(tp: Any, data: Any, path: str) -> Any:
    if tp is Any:
        return data
    if _is_union(tp):
        return _decode_union(tp, data, path)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _decode_dataclass(tp, data, path)
    origin = get_origin(tp)
    if origin in (tuple, frozenset):
        return _decode_sequence(tp, origin, data, path)
    if origin is not None and issubclass(origin, Mapping):
        if not isinstance(data, Mapping):
            raise DecodeError(path, "expected an object")
        _key, item = get_args(tp)
        return {str(k): _decode(item, v, _join(path, str(k))) for k, v in data.items()}
    return _decode_leaf(tp, data, path)


def _decode_union(tp: Any, data: Any, path: str) -> Any:
    options = get_args(tp)
    if data is None and type(None) in options:
        return None
    problems = []
    # An address before a plain string: a destination is an IP unless it is not one.
    for option in sorted(options, key=lambda o: o is str):
        if option is type(None):
            continue
        try:
            return _decode(option, data, path)
        except DecodeError as exc:
            problems.append(exc.message)
    raise DecodeError(path, " or ".join(dict.fromkeys(problems)))


def _decode_sequence(tp: Any, origin: Any, data: Any, path: str) -> Any:
    if not isinstance(data, list):
        raise DecodeError(path, "expected a list")
    args = get_args(tp)
    item = args[0]
    values = [_decode(item, v, _join(path, i)) for i, v in enumerate(data)]
    return frozenset(values) if origin is frozenset else tuple(values)


def _decode_leaf(tp: Any, data: Any, path: str) -> Any:
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            names = ", ".join(str(m.value) for m in tp)
            raise DecodeError(path, f"is {data!r} (expected one of {names})") from None
    if tp in (IPAddress, IPNetwork):
        try:
            return tp(data) if isinstance(data, str) else _fail(path, "an address")
        except (ValueError, TypeError) as exc:
            raise DecodeError(path, f"is {data!r} (expected an address)") from exc
    if tp is Path:
        return Path(data) if isinstance(data, str) else _fail(path, "a path")
    if tp is type(None):
        return None if data is None else _fail(path, "null")
    if tp is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if tp in _SCALARS and isinstance(data, tp) and not (tp is int and isinstance(data, bool)):
        return data
    raise DecodeError(
        path, f"is {data!r} (expected {_SCALARS.get(tp, getattr(tp, '__name__', tp))})"
    )


def _fail(path: str, what: str) -> typing.NoReturn:
    raise DecodeError(path, f"expected {what}")


def json_schema(cls: type) -> dict[str, Any]:
    """A JSON Schema (2020-12) of `to_json(cls(...))`, from the same field definitions."""
    defs: dict[str, Any] = {}
    root = _schema(cls, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **root, "$defs": defs}


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if _is_union(tp):
        return {"anyOf": [_schema(o, defs) for o in get_args(tp)]}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # recursion guard
            hints = _hints(tp)
            fields = _fields(tp)
            defs[name] = {
                "type": "object",
                "properties": {f.name: _schema(hints[f.name], defs) for f in fields},
                "required": [
                    f.name
                    for f in fields
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                ],
            }
        return {"$ref": f"#/$defs/{name}"}
    origin = get_origin(tp)
    if origin in (tuple, frozenset):
        return {"type": "array", "items": _schema(get_args(tp)[0], defs)}
    if origin is not None and issubclass(origin, Mapping):
        return {"type": "object", "additionalProperties": _schema(get_args(tp)[1], defs)}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"enum": [m.value for m in tp]}
    if tp in (IPAddress, IPNetwork, Path):
        return {"type": "string"}
    if tp is type(None):
        return {"type": "null"}
    return {"type": _SCALARS[tp]}
