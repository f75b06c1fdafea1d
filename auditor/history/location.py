"""Where the history store is: an SQLite file (`sqlite:///PATH`, or a bare path) or a
PostgreSQL database (`postgresql://USER@HOST[:PORT]/DB`), read once from an option or a file.

A password never travels in the URL: it would sit in the process list, in unit files, in
shell history and in every message that names the store. libpq reads it from `PGPASSWORD` or
a password file (`PGPASSFILE`, `~/.pgpass`), as every PostgreSQL client does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from auditor.values import has_control

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
EXPECTED = "expected sqlite:///PATH, a path, or postgresql://USER@HOST[:PORT]/DATABASE"


class StoreURLError(ValueError):
    """A store location that cannot be used; the message says what is wrong and what fits."""


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A checked store location. `url` is what SQLAlchemy opens (never a password in it);
    `display` is what messages show."""

    url: str
    display: str
    argument: str  # the location as another auditor command takes it (--store ARG)
    path: Path | None = None  # the SQLite file; None for a database server

    def __str__(self) -> str:
        return self.display

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def absolute(self) -> StoreLocation:
        """The same store, an SQLite path made absolute (for a unit file or crontab)."""
        if self.path is None or self.path.is_absolute():
            return self
        return sqlite_location(self.path.absolute())


def sqlite_location(path: Path) -> StoreLocation:
    return StoreLocation(
        url=f"{SQLITE_PREFIX}{path}", display=str(path), argument=str(path), path=path
    )


def parse_store(text: str | Path) -> StoreLocation:
    """`sqlite:///PATH`, a bare path, or `postgresql://USER@HOST[:PORT]/DB[?host=SOCKETDIR]`."""
    if isinstance(text, Path):
        return sqlite_location(text)
    if has_control(text):
        raise StoreURLError("control characters are refused")
    if text.startswith(SQLITE_PREFIX):
        rest = text[len(SQLITE_PREFIX) :]
        if not rest or "?" in rest:
            raise StoreURLError(f"{text!r}: no file named ({EXPECTED})")
        return sqlite_location(Path(rest))
    if "://" not in text:
        if not text:
            raise StoreURLError(f"empty ({EXPECTED})")
        return sqlite_location(Path(text))
    return _postgres(text)


def _postgres(text: str) -> StoreLocation:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in POSTGRES_SCHEMES:
        raise StoreURLError(f"scheme {parts.scheme!r} is not supported ({EXPECTED})")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is not None or any(k.lower() == "password" for k, _ in query):
        # The value itself is never repeated: it is the secret.
        raise StoreURLError(
            "a password in the URL is refused (it would show in the process list and in "
            "every message); put it in PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass)"
        )
    if any(k.lower() == "sslpassword" for k, _ in query):
        raise StoreURLError(
            "sslpassword in the URL is refused (it would show in the process list, in a unit "
            "file and in messages); use a client key without a passphrase, readable only by "
            "the auditor's user (sslkey=...)"
        )
    database = parts.path.lstrip("/")
    if not database or "/" in database:
        raise StoreURLError(f"no database named ({EXPECTED})")
    try:
        port = parts.port
    except ValueError:
        raise StoreURLError(f"the port is not a number 1-65535 ({EXPECTED})") from None
    netloc = parts.netloc
    url = f"postgresql+psycopg://{netloc}/{database}" + (f"?{parts.query}" if parts.query else "")
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or dict(query).get("host", "")
    shown = f"postgresql://{user}{host}{f':{port}' if port else ''}/{database}"
    return StoreLocation(url=url, display=shown, argument=text)
