"""The shipped inventory JSON Schema says what the loader accepts, no more and no less: both come
from one definition (auditor.model.inventory_spec), and every section refuses the same keys."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import claim_support
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz import examples

from auditor.documents.describe import def_name
from auditor.documents.yamlsource import load_yaml
from auditor.errors import InputError
from auditor.inventory.fields import FieldReader
from auditor.inventory.load import load_inventory
from auditor.inventory.schema import main as schema_main
from auditor.inventory.schema import render
from auditor.inventory.sections import read_keys
from auditor.model import inventory_spec as spec
from auditor.model.rundoc import run_schema
from auditor.resources import schema_path
from auditor.values import NAME_RE

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(schema_path("inventory").read_text(encoding="utf-8"))
# Built once: jsonschema.validate checks the schema itself on every call (that check is
# test_schema_is_valid_draft_2020_12's), which was most of this module's time.
_VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)


def validate(instance: Any) -> None:
    """`jsonschema.validate(instance, SCHEMA)`: the same validator, the same error raised (the
    best match of all of them)."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(instance))
    if error is not None:
        raise error


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_shipped_schema_is_the_one_the_inventory_spec_generates() -> None:
    """`auditor schema inventory` serves this file: it is generated, never edited by hand."""
    assert schema_path("inventory").read_text(encoding="utf-8") == render(), (
        "run `make schemas` to regenerate auditor/schemas/inventory.schema.json"
    )


def test_the_schema_names_the_loader_name_pattern() -> None:
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
    validate(yaml.safe_load(example.read_text(encoding="utf-8")))


def test_the_test_inventories_are_valid_for_both(tmp_path: Path) -> None:
    """The inventories tests write by hand (the claim lab's; the factories build pair.yaml's)."""
    path = claim_support.write_inventory(tmp_path)
    load_inventory(path)
    validate(yaml.safe_load(path.read_text(encoding="utf-8")))


# Where each section of the definition sits in an example: (file, path to one such mapping).
SECTION_AT: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "inventory": ("pair.yaml", ()),
    "site": ("pair.yaml", ("site",)),
    "pair": ("pair.yaml", ("pair",)),
    "appliance": ("pair.yaml", ("pair", "backup")),
    "address": ("pair.yaml", ("pair", "primary", "addresses", 1)),
    "failover": ("pair.yaml", ("pair", "failover")),
    "provider": ("pair.yaml", ("providers", 2)),
    "bind": ("pair.yaml", ("providers", 0, "bind")),
    "health": ("health.yaml", ("pair", "primary", "health")),
    "radius": ("lab-apps-inventory.yaml", ("providers", 0, "radius")),
    "kerberos": ("lab-apps-inventory.yaml", ("providers", 1, "kerberos")),
    "dns": ("lab-apps-inventory.yaml", ("providers", 2, "dns")),
}
SECTIONS = {s.name: s for s in (spec.INVENTORY, *spec.SECTIONS)}


def test_every_section_of_the_definition_is_tried() -> None:
    assert set(SECTION_AT) == set(SECTIONS)


def field_path(parts: tuple[str | int, ...]) -> str:
    """The loader's name of a field: pair.primary.addresses[1].ip."""
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else f"{text}.{part}" if text else part
    return text


def changed(tmp_path: Path, section: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """The example holding `section`, with `change` applied to that mapping, written out."""
    name, at = SECTION_AT[section]
    data = yaml.safe_load((ROOT / "examples" / name).read_text(encoding="utf-8"))
    node = data
    for part in at:
        node = node[part]
    change(node)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    return [(p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("section", sorted(SECTION_AT))
def test_a_key_the_loader_refuses_the_schema_refuses(section: str, tmp_path: Path) -> None:
    """additionalProperties: false on every section, and the loader's one located line."""
    path = changed(tmp_path, section, lambda node: node.update(unheard_of=1))
    [(field, message)] = problems(path)
    assert field == field_path((*SECTION_AT[section][1], "unheard_of"))
    assert message == f"unknown key (expected one of {', '.join(SECTIONS[section].table)})"
    with pytest.raises(jsonschema.ValidationError, match="unheard_of"):
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("section", "key"),
    [(name, key) for name, s in sorted(SECTIONS.items()) for key, req in s.table.items() if req],
)
def test_a_required_key_the_loader_misses_the_schema_misses(
    section: str, key: str, tmp_path: Path
) -> None:
    path = changed(tmp_path, section, lambda node: node.pop(key))
    assert (field_path(SECTION_AT[section][1]), f"missing required key '{key}'") in problems(path)
    with pytest.raises(jsonschema.ValidationError, match=f"'{key}' is a required property"):
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


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
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


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
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


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


# One value of each kind of the definition that the loader refuses (a field check of its own).
BAD_VALUE = {
    "name": "has space",
    "text": "two\nlines",
    "hostname": "under_score!",
    "port": 0,
    "interface": "198.51.100.11",
    "ip": "not-an-address",
    "env_name": "1NOT_A_VARIABLE",
    "file": "",
}


def kind_of(key: spec.Key) -> str | None:
    target = key.shape.get("$ref", "")
    name = target.rsplit("/", 1)[-1]
    return name if name in spec.VALUES else None


@pytest.mark.parametrize(
    ("section", "key"),
    [(n, k.name) for n, s in sorted(SECTIONS.items()) for k in s.keys if kind_of(k)],
)
def test_a_value_of_the_wrong_kind_is_refused_by_both_at_its_field(
    section: str, key: str, tmp_path: Path
) -> None:
    """The kind the definition gives a key is the check the loader runs on it."""
    kind = kind_of(next(k for k in SECTIONS[section].keys if k.name == key))
    assert kind is not None and set(BAD_VALUE) == set(spec.VALUES)

    def spoil(node: dict[str, Any]) -> None:
        for other in (key.removesuffix("_env") + "_file", key.removesuffix("_file") + "_env"):
            if other != key:
                node.pop(other, None)  # one source of a secret at a time
        node[key] = BAD_VALUE[kind]

    path = changed(tmp_path, section, spoil)
    field = field_path((*SECTION_AT[section][1], key))
    assert field in [f for f, _ in problems(path)]
    with pytest.raises(jsonschema.ValidationError):
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def sibling(section: str, key: str) -> tuple[str, str] | None:
    """The other key of a secret's two sources, with a value (password_env -> password_file)."""
    for source in SECTIONS[section].secrets:
        if key == source.env_key:
            return source.file_key, "secret.txt"
        if key == source.file_key:
            return source.env_key, "AUDITOR_SOME_SECRET"
    return None


@pytest.mark.parametrize(
    ("section", "key"),
    [(n, k.name) for n, s in sorted(SECTIONS.items()) for k in s.keys if not k.required],
)
def test_a_key_without_a_value_is_left_out_for_both_or_refused_by_both(
    section: str, key: str, tmp_path: Path
) -> None:
    """`key:` with nothing after it: the definition says which keys take that as left out."""
    nullable = next(k for k in SECTIONS[section].keys if k.name == key).nullable
    other = sibling(section, key)

    def blank(node: dict[str, Any]) -> None:
        if other is not None and node.get(other[0]) is None:
            node[other[0]] = other[1]  # the secret keeps its one source
        node[key] = None

    path = changed(tmp_path, section, blank)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if nullable:
        load_inventory(path)
        validate(data)
    else:
        assert field_path((*SECTION_AT[section][1], key)) in [f for f, _ in problems(path)]
        with pytest.raises(jsonschema.ValidationError):
            validate(data)


@pytest.mark.parametrize("written", ["AAAA", "aaaa", "Srv"])
def test_a_query_type_in_any_case_is_valid_for_both(written: str, tmp_path: Path) -> None:
    path = changed(tmp_path, "dns", lambda node: node.update(query_type=written))
    assert load_inventory(path).providers[2].dns is not None
    validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def leaves(node: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The path of every value under `node`, mappings and lists included."""
    inner: list[tuple[str | int, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            inner += leaves(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            inner += leaves(value, (*at, i))
    return [*inner, at] if at else inner


EXAMPLE_DATA = {
    name: yaml.safe_load((ROOT / "examples" / name).read_text(encoding="utf-8"))
    for name in ("pair.yaml", "health.yaml", "lab-apps-inventory.yaml")
}
PLACES = [(name, at) for name, data in sorted(EXAMPLE_DATA.items()) for at in leaves(data)]
# Values near the edges of what the loader accepts.
EDGE_VALUES = [
    *(None, "", 0, 1, 443, 65536, True, 3.5, [], {}, [None], ["a"], [636], ["88/udp", 88]),
    *("A", "aaaa", "Srv", "ldaps", "LDAPS", "x.example.com.", "X.Example.COM", "-bad", "ab_c"),
    *("198.51.100.0/30", "198.51.100.11/8", "198.51.100.11/33", "2001:db8::1", "0.0.0.0"),
    *("636/udp", "636/TCP", "a b", "a\u2028b", "é", "a" * 201, "~/x", "/etc/x", "u@x", "a$b"),
    *("https://h.example.com/", "HTTPS://h.example.com", "https://[2001:db8::1]", "CORP.EXAMPLE"),
]


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(place=st.sampled_from(PLACES), value=st.sampled_from(EDGE_VALUES))
def test_what_the_loader_accepts_the_schema_accepts(
    place: tuple[str, tuple[str | int, ...]], value: Any, tmp_path: Path
) -> None:
    """An editor or CI using the shipped schema never flags an inventory the auditor loads."""
    name, at = place
    data = copy.deepcopy(EXAMPLE_DATA[name])
    node = data
    for part in at[:-1]:
        node = node[part]
    node[at[-1]] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        load_inventory(path)
    except InputError:
        return
    validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_every_kept_key_is_a_field_of_its_model_and_so_in_the_run_document() -> None:
    """The loader builds each section's model dataclass from the keys the definition keeps;
    the run document copies those dataclasses, so its schema holds every kept key's field."""
    assert spec.model_mismatches() == []
    run_defs = run_schema()["$defs"]
    for section in SECTIONS.values():
        assert section.model is not None
        written = set(run_defs[def_name(section.model)]["properties"])
        kept = {k.attribute for k in section.keys if k.attribute} | set(section.derived)
        assert written == kept, section.name


def test_a_key_added_to_the_definition_alone_stops_make_schemas(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new key needs its model field (the run document's copy) in the same change."""
    site = replace(spec.SITE, keys=(*spec.SITE.keys, spec.Key("owner", spec.ref("text"))))
    monkeypatch.setattr(spec, "SECTIONS", (site, *spec.SECTIONS[1:]))
    assert spec.model_mismatches() == ["site: key owner is no field of Site"]
    assert schema_main() == 1
    assert "site: key owner is no field of Site" in capsys.readouterr().err


def test_a_section_is_read_key_by_key_by_its_definition(tmp_path: Path) -> None:
    """Each key by its definition's check, at its line; a key not kept is checked all the same."""
    section = spec.Section(
        "note",
        (
            spec.Key("owner", spec.ref("name"), required=True, check="name"),
            spec.Key("remark", spec.ref("text"), nullable=True, check="text", kept=False),
            spec.Key("port", spec.ref("port"), check="port", field="listen_port"),
        ),
    )
    path = tmp_path / "note.yaml"
    path.write_text("note:\n  owner: team-a\n  remark: 7\n  port: 8443\n", encoding="utf-8")
    reader = FieldReader(load_yaml(path), path)
    data = reader.mapping("note", reader.doc.data["note"], section.table)
    assert data is not None
    assert read_keys(reader, "note", data, section) == {"owner": "team-a", "listen_port": 8443}
    assert [str(p) for p in reader.problems] == [
        f"{path}:3: note.remark: expected a string, got a number"
    ]
