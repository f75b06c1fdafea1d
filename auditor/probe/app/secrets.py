"""RADIUS shared secrets, read from the environment or a file before any probe starts. Like
bind passwords: the value never appears in a repr, a message, a log or a results file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from auditor.errors import InputError, Problem
from auditor.inventory.model import Inventory, Provider
from auditor.probe.secrets import Secret, _read_file


def _problem(inventory: Inventory, index: int, field: str, message: str) -> Problem:
    path = f"providers[{index}].radius.{field}"
    return Problem(str(inventory.source), inventory.line_of(path), path, message)


def read_radius_secrets(
    inventory: Inventory, providers: Iterable[Provider] | None = None
) -> Mapping[str, Secret]:
    """The shared secret of every provider (of `providers`, default all) with `radius:`.

    Raises InputError naming the provider and field for each unset variable or unreadable file.
    """
    wanted = {p.name for p in providers} if providers is not None else None
    secrets: dict[str, Secret] = {}
    problems: list[Problem] = []
    for index, provider in enumerate(inventory.providers):
        spec = provider.radius
        if spec is None or (wanted is not None and provider.name not in wanted):
            continue
        if spec.secret_env:
            value = os.environ.get(spec.secret_env)
            if value is None:
                problems.append(
                    _problem(
                        inventory,
                        index,
                        "secret_env",
                        f"provider {provider.name}: environment variable {spec.secret_env} is "
                        "not set (export the RADIUS shared secret there before probing)",
                    )
                )
                continue
            secrets[provider.name] = Secret(value)
        elif spec.secret_file is not None:
            try:
                secrets[provider.name] = Secret(_read_file(inventory, spec.secret_file))
            except (OSError, UnicodeDecodeError) as exc:
                why = (
                    "not UTF-8 text"
                    if isinstance(exc, UnicodeDecodeError)
                    else exc.strerror or type(exc).__name__
                )
                problems.append(
                    _problem(
                        inventory,
                        index,
                        "secret_file",
                        f"provider {provider.name}: cannot read {spec.secret_file}: {why} "
                        "(a file holding the RADIUS shared secret)",
                    )
                )
    if problems:
        raise InputError(problems)
    return secrets
