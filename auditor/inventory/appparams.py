"""The providers' application-probe settings in an inventory: `radius:` (where the shared
secret is read, an optional probe user), `kerberos:` (realm, principal) and `dns:` (the name to
ask for). Read by the inventory loader; a literal secret is refused, never echoed."""

from __future__ import annotations

import re
from typing import Any

from auditor.documents.yamlsource import join
from auditor.inventory.fields import FieldReader
from auditor.inventory.secretsource import read_source, refuse_literals
from auditor.model import inventory_spec as spec
from auditor.model.inventory import DnsSpec, KerberosSpec, RadiusSpec

RADIUS_KEYS = spec.RADIUS.table  # the keys each mapping accepts: auditor.model.inventory_spec
KERBEROS_KEYS = spec.KERBEROS.table
DNS_KEYS = spec.DNS.table
RADIUS_SECRET = spec.RADIUS_SECRET
REALM_RE = re.compile(spec.REALM_PATTERN)
PRINCIPAL_RE = re.compile(spec.PRINCIPAL_PATTERN)
USER_RE = re.compile(spec.USER_PATTERN)
QUERY_TYPES = spec.QUERY_TYPES


def read_radius(reader: FieldReader, path: str, value: Any) -> RadiusSpec | None:
    value, refused = refuse_literals(reader, path, value, [("secret", RADIUS_SECRET)])
    data = reader.mapping(path, value, RADIUS_KEYS)
    if data is None:
        return None
    source = read_source(reader, path, data, RADIUS_SECRET, required=RADIUS_SECRET not in refused)
    user = None
    if data.get("user") is not None:
        raw = data["user"]
        if isinstance(raw, str) and USER_RE.fullmatch(raw):
            user = raw
        else:
            reader.problem(join(path, "user"), "expected a user name (letters, digits, ._@-)")
    return RadiusSpec(secret_env=source.env, secret_file=source.file, user=user)


def read_kerberos(reader: FieldReader, path: str, value: Any) -> KerberosSpec | None:
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


def read_dns(reader: FieldReader, path: str, value: Any) -> DnsSpec | None:
    data = reader.mapping(path, value, DNS_KEYS)
    if data is None:
        return None
    name = reader.hostname(join(path, "query_name"), data.get("query_name"))
    qtype = str(data.get("query_type", "A")).upper()
    if qtype not in QUERY_TYPES:
        reader.problem(join(path, "query_type"), f"expected one of {', '.join(QUERY_TYPES)}")
        return None
    return DnsSpec(query_name=name, query_type=qtype) if name is not None else None
