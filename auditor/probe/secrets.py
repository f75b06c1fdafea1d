"""Bind passwords, read from the environment or a file before any probe starts.

The value never appears in a repr, a message, a log or a results file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.inventory.model import Inventory, Provider

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


def _problem(inventory: Inventory, index: int, field: str, message: str) -> Problem:
    path = f"providers[{index}].bind.{field}"
    return Problem(str(inventory.source), inventory.line_of(path), path, message)


def read_passwords(
    inventory: Inventory, providers: Iterable[Provider] | None = None
) -> Mapping[str, Secret]:
    """The bind password of every provider (of `providers`, default all) with a bind account.

    Raises InputError naming the provider and field for each missing variable or unreadable file.
    """
    wanted = {p.name for p in providers} if providers is not None else None
    secrets: dict[str, Secret] = {}
    problems: list[Problem] = []
    for index, provider in enumerate(inventory.providers):
        if wanted is not None and provider.name not in wanted:
            continue
        bind = provider.bind
        if bind is None:
            continue
        if bind.password_env:
            value = os.environ.get(bind.password_env)
            if value is None:
                problems.append(
                    _problem(
                        inventory,
                        index,
                        "password_env",
                        f"provider {provider.name}: environment variable {bind.password_env} "
                        "is not set (export the bind password there before probing)",
                    )
                )
                continue
            secrets[provider.name] = Secret(value)
        elif bind.password_file is not None:
            try:
                value = _read_file(inventory, bind.password_file)
            except (OSError, UnicodeDecodeError) as exc:
                # Never the content: only why the file could not be used.
                why = (
                    "not UTF-8 text"
                    if isinstance(exc, UnicodeDecodeError)
                    else exc.strerror or type(exc).__name__
                )
                problems.append(
                    _problem(
                        inventory,
                        index,
                        "password_file",
                        f"provider {provider.name}: cannot read {bind.password_file}: "
                        f"{why} (a file holding the bind password)",
                    )
                )
                continue
            secrets[provider.name] = Secret(value)
        else:
            problems.append(
                _problem(
                    inventory,
                    index,
                    "dn",
                    f"provider {provider.name}: a bind DN without password_env or password_file",
                )
            )
    if problems:
        raise InputError(problems)
    return secrets


def _read_file(inventory: Inventory, path: Path) -> str:
    if not path.is_absolute():
        path = inventory.source.parent / path
    return read_secret_file(path)


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
