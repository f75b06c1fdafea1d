"""The run document's copy of the inventory, written and read by the inventory's definition.

The copy is the resolved inventory (the model's values: an address's `interface`, a port
override's protocol, the appliance's side), not the YAML a user wrote. Its shape comes from
auditor.model.inventory_spec: each section is an object holding every kept key under the
model field it fills (`Key.attribute`) and then the section's derived fields; a key whose
shape names another section (`{"$ref": "#/$defs/appliance"}`, or an array of them) is that
section's object (or a list of them), any other is its model field's value as the codec writes
and reads that type (auditor.documents.codec: markers, OMIT, what a value must be). A key added
to the definition is in the copy without a change here; `inventory_spec.model_mismatches` holds
the model's dataclasses to the definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from auditor.documents.codec import (
    BAD,
    Problems,
    Read,
    encoder,
    is_empty,
    join,
    reader,
    wrong,
)
from auditor.documents.describe import expected
from auditor.documents.fields import OMIT, Slot, is_union, peel, slots
from auditor.model import inventory_spec
from auditor.model.inventory import Inventory
from auditor.model.inventory_spec import Section

_REF = "#/$defs/"


@dataclass(frozen=True, slots=True)
class _Entry:
    """One written field of a section: its model field, and the section its value is (None: a
    plain value), in a list or not."""

    slot: Slot
    section: Section | None
    many: bool
    write: Callable[[Any], Any]  # a plain value's writer and reader (the codec's, by the
    read: Read  # field's type)
    nullable: bool  # the field's type allows null
    want: str  # what its value must be when not null, in the words of a problem


# id(section) -> (the section, the sections its plan was resolved in, its plan); a Section
# holds dicts, so it is no dictionary key itself.
_PLANS: dict[int, tuple[Section, tuple[Section, ...], tuple[_Entry, ...]]] = {}


def _nested(shape: Mapping[str, Any]) -> tuple[Section | None, bool]:
    """The section a key's value is, by its shape, and whether a list of them."""
    many = shape.get("type") == "array"
    target = str((shape.get("items", {}) if many else shape).get("$ref", ""))
    if not target.startswith(_REF):
        return None, many
    name = target.removeprefix(_REF)  # a value's shape (name, text, ...) is no section
    return next((s for s in inventory_spec.SECTIONS if s.name == name), None), many


def _entries(section: Section) -> tuple[_Entry, ...]:
    """The kept keys in the definition's order, then the derived fields; worked out once per
    section (a history report reads hundreds of copies), again if the definition changes."""
    cached = _PLANS.get(id(section))
    if cached is not None and cached[0] is section and cached[1] is inventory_spec.SECTIONS:
        return cached[2]
    entries = _plan(section)
    _PLANS[id(section)] = (section, inventory_spec.SECTIONS, entries)
    return entries


def _plan(section: Section) -> tuple[_Entry, ...]:
    if section.model is None:
        raise ValueError(f"section {section.name} names no model dataclass")
    by_name = {slot.name: slot for slot in slots(section.model)}
    out = []
    for key in section.keys:
        if key.attribute is not None:
            out.append(_entry(by_name[key.attribute], *_nested(key.shape)))
    out += [_entry(by_name[name], None, False) for name in section.derived]
    return tuple(out)


def _entry(slot: Slot, section: Section | None, many: bool) -> _Entry:
    base = _without_none(slot.hint)
    nullable = base is not peel(slot.hint)[0]
    return _Entry(
        slot, section, many, encoder(slot.hint), reader(slot.hint), nullable, expected(base)
    )


def _write(section: Section, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in _entries(section):
        name = entry.slot.name
        item = getattr(value, name)
        if OMIT in entry.slot.marks and is_empty(item):
            continue
        if entry.section is None:
            out[name] = entry.write(item)
        elif item is None:
            out[name] = None
        elif entry.many:
            out[name] = [_write(entry.section, v) for v in item]
        else:
            out[name] = _write(entry.section, item)
    return out


def _read(section: Section, data: Any, path: str, problems: Problems) -> Any:
    cls = section.model
    assert cls is not None  # _entries refuses a section without one
    if not isinstance(data, Mapping):
        return wrong(problems, path, data, expected(cls))
    fields: dict[str, Any] = {}
    for entry in _entries(section):
        name, hint = entry.slot.name, entry.slot.hint
        at = join(path, name)
        if name not in data:
            if entry.slot.required:
                problems.append((at, f"missing (expected {expected(hint)})"))
                fields[name] = BAD
            continue
        item = data[name]
        if entry.section is None:
            value = entry.read(item, at, problems)
        elif item is None and entry.nullable:
            value = None
        elif not entry.many:
            value = _read(entry.section, item, at, problems)
        elif not isinstance(item, list):
            value = wrong(problems, at, item, entry.want)
        else:
            items = [_read(entry.section, v, join(at, i), problems) for i, v in enumerate(item)]
            value = BAD if any(v is BAD for v in items) else tuple(items)
        fields[name] = value
    if any(v is BAD for v in fields.values()):
        return BAD
    return cls(**fields)


def _without_none(hint: Any) -> Any:
    """A field's type without its markers and without `| None`."""
    base = peel(hint)[0]
    if not is_union(base):
        return base
    options = [o for o in get_args(base) if o is not type(None)]
    return options[0] if len(options) == 1 else base


def inventory_to_json(inventory: Inventory) -> dict[str, Any]:
    """The inventory as the run document copies it."""
    return _write(inventory_spec.INVENTORY, inventory)


def inventory_from_json(data: Any, path: str, problems: Problems) -> Any:
    """The inventory read back from a run document's copy, or BAD with every problem (its
    path and what was expected) in `problems`."""
    return _read(inventory_spec.INVENTORY, data, path, problems)
