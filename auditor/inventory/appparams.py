"""The providers' application-probe settings in an inventory: `radius:` (where the shared
secret is read, an optional probe user), `kerberos:` (realm, principal) and `dns:` (the name to
ask for). Read by the inventory loader; a literal secret is refused, never echoed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from auditor.inventory.model import DnsSpec, KerberosSpec, RadiusSpec
from auditor.inventory.yamlsource import join
from auditor.values import is_env_name

if TYPE_CHECKING:
    from auditor.inventory.load import _Reader

RADIUS_KEYS = {"secret_env": False, "secret_file": False, "user": False}
KERBEROS_KEYS = {"realm": True, "principal": True}
DNS_KEYS = {"query_name": True, "query_type": False}
# Matched whole (fullmatch): `re.match(...$)` lets a trailing newline through.
REALM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}")
PRINCIPAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/$-]{0,127}")
USER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
QUERY_TYPES = ("A", "AAAA", "SOA", "NS", "MX", "SRV", "TXT", "PTR")


def read_radius(reader: _Reader, path: str, value: Any) -> RadiusSpec | None:
    literal = isinstance(value, dict) and "secret" in value
    if literal:
        reader.problem(
            join(path, "secret"),
            "a literal shared secret is refused: inventories end up in version control, "
            "tickets and reports (expected secret_env: VARIABLE or secret_file: PATH)",
        )
        value = {k: v for k, v in value.items() if k != "secret"}
    data = reader.mapping(path, value, RADIUS_KEYS)
    if data is None:
        return None
    env = None
    if "secret_env" in data:
        raw = data["secret_env"]
        if is_env_name(raw):
            env = raw
        else:
            reader.problem(
                join(path, "secret_env"),
                "is not an environment variable name (value not shown; expected a name like "
                "AUDITOR_RADIUS_SECRET)",
            )
    secret_file = None
    if "secret_file" in data:  # `secret_file:` left empty is no source, not a missing key
        secret_file = reader.file_path(join(path, "secret_file"), data["secret_file"])
    if "secret_env" in data and "secret_file" in data:
        reader.problem(path, "both secret_env and secret_file are set (expected one)")
    elif "secret_env" not in data and "secret_file" not in data and not literal:
        reader.problem(path, "no shared secret source (expected secret_env or secret_file)")
    user = None
    if data.get("user") is not None:
        raw = data["user"]
        if isinstance(raw, str) and USER_RE.fullmatch(raw):
            user = raw
        else:
            reader.problem(join(path, "user"), "expected a user name (letters, digits, ._@-)")
    return RadiusSpec(secret_env=env, secret_file=secret_file, user=user)


def read_kerberos(reader: _Reader, path: str, value: Any) -> KerberosSpec | None:
    data = reader.mapping(path, value, KERBEROS_KEYS)
    if data is None:
        return None
    realm = data.get("realm")
    if not isinstance(realm, str) or not REALM_RE.fullmatch(realm):
        reader.problem(join(path, "realm"), "expected a realm like CORP.EXAMPLE.COM")
        realm = None
    principal = data.get("principal")
    if not isinstance(principal, str) or not PRINCIPAL_RE.fullmatch(principal):
        reader.problem(join(path, "principal"), "expected a principal name like auditor-probe")
        principal = None
    if realm is None or principal is None:
        return None
    return KerberosSpec(realm=realm, principal=principal)


def read_dns(reader: _Reader, path: str, value: Any) -> DnsSpec | None:
    data = reader.mapping(path, value, DNS_KEYS)
    if data is None:
        return None
    name = reader.hostname(join(path, "query_name"), data.get("query_name"))
    qtype = str(data.get("query_type", "A")).upper()
    if qtype not in QUERY_TYPES:
        reader.problem(join(path, "query_type"), f"expected one of {', '.join(QUERY_TYPES)}")
        return None
    return DnsSpec(query_name=name, query_type=qtype) if name is not None else None


def read_all(reader: _Reader, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """The `radius`, `kerberos` and `dns` settings of one provider mapping, as Provider fields."""
    out: dict[str, Any] = {}
    if data.get("radius") is not None:
        out["radius"] = read_radius(reader, join(path, "radius"), data["radius"])
    if data.get("kerberos") is not None:
        out["kerberos"] = read_kerberos(reader, join(path, "kerberos"), data["kerberos"])
    if data.get("dns") is not None:
        out["dns"] = read_dns(reader, join(path, "dns"), data["dns"])
    return out
