"""Bind passwords, read from the environment or a file before any probe starts.

The value never appears in a repr, a message, a log or a results file.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.model.inventory import Inventory, Provider

MAX_PASSWORD_BYTES = 4096


class Secret:
    """A password that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """Where one secret comes from, and how a refusal names it. The inventory's loader lets
    through at most one of `env` and `file`."""

    owner: str  # "provider corp-ad", "appliance site1"
    stem: str  # the inventory path without _env/_file: "providers[0].bind.password"
    env: str | None
    file: Path | None
    env_hint: str  # after "is not set": "(export the bind password there before probing)"
    file_hint: str = ""  # after why a file cannot be read: " (a file holding ...)"
    # Credentials must not be empty; a password may be (an account without one).
    allow_empty: bool = True


def read_secret(inventory: Inventory, spec: SecretSpec) -> Secret | Problem | None:
    """The secret, or the located problem that says why it cannot be had (never its value);
    None when the spec names neither a variable nor a file."""
    if spec.env:
        value = os.environ.get(spec.env)
        if value is not None and (value or spec.allow_empty):
            return Secret(value)
        what = "is not set" if value is None else "is empty"
        message = f"{spec.owner}: environment variable {spec.env} {what} {spec.env_hint}"
        return _problem(inventory, f"{spec.stem}_env", message)
    if spec.file is None:
        return None
    path = spec.file if spec.file.is_absolute() else inventory.source.parent / spec.file
    try:
        value = read_secret_file(path)  # a regular file or a pipe, capped
    except (OSError, UnicodeDecodeError) as exc:
        # Never the content: only why the file could not be used.
        why = (
            "not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else exc.strerror or type(exc).__name__
        )
        message = f"{spec.owner}: cannot read {spec.file}: {why}{spec.file_hint}"
        return _problem(inventory, f"{spec.stem}_file", message)
    if not value and not spec.allow_empty:
        message = f"{spec.owner}: {spec.file} is empty (expected the credential)"
        return _problem(inventory, f"{spec.stem}_file", message)
    return Secret(value)


def _problem(inventory: Inventory, path: str, message: str) -> Problem:
    return Problem(str(inventory.source), inventory.line_of(path), path, message)


def read_provider_secrets(
    inventory: Inventory,
    providers: Iterable[Provider] | None,
    spec_of: Callable[[int, Provider], SecretSpec | Problem | None],
) -> Mapping[str, Secret]:
    """One secret per provider (of `providers`, default all) whose `spec_of` names one.

    Raises InputError with every problem at once."""
    wanted = {p.name for p in providers} if providers is not None else None
    found: dict[str, Secret] = {}
    problems: list[Problem] = []
    for index, provider in enumerate(inventory.providers):
        if wanted is not None and provider.name not in wanted:
            continue
        spec = spec_of(index, provider)
        got = read_secret(inventory, spec) if isinstance(spec, SecretSpec) else spec
        if isinstance(got, Problem):
            problems.append(got)
        elif got is not None:
            found[provider.name] = got
    if problems:
        raise InputError(problems)
    return found


def _bind_spec(inventory: Inventory, index: int, provider: Provider) -> SecretSpec | Problem | None:
    bind = provider.bind
    if bind is None:
        return None
    stem = f"providers[{index}].bind"
    if not bind.password_env and bind.password_file is None:
        message = f"provider {provider.name}: a bind DN without password_env or password_file"
        return _problem(inventory, f"{stem}.dn", message)
    return SecretSpec(
        owner=f"provider {provider.name}",
        stem=f"{stem}.password",
        env=bind.password_env,
        file=bind.password_file,
        env_hint="(export the bind password there before probing)",
        file_hint=" (a file holding the bind password)",
    )


def read_passwords(
    inventory: Inventory, providers: Iterable[Provider] | None = None
) -> Mapping[str, Secret]:
    """The bind password of every provider (of `providers`, default all) with a bind account.

    Raises InputError naming the provider and field for each missing variable or unreadable file.
    """
    return read_provider_secrets(inventory, providers, functools.partial(_bind_spec, inventory))


def read_secret_file(path: Path) -> str:
    """The one line of a password or credential file; OSError or UnicodeDecodeError when it
    cannot be used."""
    # A regular file or a pipe (`<(pass show ...)`), read with a cap: `/dev/zero` or a huge
    # file must not fill the memory. One line; an editor's trailing newline is not part of it.
    with path.open("rb") as fh:
        kind = os.fstat(fh.fileno()).st_mode
        if not (stat.S_ISREG(kind) or stat.S_ISFIFO(kind)):
            raise OSError(errno.EINVAL, "not a regular file or a pipe")
        raw = fh.read(MAX_PASSWORD_BYTES + 1)
    if len(raw) > MAX_PASSWORD_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_PASSWORD_BYTES} bytes")
    return raw.decode("utf-8").rstrip("\r\n")
