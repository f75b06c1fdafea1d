"""The inventory loader: what it accepts, and the one-line located errors for what it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from netaddr import IPAddress, IPNetwork

from auditor.errors import InputError
from auditor.inventory.load import load_inventory
from auditor.model.inventory import Inventory, PortOverride, Protocol, Role, Side

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"

VALID = """\
site:
  name: support.example.com
pair:
  primary:
    name: site1
    addresses:
      - ip: 198.51.100.11/24
        role: unique
      - ip: 198.51.100.10/24
        role: shared
  backup:
    name: site2
    addresses:
      - ip: 198.51.100.12/24
        role: unique
      - ip: 198.51.100.10/24
        role: shared
        enabled: false
providers:
  - name: corp-ad
    kind: ldaps
    endpoints: [203.0.113.10]
"""


def write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Inventory:
    return load_inventory(write(tmp_path, text))


def errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_inventory(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), lines
    return [line.removeprefix(f"{path}:") for line in lines]


def replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


# -- accepted -------------------------------------------------------------------------------


def test_the_example_loads_unchanged() -> None:
    inv = load_inventory(EXAMPLE)
    assert inv.site.name == "support.example.com"
    assert inv.pair.primary.side is Side.PRIMARY
    assert [str(a.interface) for a in inv.pair.primary.addresses] == [
        "198.51.100.11/24",
        "198.51.100.10/24",
    ]
    backup_shared = inv.pair.backup.shared()[0]
    assert backup_shared.enabled is False
    assert backup_shared.network == IPNetwork("198.51.100.0/24")
    assert inv.pair.failover.site_instance_ip == IPAddress("198.51.100.10")
    assert inv.pair.failover.peer_port == 443
    assert [p.name for p in inv.providers] == ["corp-ad", "corp-radius", "time"]
    ad = inv.providers[0]
    assert ad.endpoints == ("203.0.113.10", "203.0.113.11")
    assert ad.bind is not None and ad.bind.password_env == "AUDITOR_BIND_PASSWORD"
    assert ad.tls_name == "ad.corp.example.com"
    assert inv.digest.startswith("sha256:")


def test_enabled_defaults_to_true_and_peer_port_to_443(tmp_path: Path) -> None:
    inv = load(tmp_path, VALID)
    assert all(a.enabled for a in inv.pair.primary.addresses)
    assert inv.pair.failover.peer_port == 443
    assert inv.pair.failover.site_instance_ip is None


def test_lines_are_kept_for_every_field() -> None:
    inv = load_inventory(EXAMPLE)
    assert inv.line_of("pair.backup.addresses[1].enabled") == 21
    assert inv.line_of("providers[2].kind") == 38
    assert inv.line_of("providers[0].bind.nonexistent") == 31


def test_ipv6_and_several_shared_ips(tmp_path: Path) -> None:
    text = replace(
        "      - ip: 198.51.100.10/24\n        role: shared\n  backup:",
        "      - ip: 198.51.100.10/24\n        role: shared\n"
        "      - ip: 2001:db8:100::11/64\n        role: unique\n"
        "      - ip: 2001:db8:100::10/64\n        role: shared\n  backup:",
    )
    inv = load(tmp_path, text)
    shared = inv.pair.primary.shared()
    assert [str(a.ip) for a in shared] == ["198.51.100.10", "2001:db8:100::10"]
    assert shared[1].version == 6
    assert inv.pair.primary.unique()[1].role is Role.UNIQUE


def test_hostnames_networks_and_port_overrides(tmp_path: Path) -> None:
    text = replace(
        "    endpoints: [203.0.113.10]",
        "    endpoints: [dc1.corp.example.com, 203.0.113.8/30, 2001:db8:203::10]\n"
        "    ports: [10636, 88/udp]",
    )
    provider = load(tmp_path, text).providers[0]
    assert provider.endpoints == (
        "dc1.corp.example.com",
        "203.0.113.9",
        "203.0.113.10",
        "2001:db8:203::10",
    )
    assert provider.ports == (PortOverride(10636), PortOverride(88, Protocol.UDP))


def test_relative_files_resolve_against_the_inventory_folder(tmp_path: Path) -> None:
    text = replace(
        "    endpoints: [203.0.113.10]",
        "    endpoints: [203.0.113.10]\n    ca_file: certs/ca.pem\n"
        "    bind:\n      dn: cn=svc\n      password_file: secrets/bind.pw",
    )
    provider = load(tmp_path, text).providers[0]
    assert provider.ca_file == tmp_path.resolve() / "certs" / "ca.pem"
    assert provider.bind is not None
    assert provider.bind.password_file == tmp_path.resolve() / "secrets" / "bind.pw"


# -- refused: one located line per problem --------------------------------------------------


def test_unparsable_yaml_names_the_line(tmp_path: Path) -> None:
    assert errors(tmp_path, "site:\n  name: [x\npair: {}\n") == [
        "3: YAML syntax error: expected ',' or ']', but got ':'"
    ]


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = replace(
        "    addresses:\n      - ip: 198.51.100.12/24",
        "    adresses:\n      - ip: 198.51.100.12/24",
    )
    assert errors(tmp_path, text) == [
        "13: pair.backup.adresses: unknown key (did you mean 'addresses'?)",
        "11: pair.backup: missing required key 'addresses'",
    ]


def test_lab_settings_are_refused_with_where_they_go_now(tmp_path: Path) -> None:
    lines = errors(tmp_path, VALID + "lab:\n  router: {}\n")
    assert len(lines) == 1
    assert lines[0].startswith("23: lab: lab settings are not part of an inventory: put them in a ")
    assert "lab file of their own that names this inventory (`inventory: FILE`" in lines[0]


def test_unknown_key_without_a_close_match_lists_the_expected_ones(tmp_path: Path) -> None:
    assert errors(tmp_path, VALID + "colour: blue\n") == [
        "23: colour: unknown key (expected one of site, pair, providers)"
    ]


def test_wrong_types(tmp_path: Path) -> None:
    text = replace(
        "        role: shared\n        enabled: false",
        "        role: shared\n        enabled: maybe",
    )
    text = text.replace("providers:\n", "providers:\n  - just-a-string\n")
    assert errors(tmp_path, text) == [
        "18: pair.backup.addresses[1].enabled: expected true or false, got 'maybe'",
        "20: providers[0]: expected a mapping with keys name, kind, endpoints, ports, tls_name, "
        "base_dn, bind, ca_file, starttls, description, radius, kerberos, dns, got a string",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("198.51.100.300/24", "'198.51.100.300/24' is not a valid IP address"),
        (
            "198.51.100.11/33",
            "bad prefix length '/33' in '198.51.100.11/33' "
            "(expected /8 to /32: the interface's own subnet)",
        ),
        (
            "198.51.100.11",
            "expected an address with its prefix length, like 198.51.100.11/24 or "
            "2001:db8::11/64, got '198.51.100.11'",
        ),
        (
            "198.51.100.0/24",
            "198.51.100.0 is the network address of 198.51.100.0/24 (expected a host address)",
        ),
        ("2001:db8::zz/64", "'2001:db8::zz/64' is not a valid IP address"),
        (
            "2001:db8::11/129",
            "bad prefix length '/129' in '2001:db8::11/129' "
            "(expected /16 to /128: the interface's own subnet)",
        ),
    ],
)
def test_bad_addresses_and_masks(tmp_path: Path, value: str, message: str) -> None:
    text = replace("      - ip: 198.51.100.11/24", f"      - ip: {value}")
    assert errors(tmp_path, text) == [f"7: pair.primary.addresses[0].ip: {message}"]


def test_host_bits_where_a_network_is_needed(tmp_path: Path) -> None:
    text = replace("    endpoints: [203.0.113.10]", "    endpoints: [203.0.113.10/29]")
    assert errors(tmp_path, text) == [
        "22: providers[0].endpoints[0]: 203.0.113.10/29 has host bits set (expected the network "
        "203.0.113.8/29, or the single host 203.0.113.10 without a prefix length)"
    ]


def test_duplicates(tmp_path: Path) -> None:
    text = VALID.replace("site:\n  name: support.example.com\n", "site:\n  name: a\n  name: b\n")
    assert errors(tmp_path, text) == [
        "3: site.name: duplicate key (first set on line 2; each key once)"
    ]
    text = replace("    endpoints: [203.0.113.10]", "    endpoints: [203.0.113.10, 203.0.113.10]")
    text += "  - name: corp-ad\n    kind: radius\n    endpoints: [203.0.113.20]\n"
    assert errors(tmp_path, text) == [
        "22: providers[0].endpoints[1]: endpoint 203.0.113.10 is listed twice (expected each once)",
        "23: providers[1].name: provider 'corp-ad' is defined twice (first at providers[0].name; "
        "expected unique names)",
    ]
    text = replace(
        "      - ip: 198.51.100.10/24\n        role: shared\n  backup:",
        "      - ip: 198.51.100.10/24\n        role: shared\n"
        "      - ip: 198.51.100.10/25\n        role: unique\n  backup:",
    )
    assert errors(tmp_path, text) == [
        "11: pair.primary.addresses[2].ip: 198.51.100.10 is listed twice on this appliance "
        "(first at pair.primary.addresses[1].ip; expected each address once)"
    ]


def test_a_provider_without_endpoints(tmp_path: Path) -> None:
    assert errors(tmp_path, replace("    endpoints: [203.0.113.10]", "    endpoints: []")) == [
        "22: providers[0].endpoints: no endpoints (expected at least one address or hostname)"
    ]
    assert errors(tmp_path, replace("    endpoints: [203.0.113.10]\n", "")) == [
        "20: providers[0]: missing required key 'endpoints'"
    ]


def test_a_literal_password_is_refused_and_never_echoed(tmp_path: Path) -> None:
    text = replace(
        "    endpoints: [203.0.113.10]",
        "    endpoints: [203.0.113.10]\n    bind:\n      dn: cn=svc\n"
        "      password: hunter2-secret",
    )
    lines = errors(tmp_path, text)
    assert lines == [
        "25: providers[0].bind.password: a literal credential is refused (value not shown): "
        "inventories end up in version control, tickets and reports (expected password_env: "
        "VARIABLE or password_file: PATH)"
    ]
    assert "hunter2" not in "\n".join(lines)


def test_a_password_pasted_as_the_variable_name_is_not_echoed(tmp_path: Path) -> None:
    text = replace(
        "    endpoints: [203.0.113.10]",
        "    endpoints: [203.0.113.10]\n    bind:\n      dn: cn=svc\n"
        "      password_env: 'Hunter2 Secret!'",
    )
    assert errors(tmp_path, text) == [
        "25: providers[0].bind.password_env: is not an environment variable name (value not "
        "shown; expected a name like AUDITOR_BIND_PASSWORD)"
    ]


def test_bind_needs_exactly_one_password_source(tmp_path: Path) -> None:
    text = replace(
        "    endpoints: [203.0.113.10]",
        "    endpoints: [203.0.113.10]\n    bind:\n      dn: cn=svc",
    )
    assert errors(tmp_path, text) == [
        "23: providers[0].bind: no password source (expected password_env or password_file)"
    ]


# Each block that names a secret, where it is written, and the stem of its two keys.
SECRET_BLOCKS = {
    "bind": ("    endpoints: [203.0.113.10]", "    bind:\n      dn: cn=svc\n", "password"),
    "radius": ("    endpoints: [203.0.113.10]", "    radius:\n", "secret"),
    "health": (
        "    name: site1\n",
        "    health:\n      url: https://site1.example.com\n      client_id_env: AUDITOR_ID\n",
        "client_secret",
    ),
}


def secret_block(block: str, settings: str) -> tuple[str, str]:
    """VALID with `block` holding `settings`; and the block's field path."""
    anchor, head, _ = SECRET_BLOCKS[block]
    text = replace(anchor, anchor.rstrip("\n") + "\n" + head + settings + "\n")
    path = {"bind": "providers[0].bind", "radius": "providers[0].radius"}
    return text, path.get(block, "pair.primary.health")


@pytest.mark.parametrize("block", sorted(SECRET_BLOCKS))
def test_every_secret_source_is_refused_with_the_same_words(tmp_path: Path, block: str) -> None:
    stem = SECRET_BLOCKS[block][2]
    cases = {
        f"      {stem}: hunter2-pasted": (
            f"{stem}: a literal credential is refused (value not shown): inventories end up in "
            f"version control, tickets and reports (expected {stem}_env: VARIABLE or "
            f"{stem}_file: PATH)"
        ),
        f"      {stem}_env: 'hunter2 pasted'": (
            f"{stem}_env: is not an environment variable name (value not shown; expected a "
            "name like AUDITOR_"
        ),
        f"      {stem}_env: A\n      {stem}_file: s.txt": (
            f": both {stem}_env and {stem}_file are set (expected one)"
        ),
        f'      {stem}_env: "A\\n"': f"{stem}_env: is not an environment variable name",
    }
    if block != "bind":  # a bind block without a source is tested above, with its line
        cases["      " + ("user: probe" if block == "radius" else "tls_name: a.example.com")] = (
            f": no {stem} source (expected {stem}_env or {stem}_file)"
        )
    for settings, expected in cases.items():
        text, path = secret_block(block, settings)
        lines = errors(tmp_path, text)
        assert len(lines) == 1, (settings, lines)
        assert f" {path}" in lines[0] and expected in lines[0], (settings, lines)
        assert "hunter2" not in lines[0]


@pytest.mark.parametrize(
    "name",
    ["evil; rm -rf /", 'quote"d', "new\nline", "$(reboot)", "x" * 64, "naïve", "a*/b", "{brace}"],
)
def test_names_that_could_reach_a_snippet_are_refused(tmp_path: Path, name: str) -> None:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    lines = errors(tmp_path, replace("  - name: corp-ad", f'  - name: "{quoted}"'))
    assert len(lines) == 1
    assert lines[0].startswith("20: providers[0].name: ")
    assert "letters, digits" in lines[0]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        VALID.replace("198.51.100.11/24", "198.51.100.11/99")
        .replace(
            "role: unique\n      - ip: 198.51.100.10/24\n        role: shared\n  backup",
            "role: unique\n      - ip: 198.51.100.10/24\n        role: both\n  backup",
        )
        .replace("kind: ldaps", "kind: ldaps\n    starttls: sure")
    )
    lines = errors(tmp_path, text)
    assert [line.split(":")[0] for line in lines] == ["7", "10", "22"]


def test_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("support", "caf\xe9").encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert str(info.value) == (
        f"{path}:2: not valid UTF-8 (byte 0xe9 at offset 17; save the file as UTF-8)"
    )


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert str(info.value) == f"{path}: file is empty (expected a YAML mapping)"


def test_not_a_mapping(tmp_path: Path) -> None:
    assert errors(tmp_path, "- a\n- b\n") == [
        "1: expected a mapping with keys site, pair, providers, got a list"
    ]


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as fh:
        fh.write(VALID)
        for i in range(300_000):
            fh.write(f"# padding line {i:08d} ...........................\n")
    assert path.stat().st_size > 4 * 1024 * 1024
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert str(info.value) == (
        f"{path}: file is larger than 4096 KiB (expected a hand-sized YAML file; "
        "is this the right file?)"
    )


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    lines = errors(tmp_path, "\n".join(bomb) + "\n")
    assert len(lines) == 1
    assert "more than 200000 YAML nodes (aliases expanded); refusing to load" in lines[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_inventory(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"
