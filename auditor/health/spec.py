"""The `health:` block of an appliance in the inventory: where its command API answers and
where the OAuth client credentials are read from (never the credentials themselves)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from netaddr import AddrFormatError, IPAddress

from auditor.inventory.model import HealthSpec
from auditor.values import is_env_name, is_hostname

# name -> required; tests/test_schema.py keeps the JSON Schema in step with this table.
HEALTH_KEYS = {
    "url": True,
    "ca_file": False,
    "tls_name": False,
    "client_id_env": False,
    "client_id_file": False,
    "client_secret_env": False,
    "client_secret_file": False,
}
# Keys someone might paste a credential under: refused, and their value never shown.
LITERAL_KEYS = ("client_id", "client_secret", "secret", "password", "token")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FieldReader(Protocol):
    """The inventory loader's field checks (auditor.inventory._Reader)."""

    def problem(self, path: str, message: str) -> None: ...

    def mapping(self, path: str, value: Any, keys: Mapping[str, bool]) -> dict[str, Any] | None: ...

    def text(self, path: str, value: Any, *, optional: bool = False) -> str | None: ...

    def hostname(self, path: str, value: Any) -> str | None: ...

    def file_path(self, path: str, value: Any) -> Path | None: ...


def read_health(reader: FieldReader, path: str, value: Any) -> HealthSpec | None:
    """A validated HealthSpec, or None after reporting every problem through `reader`."""
    ok = True
    literal = set(value) & set(LITERAL_KEYS) if isinstance(value, dict) else set()
    if isinstance(value, dict):
        for key in LITERAL_KEYS:
            if key in value:
                reader.problem(
                    f"{path}.{key}",
                    "a literal credential is refused (value not shown): inventories end up in "
                    f"version control, tickets and reports (expected {_sources(key)})",
                )
                ok = False
        value = {k: v for k, v in value.items() if k not in LITERAL_KEYS}
    data = reader.mapping(path, value, HEALTH_KEYS)
    if data is None:
        return None
    url = _url(reader, f"{path}.url", data["url"]) if "url" in data else None
    ca_file = None
    if data.get("ca_file") is not None:
        ca_file = reader.file_path(f"{path}.ca_file", data["ca_file"])
        ok = ok and ca_file is not None
    tls_name = None
    if data.get("tls_name") is not None:
        tls_name = reader.hostname(f"{path}.tls_name", data["tls_name"])
        ok = ok and tls_name is not None
    id_env, id_file, id_ok = _source(reader, path, data, "client_id", literal)
    secret_env, secret_file, secret_ok = _source(reader, path, data, "client_secret", literal)
    if not (ok and id_ok and secret_ok) or url is None:
        return None
    return HealthSpec(
        url=url,
        ca_file=ca_file,
        tls_name=tls_name,
        client_id_env=id_env,
        client_id_file=id_file,
        client_secret_env=secret_env,
        client_secret_file=secret_file,
    )


def _sources(key: str) -> str:
    stem = "client_id" if key == "client_id" else "client_secret"
    return f"{stem}_env: VARIABLE or {stem}_file: PATH"


def _source(
    reader: FieldReader, path: str, data: dict[str, Any], stem: str, literal: set[str]
) -> tuple[str | None, Path | None, bool]:
    env_key, file_key = f"{stem}_env", f"{stem}_file"
    has_env, has_file = data.get(env_key) is not None, data.get(file_key) is not None
    if has_env and has_file:
        reader.problem(path, f"both {env_key} and {file_key} are set (expected one)")
        return None, None, False
    if not has_env and not has_file:
        # A literal credential under a key of this stem was already reported: one line for it.
        pasted = literal & (
            {stem, "secret", "password", "token"} if stem != "client_id" else {stem}
        )
        if not pasted:
            reader.problem(path, f"no {stem} source (expected {env_key} or {file_key})")
        return None, None, False
    if has_env:
        raw = data[env_key]
        if is_env_name(raw):
            return raw, None, True
        # never echo it: a secret pasted here by mistake must not reach a log
        reader.problem(
            f"{path}.{env_key}",
            "is not an environment variable name (value not shown; expected a name like "
            f"AUDITOR_HEALTH_{stem.upper()})",
        )
        return None, None, False
    file = reader.file_path(f"{path}.{file_key}", data[file_key])
    return None, file, file is not None


def _url(reader: FieldReader, path: str, value: Any) -> str | None:
    expected = "expected the appliance's own address, like https://site1.example.com"
    if not isinstance(value, str):
        reader.problem(path, f"is not a string ({expected})")
        return None
    if "@" in value:
        # user:password@host would put a credential in the file; the value is not shown
        reader.problem(path, f"carries user information (value not shown; {expected})")
        return None
    text = reader.text(path, value)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        reader.problem(path, f"is not a valid URL ({exc}; {expected})")
        return None
    if parts.scheme.lower() != "https":
        reader.problem(
            path,
            f"is not an https:// address (the health API is asked over verified TLS only; "
            f"{expected})",
        )
        return None
    if parts.query or parts.fragment:
        reader.problem(path, f"has a query or fragment ({expected}; the API paths are added)")
        return None
    host = parts.hostname or ""
    if not host or (port is not None and not 1 <= port <= 65535):
        reader.problem(path, f"has no host or a bad port ({expected})")
        return None
    if ":" in host:
        try:
            IPAddress(host, 6)
        except (AddrFormatError, ValueError):
            reader.problem(path, f"has a bad IPv6 address ({expected})")
            return None
    if not _host_ok(host):
        reader.problem(path, f"has a host that is no DNS name or unicast address ({expected})")
        return None
    return text.rstrip("/")


def _host_ok(host: str) -> bool:
    """A DNS name, or an address one appliance can hold (not 0.0.0.0, multicast, broadcast)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return is_hostname(host)
    return not (ip.is_unspecified or ip.is_multicast or str(ip) == "255.255.255.255")
