"""OAuth client credentials of the health API, read from the environment or a file before any
appliance is asked. The values never appear in a repr, a message, a log or an output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.inventory.secrets import Secret, SecretSpec, read_secret
from auditor.model.inventory import Appliance, Inventory


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
    spec = SecretSpec(
        owner=f"appliance {appliance.name}",
        stem=stem,
        env=env,
        file=file,
        env_hint="(export the API account's OAuth credential there before asking the appliance)",
        allow_empty=False,
    )
    got = read_secret(inventory, spec)
    assert got is not None  # the loader requires one of the two
    return got
