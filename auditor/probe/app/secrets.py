"""RADIUS shared secrets, read from the environment or a file before any probe starts. Like
bind passwords (the one reader is auditor.inventory.secrets): the value never appears in a repr, a
message, a log or a results file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from auditor.inventory.secrets import Secret, SecretSpec, read_provider_secrets
from auditor.model.inventory import Inventory, Provider


def _radius_spec(index: int, provider: Provider) -> SecretSpec | None:
    spec = provider.radius
    if spec is None:
        return None  # no `radius:` block, or no secret: the check stays untested, with why
    return SecretSpec(
        owner=f"provider {provider.name}",
        stem=f"providers[{index}].radius.secret",
        env=spec.secret_env,
        file=spec.secret_file,
        env_hint="(export the RADIUS shared secret there before probing)",
        file_hint=" (a file holding the RADIUS shared secret)",
    )


def read_radius_secrets(
    inventory: Inventory, providers: Iterable[Provider] | None = None
) -> Mapping[str, Secret]:
    """The shared secret of every provider (of `providers`, default all) with `radius:`.

    Raises InputError naming the provider and field for each unset variable or unreadable file.
    """
    return read_provider_secrets(inventory, providers, _radius_spec)
