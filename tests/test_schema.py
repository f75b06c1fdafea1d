"""The shipped inventory JSON Schema says what the loader accepts, no more and no less."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from auditor.errors import InputError
from auditor.inventory import appparams
from auditor.inventory import load as loader
from auditor.inventory.healthspec import HEALTH_KEYS
from auditor.inventory.load import load_inventory
from auditor.resources import schema_path
from auditor.values import NAME_RE

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(schema_path("inventory").read_text(encoding="utf-8"))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def keys_of(node: dict[str, Any]) -> dict[str, bool]:
    node = resolve(node)
    required = set(node.get("required", []))
    return {key: key in required for key in node["properties"]}


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_schema_keys_match_the_loader_tables() -> None:
    props = SCHEMA["properties"]
    pair = props["pair"]["properties"]
    provider = SCHEMA["$defs"]["provider"]["properties"]
    assert keys_of(SCHEMA) == loader.TOP_KEYS
    assert keys_of(props["site"]) == loader.SITE_KEYS
    assert keys_of(props["pair"]) == loader.PAIR_KEYS
    assert keys_of(pair["primary"]) == loader.APPLIANCE_KEYS
    assert keys_of(pair["backup"]) == loader.APPLIANCE_KEYS
    assert keys_of(pair["failover"]) == loader.FAILOVER_KEYS
    assert keys_of(SCHEMA["$defs"]["address"]) == loader.ADDRESS_KEYS
    assert keys_of(SCHEMA["$defs"]["provider"]) == loader.PROVIDER_KEYS
    assert keys_of(provider["bind"]) == loader.BIND_KEYS
    assert keys_of(SCHEMA["$defs"]["radius"]) == appparams.RADIUS_KEYS
    assert keys_of(SCHEMA["$defs"]["kerberos"]) == appparams.KERBEROS_KEYS
    assert keys_of(SCHEMA["$defs"]["dns"]) == appparams.DNS_KEYS
    assert keys_of(SCHEMA["$defs"]["appliance"]["properties"]["health"]) == HEALTH_KEYS
    # the loader full-matches; in JSON Schema (ECMA) `^...$` is a full match
    assert SCHEMA["$defs"]["name"]["pattern"] == f"^{NAME_RE.pattern}$"


def is_lab_file(path: Path) -> bool:
    """A lab file (auditor lab up) names an inventory instead of being one."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and "inventory" in data


INVENTORIES = [p for p in sorted((ROOT / "examples").glob("*.yaml")) if not is_lab_file(p)]


def test_the_lab_examples_are_lab_files_and_everything_else_an_inventory() -> None:
    labs = {p.name for p in (ROOT / "examples").glob("*.yaml") if is_lab_file(p)}
    assert labs == {"lab.yaml", "lab-apps.yaml"}
    assert {"pair.yaml", "lab-inventory.yaml", "lab-apps-inventory.yaml"} <= {
        p.name for p in INVENTORIES
    }


@pytest.mark.parametrize("example", INVENTORIES, ids=lambda p: p.name)
def test_every_example_is_valid_for_both(example: Path) -> None:
    load_inventory(example)
    jsonschema.validate(yaml.safe_load(example.read_text(encoding="utf-8")), SCHEMA)


BAD = {
    "unknown key": ("pair:\n", "pair:\n  standby: {}\n"),
    "literal password": (
        "      password_env: AUDITOR_BIND_PASSWORD\n",
        "      password: secret\n",
    ),
    "bad name": ("  name: support.example.com", "  name: 'support example'"),
    "bad port": ("    peer_port: 443", "    peer_port: 0"),
    "no endpoints": ("    endpoints: [203.0.113.20]", "    endpoints: []"),
    "address without mask": ("      - ip: 198.51.100.12/24", "      - ip: 198.51.100.12"),
    "bad role": (
        "        role: unique\n      - ip: 198.51.100.10/24",
        "        role: solo\n      - ip: 198.51.100.10/24",
    ),
    "enabled not a boolean": ("        enabled: false", "        enabled: 'no'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_both_refuse_the_same_bad_inventories(case: str, tmp_path: Path) -> None:
    old, new = BAD[case]
    text = (ROOT / "examples" / "pair.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError):
        load_inventory(path)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), SCHEMA)


HEALTH_BAD = {
    "literal secret": (
        "      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n",
        "      client_secret: hunter2\n",
    ),
    "plain http": ("url: https://site1.example.com", "url: http://site1.example.com"),
    "two id sources": (
        "      client_id_env: AUDITOR_HEALTH_CLIENT_ID\n",
        "      client_id_env: AUDITOR_HEALTH_CLIENT_ID\n      client_id_file: id.txt\n",
    ),
    "no secret source": ("      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n", ""),
    "credentials in the url": (
        "url: https://site1.example.com",
        "url: https://admin:pw@site1.example.com",
    ),
    "unknown key": ("      tls_name: site1.example.com\n", "      tls_nam: site1.example.com\n"),
}


@pytest.mark.parametrize("case", sorted(HEALTH_BAD))
def test_both_refuse_the_same_bad_health_blocks(case: str, tmp_path: Path) -> None:
    old, new = HEALTH_BAD[case]
    text = (ROOT / "examples" / "health.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert "hunter2" not in str(caught.value) and ":pw@" not in str(caught.value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), SCHEMA)


def test_the_health_block_reaches_the_model() -> None:
    inv = load_inventory(ROOT / "examples" / "health.yaml")
    primary, backup = inv.pair.primary.health, inv.pair.backup.health
    assert primary is not None and backup is not None
    assert primary.url == "https://site1.example.com"
    assert primary.ca_file == ROOT / "examples" / "certs" / "appliance-ca.pem"
    assert primary.client_secret_env == "AUDITOR_HEALTH_CLIENT_SECRET"
    assert backup.tls_name == "site2.example.com"
    assert backup.client_secret_file == Path("/run/secrets/site2-health-secret")
    assert load_inventory(ROOT / "examples" / "pair.yaml").pair.primary.health is None
