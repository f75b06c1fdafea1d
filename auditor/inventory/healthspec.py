"""The `health:` block of an appliance in the inventory: where its command API answers and
where the OAuth client credentials are read from (never the credentials themselves)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from netaddr import AddrFormatError, IPAddress

from auditor.inventory.secretsource import read_source, refuse_literals
from auditor.inventory.sections import all_read, read_keys
from auditor.model import inventory_spec as spec
from auditor.model.inventory import HealthSpec
from auditor.values import is_hostname

# name -> required, read from the inventory's one definition (auditor.model.inventory_spec)
HEALTH_KEYS = spec.HEALTH.table
CLIENT_ID = spec.CLIENT_ID
CLIENT_SECRET = spec.CLIENT_SECRET
# Keys someone might paste a credential under: refused, and their value never shown.
LITERAL_KEYS = ("client_id", "client_secret", "secret", "password", "token")
_LITERALS = [(k, CLIENT_ID if k == "client_id" else CLIENT_SECRET) for k in LITERAL_KEYS]


class FieldReader(Protocol):
    """The inventory loader's field checks (the reader of auditor.inventory.load)."""

    def problem(self, path: str, message: str) -> None: ...

    def mapping(self, path: str, value: Any, keys: Mapping[str, bool]) -> dict[str, Any] | None: ...

    def text(self, path: str, value: Any, *, optional: bool = False) -> str | None: ...

    def hostname(self, path: str, value: Any) -> str | None: ...

    def file_path(self, path: str, value: Any) -> Path | None: ...


def read_health(reader: FieldReader, path: str, value: Any) -> HealthSpec | None:
    """A validated HealthSpec, or None after reporting every problem through `reader`."""
    value, refused = refuse_literals(reader, path, value, _LITERALS)
    data = reader.mapping(path, value, HEALTH_KEYS)
    if data is None:
        return None
    fields = read_keys(reader, path, data, spec.HEALTH, url=lambda at, v: _url(reader, at, v))
    ok = not refused and all_read(spec.HEALTH, data, fields)
    client_id = read_source(reader, path, data, CLIENT_ID, required=CLIENT_ID not in refused)
    secret = read_source(reader, path, data, CLIENT_SECRET, required=CLIENT_SECRET not in refused)
    if not (ok and client_id.ok and secret.ok):
        return None
    return HealthSpec(
        **fields,
        client_id_env=client_id.env,
        client_id_file=client_id.file,
        client_secret_env=secret.env,
        client_secret_file=secret.file,
    )


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
