"""Requirement packs: the shipped defaults, user folders that add or override kinds, inventory
port overrides, and located errors for a broken pack."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from factories import example_inventory, provider, with_providers

from auditor.errors import InputError
from auditor.inventory.packs import check_kinds, load_packs, ports_for, read_pack, read_pack_dir
from auditor.model.inventory import Check, PortSpec, Protocol
from auditor.resources import rules_dir

TCP, UDP = Protocol.TCP, Protocol.UDP


def spec(port: int, protocol: Protocol, *checks: str) -> PortSpec:
    return PortSpec(protocol=protocol, port=port, checks=tuple(Check(c) for c in checks))


SHIPPED = {
    "ldap": (spec(389, TCP, "tcp", "ldap-bind"),),
    "ldaps": (spec(636, TCP, "tcp", "tls", "ldap-bind"),),
    "gc": (spec(3268, TCP, "tcp", "ldap-bind"),),
    "gcs": (spec(3269, TCP, "tcp", "tls", "ldap-bind"),),
    "cldap": (spec(389, UDP, "cldap"),),
    "radius": (spec(1812, UDP, "radius"),),
    "kerberos": (spec(88, UDP, "kerberos"), spec(88, TCP, "tcp", "kerberos-tcp")),
    "dns": (spec(53, UDP, "dns"), spec(53, TCP, "tcp", "dns-tcp")),
    "ntp": (spec(123, UDP, "ntp"),),
    "syslog": (spec(514, UDP, "syslog"),),
    "syslog-tcp": (spec(514, TCP, "tcp"),),
    "syslog-tls": (spec(6514, TCP, "tcp", "tls"),),
    "smtp": (
        spec(25, TCP, "tcp", "smtp"),
        spec(465, TCP, "tcp", "smtp"),
        spec(587, TCP, "tcp", "smtp"),
    ),
    # rules/beyondtrust.yaml: the vendor's example firewall rules, appliance to internal network
    "bt-ntp": (spec(123, UDP, "ntp"),),
    "bt-ldap": (spec(389, TCP, "tcp", "ldap-bind"), spec(389, UDP, "cldap")),
    "bt-ldaps": (spec(636, TCP, "tcp", "tls", "ldap-bind"), spec(636, UDP, "udp")),
    "bt-syslog": (spec(514, UDP, "syslog"),),
    "bt-dns": (spec(53, UDP, "dns"),),
    "bt-smtp": (
        spec(25, TCP, "tcp", "smtp"),
        spec(465, TCP, "tcp", "smtp"),
        spec(587, TCP, "tcp", "smtp"),
    ),
    "bt-support": (spec(443, TCP, "tcp", "tls"),),
    "bt-update": (spec(443, TCP, "tcp", "tls"),),
}


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- shipped packs --------------------------------------------------------------------------


def test_shipped_packs_define_every_documented_kind_with_its_ports_and_checks() -> None:
    kinds = load_packs()
    assert {k: v.ports for k, v in kinds.items()} == SHIPPED


def test_shipped_kinds_name_their_pack_and_describe_themselves() -> None:
    kinds = load_packs()
    assert kinds["gcs"].pack == "ldap"
    assert kinds["radius"].pack == "radius"
    assert all(spec.description for spec in kinds.values())


def test_every_beyondtrust_kind_cites_the_vendor_page() -> None:
    kinds = [k for k in load_packs().values() if k.pack == "beyondtrust"]
    assert len(kinds) == 8
    assert all(k.source.startswith("https://www.beyondtrust.com/docs/") for k in kinds)
    assert all("firewall-rules" in k.source for k in kinds)


def test_each_shipped_file_is_one_valid_pack() -> None:
    packs = read_pack_dir(rules_dir())
    assert sorted(p.name for p in packs) == [
        "beyondtrust",
        "dns",
        "kerberos",
        "ldap",
        "ntp",
        "radius",
        "smtp",
        "syslog",
    ]
    assert all(p.file.stem == p.name for p in packs)


# --- user packs -----------------------------------------------------------------------------

CUSTOM = """
    pack: site
    description: Our own services.
    kinds:
      ldaps:
        description: AD on a non-standard port
        ports:
          - {port: 1636, protocol: tcp, checks: [tcp, tls, ldap-bind]}
      otp:
        description: one-time passwords
        ports:
          - {port: 5500, protocol: tcp, checks: [tcp, tls]}
          - {port: 5500, protocol: udp, checks: [udp]}
"""


def test_a_user_folder_overrides_a_kind_and_adds_a_new_one(tmp_path: Path) -> None:
    write(tmp_path / "mine", "site.yaml", CUSTOM)
    kinds = load_packs([tmp_path / "mine"])
    assert kinds["ldaps"].ports == (spec(1636, TCP, "tcp", "tls", "ldap-bind"),)
    assert kinds["ldaps"].pack == "site"
    assert kinds["otp"].ports == (spec(5500, TCP, "tcp", "tls"), spec(5500, UDP, "udp"))
    assert kinds["gcs"].ports == SHIPPED["gcs"]  # the rest of the shipped pack stays


def test_a_later_user_folder_wins(tmp_path: Path) -> None:
    write(tmp_path / "a", "site.yaml", CUSTOM)
    write(
        tmp_path / "b",
        "later.yaml",
        """
        pack: later
        kinds:
          otp:
            ports: [{port: 6000, protocol: udp, checks: [udp]}]
        """,
    )
    kinds = load_packs([tmp_path / "a", tmp_path / "b"])
    assert kinds["otp"].ports == (spec(6000, UDP, "udp"),)
    assert kinds["ldaps"].ports[0].port == 1636


def test_a_missing_or_empty_user_folder_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as exc:
        load_packs([tmp_path / "nope", tmp_path / "empty"])
    assert problems_of(exc) == [
        f"{tmp_path / 'nope'}: does not exist (expected a folder of *.yaml packs)",
        f"{tmp_path / 'empty'}: no requirement packs here (expected *.yaml files)",
    ]


def test_one_kind_in_two_packs_of_one_folder_is_ambiguous(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "pack: a\nkinds:\n  x: {ports: [{port: 1, protocol: tcp, checks: [tcp]}]}\n",
    )
    write(
        tmp_path,
        "b.yaml",
        "pack: b\nkinds:\n  x: {ports: [{port: 2, protocol: tcp, checks: [tcp]}]}\n",
    )
    with pytest.raises(InputError) as exc:
        load_packs([tmp_path])
    assert problems_of(exc) == [
        f"{tmp_path / 'b.yaml'}: kinds.x: kind 'x' is also defined in a.yaml "
        "(expected each kind in one pack per folder)"
    ]


# --- validation -----------------------------------------------------------------------------


def test_every_problem_in_a_pack_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """
        pack: bad
        descripton: typo
        kinds:
          web:
            ports:
              - {port: 70000, protocol: tcp, checks: [tcp]}
              - {port: 443, protocl: tcp, checks: [tcp]}
              - {port: 53, protocol: udp, checks: [udp, tls]}
              - {port: 80, protocol: tcp, checks: [tsl]}
              - {port: 8080, protocol: tcp, checks: [tcp]}
              - {port: 8080, protocol: tcp, checks: [tcp]}
          peer:
            ports: [{port: 443, protocol: tcp, checks: [tcp]}]
          empty:
            ports: []
        """,
    )
    with pytest.raises(InputError) as exc:
        read_pack(path)
    assert problems_of(exc) == [
        f"{path}:2: descripton: unknown key 'descripton' (did you mean 'description'? "
        "expected one of: description, kinds, pack)",
        f"{path}:6: kinds.web.ports[0].port: port is 70000 (expected an integer 1-65535)",
        f"{path}:7: kinds.web.ports[1].protocl: unknown key 'protocl' (did you mean "
        "'protocol'? expected one of: checks, port, protocol)",
        f"{path}:7: kinds.web.ports[1]: missing protocol (expected one of: tcp, udp)",
        f"{path}:8: kinds.web.ports[2].checks[1]: check 'tls' does not apply to udp "
        "(expected one of: cldap, dns, kerberos, ntp, radius, syslog, udp)",
        f"{path}:9: kinds.web.ports[3].checks[0]: unknown check 'tsl' (did you mean 'tls'? "
        "expected one of: cldap, dns, dns-tcp, kerberos, kerberos-tcp, ldap-bind, ntp, radius, "
        "smtp, syslog, tcp, tls, udp)",
        f"{path}:11: kinds.web.ports[5]: duplicate port 8080/tcp (first at ports[4]; list "
        "each port/protocol once)",
        f"{path}:12: kinds.peer: kind 'peer' is reserved for the pair's own failover flows "
        "(expected another name; set the peer port in pair.failover.peer_port)",
        f"{path}:15: kinds.empty.ports: ports is a list (expected a non-empty list)",
    ]


def test_a_pack_that_is_not_yaml_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "pack: x\nkinds:\n  a: [unclosed\n")
    with pytest.raises(InputError) as exc:
        read_pack(path)
    (problem,) = exc.value.problems
    assert problem.file == str(path)
    assert problem.line == 4
    assert "YAML syntax error" in problem.message


def test_a_pack_without_kinds_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "nokinds.yaml", "pack: x\n")
    with pytest.raises(InputError) as exc:
        read_pack(path)
    assert problems_of(exc) == [f"{path}:1: missing kinds (expected a mapping)"]


# --- inventory port overrides ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ports", "expected"),
    [
        ("ldaps", None, SHIPPED["ldaps"]),
        ("ldaps", [1636], (spec(1636, TCP, "tcp", "tls", "ldap-bind"),)),
        ("ldaps", [(1636, "udp")], (spec(1636, UDP, "udp"),)),
        ("smtp", [465], (spec(465, TCP, "tcp", "smtp"),)),
        ("smtp", [2525], (spec(2525, TCP, "tcp", "smtp"),)),
        ("kerberos", [750], (spec(750, UDP, "kerberos"),)),
        (
            "kerberos",
            [(750, "tcp"), 750],
            (spec(750, TCP, "tcp", "kerberos-tcp"), spec(750, UDP, "kerberos")),
        ),
        ("dns", [53, 53], (spec(53, UDP, "dns"),)),
    ],
)
def test_inventory_ports_override_the_pack_and_keep_its_checks(
    kind: str, ports: list[int | tuple[int, str]] | None, expected: tuple[PortSpec, ...]
) -> None:
    assert ports_for(provider("p", kind, "203.0.113.1", ports=ports), load_packs()) == expected


def test_every_provider_with_an_unknown_kind_is_reported_with_its_line() -> None:
    inv = with_providers(
        example_inventory(),
        provider("a", "ldpas", "203.0.113.10"),
        provider("b", "radius", "203.0.113.20"),
        provider("c", "zzz", "203.0.113.30"),
    )
    with pytest.raises(InputError) as exc:
        check_kinds(inv, load_packs())
    file = inv.source
    known = (
        "bt-dns, bt-ldap, bt-ldaps, bt-ntp, bt-smtp, bt-support, bt-syslog, bt-update, cldap, "
        "dns, gc, gcs, kerberos, ldap, ldaps, ntp, radius, smtp, syslog, syslog-tcp, syslog-tls"
    )
    assert problems_of(exc) == [
        f"{file}:27: providers[0].kind: unknown kind 'ldpas' (did you mean 'ldaps'? "
        f"expected one of: {known}; or add a pack for it with --rules DIR)",
        f"{file}:38: providers[2].kind: unknown kind 'zzz' (expected one of: {known}; "
        "or add a pack for it with --rules DIR)",
    ]
