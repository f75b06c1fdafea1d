"""What must hold before any probe starts, so a run never fails half-way on bad input."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from auditor.errors import InputError, Problem
from auditor.inventory.secrets import Secret, read_passwords
from auditor.model.inventory import Flow, Inventory, Provider
from auditor.probe.app.secrets import read_radius_secrets


def check_ca_files(inventory: Inventory, providers: Iterable[Provider]) -> None:
    """Every `ca_file` a probe will use exists and is readable; InputError lists the others."""
    wanted = {p.name for p in providers}
    problems: list[Problem] = []
    for index, provider in enumerate(inventory.providers):
        if provider.name not in wanted or provider.ca_file is None:
            continue
        path = provider.ca_file
        if not path.is_file() or not os.access(path, os.R_OK):
            field = f"providers[{index}].ca_file"
            why = "not found" if not path.exists() else "not a readable file"
            problems.append(
                Problem(
                    str(inventory.source),
                    inventory.line_of(field),
                    field,
                    f"provider {provider.name}: {path} is {why} (expected the PEM bundle of the "
                    "CA that signed the provider's certificate)",
                )
            )
    if problems:
        raise InputError(problems)


def preflight(inventory: Inventory, flows: Iterable[Flow]) -> Mapping[str, Secret]:
    """Check the CA files and read the bind passwords and RADIUS shared secrets of every
    provider the flows need (one secret per provider name: a provider is LDAP or RADIUS)."""
    names = {name for flow in flows for name in flow.providers}
    used = [p for p in inventory.providers if p.name in names]
    check_ca_files(inventory, used)
    return {**read_passwords(inventory, used), **read_radius_secrets(inventory, used)}
