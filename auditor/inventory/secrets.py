"""Bind passwords, read from the environment or a file before any probe starts.

The value never appears in a repr, a message, a log or a results file.
"""

from __future__ import annotations

import errno
import functools
import os
import selectors
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.model.inventory import Inventory, Provider
from auditor.redact import register, register_pair

MAX_PASSWORD_BYTES = 4096
PIPE_TIMEOUT = 10.0  # seconds a secret given as a pipe may take to be written


class Secret:
    """A password that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)  # outside text echoing it is redacted from now on (auditor.redact)

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


def read_secret_file(path: Path, timeout: float = PIPE_TIMEOUT) -> str:
    """The one line of a password or credential file; OSError or UnicodeDecodeError when it
    cannot be used."""
    # A regular file or a pipe (`<(pass show ...)`), read with a cap: `/dev/zero` or a huge
    # file must not fill the memory. One line; an editor's trailing newline is not part of it.
    # Opened non-blocking: a FIFO nobody writes to is a refusal after `timeout`, never a hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISREG(kind):
            os.set_blocking(fd, True)
            raw = _read_capped(fd, MAX_PASSWORD_BYTES + 1)
        elif stat.S_ISFIFO(kind):
            raw = _read_pipe(fd, MAX_PASSWORD_BYTES + 1, timeout)
        else:
            raise OSError(errno.EINVAL, "not a regular file or a pipe")
    finally:
        os.close(fd)
    if len(raw) > MAX_PASSWORD_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_PASSWORD_BYTES} bytes")
    return raw.decode("utf-8").rstrip("\r\n")


def _read_capped(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _read_pipe(fd: int, limit: int, timeout: float) -> bytes:
    """A pipe read to its end within `timeout` seconds in all (a writer that never comes, or
    never closes, is ETIMEDOUT)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while size < limit:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise OSError(
                    errno.ETIMEDOUT, f"a pipe with nothing written to it within {timeout:g} s"
                )
            try:
                chunk = os.read(fd, limit - size)
            except BlockingIOError:
                continue
            if not chunk:  # the writer closed (poll wakes no reader before a writer came)
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def register_configured_secrets(inventory: Inventory) -> None:
    """Make every secret the inventory configures known to the redactor, as far as this host
    can read it without side effects (a variable that is set, a regular file): a run that takes
    its evidence from files reads no secret to probe with, and must still redact what those
    files echo. Nothing is refused here; a secret that cannot be read cannot be redacted."""
    sources: list[tuple[str | None, Path | None]] = []
    for provider in inventory.providers:
        if provider.bind is not None:
            sources.append((provider.bind.password_env, provider.bind.password_file))
        if provider.radius is not None:
            sources.append((provider.radius.secret_env, provider.radius.secret_file))
    pairs: list[tuple[tuple[str | None, Path | None], tuple[str | None, Path | None]]] = []
    for appliance in inventory.pair.appliances:
        spec = appliance.health
        if spec is not None:
            pairs.append(
                (
                    (spec.client_id_env, spec.client_id_file),
                    (spec.client_secret_env, spec.client_secret_file),
                )
            )
    base = inventory.source.parent
    for env, file in sources:
        _quiet_read(env, file, base)
    for id_source, secret_source in pairs:
        user, secret = _quiet_read(*id_source, base), _quiet_read(*secret_source, base)
        if user is not None and secret is not None:
            register_pair(user, secret)


def _quiet_read(env: str | None, file: Path | None, base: Path) -> str | None:
    """A secret's value, registered, or None (unset, unreadable, not a regular file)."""
    value: str | None = None
    if env:
        value = os.environ.get(env)
    elif file is not None:
        path = file if file.is_absolute() else base / file
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                value = read_secret_file(path)
        except (OSError, UnicodeDecodeError):
            value = None
    if value is not None:
        register(value)
    return value


def secret_variables(inventory: Inventory) -> dict[str, str]:
    """Every environment variable the inventory reads a secret from (bind passwords, RADIUS
    shared secrets, health API credentials), with what it holds: such a variable is never
    sent anywhere else (a notify URL's `${VAR}`)."""
    found: dict[str, str] = {}
    for provider in inventory.providers:
        if provider.bind is not None and provider.bind.password_env:
            found[provider.bind.password_env] = f"the bind password of provider {provider.name}"
        if provider.radius is not None and provider.radius.secret_env:
            found[provider.radius.secret_env] = f"the RADIUS shared secret of {provider.name}"
    for appliance in inventory.pair.appliances:
        spec = appliance.health
        if spec is not None:
            for env in (spec.client_id_env, spec.client_secret_env):
                if env:
                    found[env] = f"a health API credential of appliance {appliance.name}"
    return found
