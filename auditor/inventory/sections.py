"""A section of the inventory read by its one definition (auditor.inventory.spec): every key
the mapping holds, in the definition's order, checked by the key's `check` (a method of the
reader) or by the section reader's own function for it, and handed back as the model fields
the kept keys fill. A key added to a section is read, described by the JSON Schema and kept
in the model (so in the run document) at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from auditor.documents.yamlsource import join
from auditor.inventory.fields import FieldReader
from auditor.inventory.spec import CHECKS, Section

Read = Callable[[str, Any], Any]  # (field path, value) -> the value, or None after a problem


def read_keys(
    reader: FieldReader, path: str, data: Mapping[str, Any], section: Section, **own: Read
) -> dict[str, Any]:
    """The model fields of `data` (a mapping `reader.mapping` accepted for `section`): each key
    present (a nullable one with a value) read by `own[key]` or by its `check`; a value that
    did not pass is left out (its problem is recorded), so is a key that is not kept."""
    out: dict[str, Any] = {}
    for key in section.keys:
        if key.name not in data or (key.nullable and data[key.name] is None):
            continue
        read = own.get(key.name)
        if read is None:
            if key.check not in CHECKS:
                raise LookupError(f"{section.name}.{key.name}: the definition names no check")
            read = getattr(reader, key.check)
        value = read(join(path, key.name), data[key.name])
        if key.attribute is not None and value is not None:
            out[key.attribute] = value
    return out
