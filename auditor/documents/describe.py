"""A model type described: in the words of an error message (`expected`), and as JSON Schema
2020-12 (`json_schema`), from the same fields, types and markers the codec writes and reads
by (`auditor.documents.codec`), so neither can say other than the reader does. The reader
also ignores keys it does not know; a schema says the writer's contract: only the keys it
writes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from netaddr import IPAddress, IPNetwork

from auditor.documents.fields import (
    As,
    Layout,
    Valid,
    first_mark,
    is_dataclass_type,
    is_union,
    peel,
    slots,
)

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
        if isinstance(mark, As):
            return expected(mark.cls)
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


def json_schema(
    cls: type, *, envelope: Mapping[str, Any] | None = None, head: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON Schema (2020-12) of `to_json(cls(...))`, from the same field definitions.
    `envelope`: required keys a document carries besides its fields (its format name);
    `head`: $id, title, description."""
    defs: dict[str, Any] = {}
    root = _object_schema(cls, defs)
    root["properties"] = {**(envelope or {}), **root["properties"]}
    root["required"] = [*(envelope or {}), *root["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **(head or {}),
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def def_name(tp: type) -> str:
    return noun(tp).replace(" ", "_")


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    dependent: dict[str, list[str]] = {}
    for slot in slots(cls):
        if Layout.INLINE not in slot.marks:
            properties[slot.name] = _schema(slot.hint, defs)
            required += [slot.name] if slot.required else []
            continue
        inner = next(o for o in get_args(peel(slot.hint)[0]) if is_dataclass_type(o))
        part = _object_schema(inner, defs)
        properties.update(part["properties"])
        # all of the inlined object's required keys, or none of them
        dependent.update({k: [o for o in part["required"] if o != k] for k in part["required"]})
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    schema["additionalProperties"] = False
    if dependent:
        schema["dependentRequired"] = dependent
    return schema


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    base, marks = peel(tp)
    for mark in marks:
        if isinstance(mark, As):
            return _schema(mark.cls, defs)
        if mark is Layout.PAIRS:
            item = get_args(get_args(base)[0])[1]
            return {"type": "object", "additionalProperties": _schema(item, defs)}
    schema = _plain_schema(base, defs)
    valid = first_mark(marks, Valid)
    if valid is None:
        return schema
    return {**schema, "description": valid.expected, **valid.schema}


def _plain_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if is_union(tp):
        return {"anyOf": [_schema(o, defs) for o in get_args(tp)]}
    if is_dataclass_type(tp) or (isinstance(tp, type) and issubclass(tp, Enum)):
        name = def_name(tp)
        if name not in defs:
            defs[name] = {}  # recursion guard
            enum = isinstance(tp, type) and issubclass(tp, Enum)
            defs[name] = {"enum": [m.value for m in tp]} if enum else _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin = get_origin(tp)
    if origin in (tuple, frozenset):
        return {"type": "array", "items": _schema(get_args(tp)[0], defs)}
    if origin is not None and issubclass(origin, Mapping):
        return {"type": "object", "additionalProperties": _schema(get_args(tp)[1], defs)}
    if tp in (IPAddress, IPNetwork, Path):
        return {"type": "string", "description": WORDS[tp]}
    if tp is type(None):
        return {"type": "null"}
    return {"type": SCALARS[tp]}
