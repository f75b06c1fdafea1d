"""The inventory, defined once: every section's keys (required or not), the shape of each
value, its constraints, its description, the loader's check of it and the model field it fills.

Three things come from these sections. The loader's mapping checks read each section's `table`
(key -> required) and its section readers (auditor.inventory.sections.read_keys) read each key
by the key's `check` into the model field it names. auditor.inventory.schema generates the
shipped JSON Schema (auditor/schemas/inventory.schema.json), so a key the loader refuses is
refused by the schema too. auditor.model.inventory_copy writes the run document's copy of the
inventory (and reads it back) section by section: each kept key under its model field, nested
sections by the key's shape, then the derived fields. The model dataclasses
(auditor.model.inventory) are what the loader builds and the copy holds; `model_mismatches`
keeps their fields equal to the kept keys plus the derived ones. The definition lives in the
model layer because the run document (auditor.model.rundoc) copies the inventory by it. The
loader's field checks (auditor.inventory.fields, .addresses, .appparams, .healthspec) say in
words what a value must be; the patterns and limits they test are the ones here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from auditor.model.inventory import (
    Address,
    Appliance,
    BindSpec,
    DnsSpec,
    Failover,
    HealthSpec,
    Inventory,
    KerberosSpec,
    Pair,
    Provider,
    RadiusSpec,
    Role,
    Site,
)
from auditor.values import CONTROL_RE, ENV_RE, NAME_EXPECTED, NAME_RE

MAX_TEXT = 200  # a description, a DN: one line (auditor.inventory.fields checks it)
MAX_PORTS_PER_PROVIDER = 64
# Counted before anything is expanded: an inventory of a few KB must not become a million flows.
MAX_ENDPOINTS_PER_PROVIDER = 1024  # after networks are expanded to their hosts
REALM_PATTERN = r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}"
PRINCIPAL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._/$-]{0,127}"
USER_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}"
QUERY_TYPES = ("A", "AAAA", "SOA", "NS", "MX", "SRV", "TXT", "PTR")


@dataclass(frozen=True, slots=True)
class SecretSource:
    """Where one secret may come from: the keys `{stem}_env` and `{stem}_file` (read and
    checked by auditor.inventory.secretsource)."""

    stem: str  # password, secret, client_id, client_secret
    example_env: str  # a variable name the "not a variable name" message suggests

    @property
    def env_key(self) -> str:
        return f"{self.stem}_env"

    @property
    def file_key(self) -> str:
        return f"{self.stem}_file"


BIND_PASSWORD = SecretSource("password", example_env="AUDITOR_BIND_PASSWORD")
RADIUS_SECRET = SecretSource("secret", example_env="AUDITOR_RADIUS_SECRET")
CLIENT_ID = SecretSource("client_id", example_env="AUDITOR_HEALTH_CLIENT_ID")
CLIENT_SECRET = SecretSource("client_secret", example_env="AUDITOR_HEALTH_CLIENT_SECRET")


def ref(name: str) -> dict[str, Any]:
    """A JSON Schema reference to a value shape or a section (both live in `$defs`)."""
    return {"$ref": f"#/$defs/{name}"}


def full(pattern: str) -> str:
    """A Python pattern the loader full-matches, as a JSON Schema (ECMA) pattern."""
    return f"^{pattern}$"


# The kinds of value an inventory holds, by name (JSON Schema `$defs`); sections refer to them.
VALUES: dict[str, dict[str, Any]] = {
    "name": {
        "type": "string",
        "pattern": full(NAME_RE.pattern),
        "description": NAME_EXPECTED[0].upper() + NAME_EXPECTED[1:] + ".",
    },
    "text": {
        "type": "string",
        "maxLength": MAX_TEXT,
        "pattern": f"^[^{CONTROL_RE.pattern[1:-1]}]*$",  # the loader's has_control
        "description": f"One line, at most {MAX_TEXT} characters.",
    },
    "hostname": {
        "type": "string",
        "maxLength": 253,
        "pattern": "^[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})*\\.?$",
    },
    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "interface": {
        "type": "string",
        "description": "An address with its prefix length, e.g. 198.51.100.11/24 or "
        "2001:db8::11/64.",
        "pattern": "^[0-9A-Fa-f:.]+/[0-9]{1,3}$",
    },
    "ip": {
        "type": "string",
        "description": "A plain IPv4 or IPv6 address.",
        "pattern": "^[0-9A-Fa-f:.]+$",
    },
    "env_name": {
        "type": "string",
        "pattern": full(ENV_RE.pattern),
        "description": "The name of an environment variable holding the value.",
    },
    "file": {
        "type": "string",
        "minLength": 1,
        "description": "A file path; a relative one is relative to the inventory file.",
    },
}


# The loader's checks of one value, by name: the methods of the inventory reader
# (auditor.inventory.fields.FieldReader, auditor.inventory.addresses.AddressReader).
CHECKS = ("name", "text", "hostname", "boolean", "port", "file_path", "interface")


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a section: its name, whether it must be there, its value's schema, how the
    loader checks its value, and the model field (so the run document's copy) it becomes."""

    name: str
    shape: dict[str, Any]
    required: bool = False
    description: str = ""
    nullable: bool = False  # `key:` with no value is taken as the key left out
    # The loader's check of the value (one of CHECKS); "": its section's reader has its own
    # (a nested section, a list, a secret source, a value with its own words).
    check: str = ""
    field: str = ""  # the model field it fills, when not named as the key
    kept: bool = True  # False: checked when loaded, not kept (a description of an address)

    @property
    def attribute(self) -> str | None:
        """The model field this key fills (None: not kept)."""
        return (self.field or self.name) if self.kept else None


@dataclass(frozen=True, slots=True)
class Section:
    """One mapping of the inventory: its keys, and the secrets it must name a source for."""

    name: str  # its name in the schema's `$defs`
    keys: tuple[Key, ...]
    description: str = ""
    # each secret needs exactly one of its `{stem}_env` and `{stem}_file` keys
    secrets: tuple[SecretSource, ...] = field(default=())
    # The model dataclass the loader builds of it (auditor.model.inventory) and the run
    # document's copy holds: its fields are the kept keys' `attribute`s plus `derived` (what
    # the loader adds: the appliance's side, the inventory's source and digest), which the copy
    # writes after the keys.
    model: type | None = None
    derived: tuple[str, ...] = ()

    @property
    def table(self) -> dict[str, bool]:
        """The accepted keys, each mapped to whether it is required (the loader's check)."""
        return {key.name: key.required for key in self.keys}


def secret_keys(source: SecretSource) -> tuple[Key, Key]:
    return (
        Key(source.env_key, ref("env_name"), nullable=True),
        Key(source.file_key, ref("file"), nullable=True),
    )


def any_case(words: tuple[str, ...]) -> str:
    """A pattern matching any of `words` in any letter case (ECMA patterns have no flags)."""
    return "^(" + "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in w) for w in words) + ")$"


SITE = Section(
    "site",
    (
        Key("name", ref("name"), required=True, check="name"),
        Key("description", ref("text"), nullable=True, check="text"),
    ),
    model=Site,
)
ADDRESS = Section(
    "address",
    (
        Key("ip", ref("interface"), required=True, check="interface", field="interface"),
        Key("role", {"enum": [r.value for r in Role]}, required=True),
        Key("enabled", {"type": "boolean", "default": True}, check="boolean"),
        Key("description", ref("text"), nullable=True, check="text", kept=False),
    ),
    model=Address,
)
HEALTH = Section(
    "health",
    (
        Key(
            "url",
            {
                "type": "string",
                "maxLength": MAX_TEXT,
                "pattern": "^[Hh][Tt][Tt][Pp][Ss]://[^@/?#\\s]+(/[^?#@\\s]*)?$",
            },
            required=True,
            description="The appliance's own https address, e.g. https://site1.example.com.",
        ),
        Key(
            "ca_file",
            ref("file"),
            description="CA bundle to verify the appliance's certificate. Default: the "
            "system's trust store.",
            nullable=True,
            check="file_path",
        ),
        Key(
            "tls_name",
            ref("hostname"),
            description="The name the appliance's certificate must carry; default the URL's host.",
            nullable=True,
            check="hostname",
        ),
        *secret_keys(CLIENT_ID),
        *secret_keys(CLIENT_SECRET),
    ),
    description="Where to ask the appliance for its live failover state (command API "
    "check_health, OAuth2 client credentials). Literal credentials are refused: give *_env or "
    "*_file.",
    secrets=(CLIENT_ID, CLIENT_SECRET),
    model=HealthSpec,
)
APPLIANCE = Section(
    "appliance",
    (
        Key("name", ref("name"), required=True, check="name"),
        Key(
            "hostname",
            ref("hostname"),
            description="Informational.",
            nullable=True,
            check="hostname",
        ),
        Key("addresses", {"type": "array", "minItems": 1, "items": ref("address")}, required=True),
        Key("description", ref("text"), nullable=True, check="text", kept=False),
        Key("health", ref("health"), nullable=True),
    ),
    model=Appliance,
    derived=("side",),
)
FAILOVER = Section(
    "failover",
    (
        Key(
            "site_instance_ip",
            ref("ip"),
            description="The failover IP of the /login Primary/Backup Site Instance "
            "Configuration; must be a shared IP.",
            nullable=True,
        ),
        Key("peer_port", {**ref("port"), "default": 443}, check="port"),
    ),
    model=Failover,
)
PAIR = Section(
    "pair",
    (
        Key("primary", ref("appliance"), required=True),
        Key("backup", ref("appliance"), required=True),
        Key("failover", ref("failover")),
    ),
    model=Pair,
)
BIND = Section(
    "bind",
    (Key("dn", ref("text"), required=True, check="text"), *secret_keys(BIND_PASSWORD)),
    description="A service account. Literal passwords are refused: give password_env or "
    "password_file.",
    secrets=(BIND_PASSWORD,),
    model=BindSpec,
)
RADIUS = Section(
    "radius",
    (
        *secret_keys(RADIUS_SECRET),
        Key("user", {"type": "string", "pattern": full(USER_PATTERN)}, nullable=True),
    ),
    description="RADIUS probe: where the shared secret is read (a literal secret is refused), "
    "and an optional probe user (Access-Request instead of Status-Server).",
    secrets=(RADIUS_SECRET,),
    model=RadiusSpec,
)
KERBEROS = Section(
    "kerberos",
    (
        Key("realm", {"type": "string", "pattern": full(REALM_PATTERN)}, required=True),
        Key("principal", {"type": "string", "pattern": full(PRINCIPAL_PATTERN)}, required=True),
    ),
    description="Kerberos probe: an AS-REQ without pre-authentication for this principal.",
    model=KerberosSpec,
)
DNS = Section(
    "dns",
    (
        Key("query_name", ref("hostname"), required=True),
        Key(
            "query_type",
            {"type": "string", "pattern": any_case(QUERY_TYPES), "default": "A"},
            description="One of " + ", ".join(QUERY_TYPES) + ", in any letter case.",
        ),
    ),
    description="DNS probe: the name (and record type) to ask for.",
    model=DnsSpec,
)
PROVIDER = Section(
    "provider",
    (
        Key("name", ref("name"), required=True, check="name"),
        Key(
            "kind",
            ref("name"),
            required=True,
            check="name",
            description="A kind from a requirement pack: ldaps, ldap, gc, gcs, radius, kerberos, "
            "dns, ntp, syslog, smtp, or a user pack's.",
        ),
        Key(
            "endpoints",
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ENDPOINTS_PER_PROVIDER,
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "description": "An IP address, a hostname (resolved to all its A/AAAA "
                    "records), or a small network without host bits (expanded to its hosts).",
                },
            },
            required=True,
        ),
        Key(
            "ports",
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_PORTS_PER_PROVIDER,
                "items": {
                    "oneOf": [
                        ref("port"),
                        {"type": "string", "pattern": "^[0-9]{1,5}(/(tcp|udp))?$"},
                    ]
                },
            },
            description="Overrides the kind's ports: 636, or 88/udp.",
            nullable=True,
        ),
        Key(
            "tls_name",
            ref("hostname"),
            description="The name the provider's certificate must carry.",
            nullable=True,
            check="hostname",
        ),
        Key("base_dn", ref("text"), nullable=True, check="text"),
        Key("bind", ref("bind"), nullable=True),
        Key(
            "ca_file",
            ref("file"),
            description="CA bundle to validate the provider's certificate.",
            nullable=True,
            check="file_path",
        ),
        Key("starttls", {"type": "boolean", "default": False}, nullable=True, check="boolean"),
        Key("description", ref("text"), nullable=True, check="text"),
        Key("radius", ref("radius"), nullable=True),
        Key("kerberos", ref("kerberos"), nullable=True),
        Key("dns", ref("dns"), nullable=True),
    ),
    model=Provider,
)
INVENTORY = Section(
    "inventory",
    (
        Key("site", ref("site"), required=True),
        Key("pair", ref("pair"), required=True),
        Key("providers", {"type": "array", "items": ref("provider")}, required=True),
    ),
    description="Every address of both appliances of a shared-IP failover pair and the "
    "security providers they must reach.",
    model=Inventory,
    derived=("source", "digest"),
)
# Every section but the top one, in the order the schema lists them.
SECTIONS = (SITE, PAIR, APPLIANCE, ADDRESS, FAILOVER, PROVIDER, BIND, HEALTH, RADIUS, KERBEROS, DNS)

# Keys that once belonged to an inventory and now live elsewhere: refused with where they went.
MOVED_KEYS = {
    "lab": "lab settings are not part of an inventory: put them in a lab file of their own "
    "that names this inventory (`inventory: FILE` beside router, servers, rules; see "
    "examples/lab.yaml and `auditor lab up --help`)",
}


def model_mismatches() -> list[str]:
    """Where a section's kept keys and its model's fields differ (`compare=False` fields, such
    as the line map, are not written to the run document); [] when every kept
    key is a field and every field is a kept key or derived. `make schemas` refuses to write a
    schema while there is one."""
    out: list[str] = []
    for section in (INVENTORY, *SECTIONS):
        if section.model is None:
            continue
        name = section.model.__name__
        kept = {k.attribute for k in section.keys if k.attribute} | set(section.derived)
        fields = {f.name for f in dataclasses.fields(section.model) if f.compare}
        out += [f"{section.name}: key {k} is no field of {name}" for k in sorted(kept - fields)]
        out += [f"{section.name}: {name}.{f} comes from no key" for f in sorted(fields - kept)]
    return out
