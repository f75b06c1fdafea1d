"""OAuth client credentials of the health API, read from the environment or a file before any
appliance is asked. The values never appear in a repr, a message, a log or an output."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.inventory.model import Appliance, Inventory
from auditor.probe.secrets import Secret, read_secret_file


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API account's OAuth client id and secret (both print as ***)."""

    client_id: Secret
    client_secret: Secret


def read_credentials(inventory: Inventory) -> Mapping[str, Credentials]:
    """The credentials of every appliance with a `health:` block, by appliance name.

    Raises InputError naming the appliance and field for each unset variable or unreadable file.
    """
    out: dict[str, Credentials] = {}
    problems: list[Problem] = []
    for key, appliance in (("primary", inventory.pair.primary), ("backup", inventory.pair.backup)):
        spec = appliance.health
        if spec is None:
            continue
        base = f"pair.{key}.health"
        client_id = _read(
            inventory, appliance, f"{base}.client_id", spec.client_id_env, spec.client_id_file
        )
        secret = _read(
            inventory,
            appliance,
            f"{base}.client_secret",
            spec.client_secret_env,
            spec.client_secret_file,
        )
        for item in (client_id, secret):
            if isinstance(item, Problem):
                problems.append(item)
        if isinstance(client_id, Secret) and isinstance(secret, Secret):
            out[appliance.name] = Credentials(client_id, secret)
    if problems:
        raise InputError(problems)
    return out


def _read(
    inventory: Inventory, appliance: Appliance, stem: str, env: str | None, file: Path | None
) -> Secret | Problem:
    if env is not None:
        value = os.environ.get(env)
        if value:
            return Secret(value)
        path = f"{stem}_env"
        what = "is not set" if value is None else "is empty"
        message = (
            f"appliance {appliance.name}: environment variable {env} {what} (export the "
            "API account's OAuth credential there before asking the appliance)"
        )
        return Problem(str(inventory.source), inventory.line_of(path), path, message)
    path = f"{stem}_file"
    assert file is not None  # the loader requires one of the two
    full = file if file.is_absolute() else inventory.source.parent / file
    try:
        # One line; a trailing newline from an editor is not part of the credential.
        value = read_secret_file(full)  # a regular file or a pipe, capped
    except (OSError, UnicodeDecodeError) as exc:
        # Never the content: only why the file could not be used.
        why = (
            "not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else exc.strerror or type(exc).__name__
        )
        message = f"appliance {appliance.name}: cannot read {file}: {why}"
        return Problem(str(inventory.source), inventory.line_of(path), path, message)
    if not value:
        message = f"appliance {appliance.name}: {file} is empty (expected the credential)"
        return Problem(str(inventory.source), inventory.line_of(path), path, message)
    return Secret(value)
