"""A section of the inventory read by its one definition (auditor.model.inventory_spec): every key
the mapping holds, in the definition's order, checked by the key's `check` (a method of the
reader) or by the section reader's own function for it, and handed back as the model fields
the kept keys fill. A key added to a section is read, described by the JSON Schema and kept
in the model (so in the run document) at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from auditor.documents.yamlsource import join
from auditor.model.inventory_spec import CHECKS, Section

Read = Callable[[str, Any], Any]  # (field path, value) -> the value, or None after a problem


def read_keys(
    reader: object, path: str, data: Mapping[str, Any], section: Section, **own: Read
) -> dict[str, Any]:
    """The model fields of `data` (a mapping `reader.mapping` accepted for `section`): each key
    present (a nullable one with a value) read by `own[key]` or by its `check` (a method of
    `reader`, the loader's field reader); a value that did not pass is left out (its problem is
    recorded), so is a key that is not kept. The keys of the section's secrets are left to
    `secretsource.read_source`, which reads each pair together."""
    out: dict[str, Any] = {}
    for key in section.keys:
        if key.name not in data or (key.nullable and data[key.name] is None):
            continue
        if key.name in secret_keys(section) and key.name not in own:
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


def secret_keys(section: Section) -> frozenset[str]:
    return frozenset(k for s in section.secrets for k in (s.env_key, s.file_key))


def all_read(section: Section, data: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Every kept key that is required or that `data` gives a value (the section's secrets
    aside) was read and passed its check."""
    return all(
        key.attribute in fields
        for key in section.keys
        if key.attribute is not None
        and (key.required or data.get(key.name) is not None)
        and key.name not in secret_keys(section)
    )
