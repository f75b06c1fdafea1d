"""Where a secret is read from: `STEM_env: VARIABLE` or `STEM_file: PATH`, never the value.

One validator for every secret an inventory names (the LDAP bind password, a RADIUS shared
secret, the health API's client id and secret), so each is refused with the same words. A
value is never shown: a secret pasted into the wrong key must not reach a log or a ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from auditor.documents.yamlsource import join
from auditor.model.inventory_spec import SecretSource
from auditor.values import is_env_name


class SecretReader(Protocol):
    """What the validator needs of a field reader (auditor.inventory.fields.FieldReader)."""

    def problem(self, path: str, message: str) -> None: ...

    def file_path(self, path: str, value: Any) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class ReadSource:
    """A validated source: at most one of `env` and `file`; `ok` is False after a problem."""

    env: str | None
    file: Path | None
    ok: bool


def refuse_literals(
    reader: SecretReader, path: str, value: Any, literals: Iterable[tuple[str, SecretSource]]
) -> tuple[Any, frozenset[SecretSource]]:
    """`value` without the keys that would hold a secret itself, each reported (value not
    shown); and the sources whose secret was written there (their absence is then no second
    problem). `literals` pairs such a key with the source it belongs to."""
    if not isinstance(value, dict):
        return value, frozenset()
    found: set[SecretSource] = set()
    for key, source in literals:
        if key in value:
            reader.problem(
                join(path, key),
                "a literal credential is refused (value not shown): inventories end up in "
                f"version control, tickets and reports (expected {source.env_key}: VARIABLE or "
                f"{source.file_key}: PATH)",
            )
            found.add(source)
    keys = {key for key, _ in literals}
    return {k: v for k, v in value.items() if k not in keys}, frozenset(found)


def read_source(
    reader: SecretReader,
    path: str,
    data: dict[str, Any],
    source: SecretSource,
    *,
    required: bool = True,
) -> ReadSource:
    """The one source of `source` in mapping `data` (at `path`): exactly one of its two keys,
    an environment variable name or a file path. Without either, a problem when `required`."""
    env_key, file_key = source.env_key, source.file_key
    has_env, has_file = data.get(env_key) is not None, data.get(file_key) is not None
    if has_env and has_file:
        reader.problem(path, f"both {env_key} and {file_key} are set (expected one)")
        return ReadSource(None, None, ok=False)
    if not has_env and not has_file:
        if required:
            reader.problem(path, f"no {source.stem} source (expected {env_key} or {file_key})")
        return ReadSource(None, None, ok=not required)
    if has_env:
        raw = data[env_key]
        if is_env_name(raw):
            return ReadSource(raw, None, ok=True)
        reader.problem(
            join(path, env_key),
            "is not an environment variable name (value not shown; expected a name like "
            f"{source.example_env})",
        )
        return ReadSource(None, None, ok=False)
    file = reader.file_path(join(path, file_key), data[file_key])
    return ReadSource(None, file, ok=file is not None)
