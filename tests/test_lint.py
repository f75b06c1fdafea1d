"""Failover lint: each rule fires on the mistake it is for, and stays quiet on a good pair."""

from __future__ import annotations

import pytest
from factories import (
    example_inventory,
    inventory,
    pair,
    provider,
    replace_appliance,
    shared,
    unique,
    with_failover,
    with_providers,
)

from auditor.inventory.lint import LintFinding, Severity, lint
from auditor.model.inventory import Address, Inventory

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def found(inv: Inventory) -> list[tuple[str, Severity, str, int | None]]:
    return [(f.rule, f.severity, f.field, f.line) for f in lint(inv)]


def rules(inv: Inventory) -> set[str]:
    return {f.rule for f in lint(inv)}


def set_address(side: str, index: int, new: Address) -> Inventory:
    def change(addrs: tuple[Address, ...]) -> list[Address]:
        out = list(addrs)
        out[index] = new
        return out

    return replace_appliance(example_inventory(), side, change)


def drop_address(inv: Inventory, side: str, index: int) -> Inventory:
    return replace_appliance(inv, side, lambda a: a[:index] + a[index + 1 :])


# --- clean pairs ----------------------------------------------------------------------------


def test_the_example_pair_is_clean() -> None:
    assert lint(example_inventory()) == ()


def test_an_ipv6_pair_with_two_shared_ips_is_clean() -> None:
    inv = inventory(
        pair(
            [
                unique("2001:db8:10::11/64"),
                shared("2001:db8:10::10/64"),
                unique("198.51.100.11/24"),
                shared("198.51.100.10/24"),
            ],
            [
                unique("2001:db8:10::12/64"),
                shared("2001:db8:10::10/64", enabled=False),
                unique("198.51.100.12/24"),
                shared("198.51.100.10/24", enabled=False),
            ],
            site_instance_ip="2001:db8:10::10",
        ),
        [provider("ad", "ldaps", "2001:db8:99::10", "203.0.113.10")],
    )
    assert lint(inv) == ()


# --- shared IP ------------------------------------------------------------------------------


def test_a_shared_ip_missing_on_the_backup_is_an_error_at_the_primarys_entry() -> None:
    inv = drop_address(example_inventory(), "backup", 1)
    (finding,) = [f for f in lint(inv) if f.rule == "shared-ip-on-one-appliance"]
    assert finding.severity is ERROR
    assert finding.field == "pair.primary.addresses[1].ip"
    assert finding.line == 10
    assert "not on the backup (site2)" in finding.message
    assert "198.51.100.10/24 with role: shared, enabled: false" in finding.hint


def test_a_shared_ip_missing_on_the_primary_is_an_error_at_the_backups_entry() -> None:
    inv = drop_address(example_inventory(), "primary", 1)
    assert ("shared-ip-on-one-appliance", ERROR, "pair.backup.addresses[1].ip", 19) in found(inv)


def test_no_shared_ip_at_all_is_an_error() -> None:
    inv = drop_address(drop_address(example_inventory(), "primary", 1), "backup", 1)
    assert ("no-shared-ip", ERROR, "pair.primary.addresses", 7) in found(inv)


def test_a_shared_ip_with_another_mask_on_the_backup_is_an_error() -> None:
    inv = set_address("backup", 1, shared("198.51.100.10/25", enabled=False))
    assert found(inv) == [("shared-ip-mask-differs", ERROR, "pair.backup.addresses[1].ip", 19)]
    assert "/25 on the backup (site2) but /24 on the primary" in lint(inv)[0].message


def test_a_shared_ip_enabled_on_both_is_an_ip_conflict() -> None:
    inv = set_address("backup", 1, shared("198.51.100.10/24", enabled=True))
    (finding,) = lint(inv)
    assert (finding.rule, finding.severity, finding.field, finding.line) == (
        "shared-ip-enabled-on-both",
        ERROR,
        "pair.backup.addresses[1].enabled",
        21,
    )
    assert "IP conflict" in finding.message


def test_a_shared_ip_enabled_on_neither_means_the_site_is_down() -> None:
    inv = set_address("primary", 1, shared("198.51.100.10/24", enabled=False))
    (finding,) = lint(inv)
    assert (finding.rule, finding.severity, finding.field, finding.line) == (
        "shared-ip-enabled-nowhere",
        ERROR,
        "pair.primary.addresses[1].enabled",
        12,
    )
    assert "site is down" in finding.message


def test_a_shared_ip_enabled_on_the_backup_only_is_a_warning_about_a_failed_over_pair() -> None:
    inv = set_address("primary", 1, shared("198.51.100.10/24", enabled=False))
    inv = replace_appliance(
        inv, "backup", lambda a: [a[0], shared("198.51.100.10/24", enabled=True)]
    )
    assert found(inv) == [
        ("shared-ip-enabled-on-backup", WARNING, "pair.primary.addresses[1].enabled", 12)
    ]
    assert all(f.severity is not Severity.ERROR for f in lint(inv))


def test_a_shared_ip_outside_every_unique_subnet_is_an_error_on_each_appliance() -> None:
    inv = inventory(
        pair(
            [unique("198.51.100.11/24"), shared("192.0.2.10/24")],
            [unique("198.51.100.12/24"), shared("192.0.2.10/24", enabled=False)],
            site_instance_ip="192.0.2.10",
        )
    )
    assert found(inv) == [
        ("shared-ip-outside-unique-subnet", ERROR, "pair.primary.addresses[1].ip", 10),
        ("shared-ip-outside-unique-subnet", ERROR, "pair.backup.addresses[1].ip", 19),
    ]
    assert "unique subnets of IPv4: 198.51.100.0/24" in lint(inv)[0].message


# --- unique IPs and duplicates --------------------------------------------------------------


def test_an_appliance_without_a_unique_ip_is_an_error() -> None:
    inv = drop_address(example_inventory(), "backup", 0)
    assert ("no-unique-ip", ERROR, "pair.backup.addresses", 16) in found(inv)
    assert "peer-flow-impossible" not in rules(inv)  # one cause, one finding


def test_a_disabled_only_unique_ip_is_an_error() -> None:
    inv = set_address("primary", 0, unique("198.51.100.11/24", enabled=False))
    assert found(inv) == [("unique-ip-disabled", ERROR, "pair.primary.addresses[0].enabled", 8)]


def test_a_disabled_second_unique_ip_is_a_warning() -> None:
    inv = replace_appliance(
        example_inventory(),
        "primary",
        lambda a: [*a, unique("198.51.100.13/24", enabled=False)],
    )
    assert found(inv) == [
        ("unique-ip-disabled", WARNING, "pair.primary.addresses[2].enabled", 7),
    ]


def test_a_unique_ip_used_on_both_appliances_is_a_duplicate() -> None:
    inv = set_address("backup", 0, unique("198.51.100.11/24"))
    assert ("duplicate-address", ERROR, "pair.backup.addresses[0].ip", 17) in found(inv)


def test_an_address_twice_on_one_appliance_is_a_duplicate() -> None:
    inv = replace_appliance(
        example_inventory(), "primary", lambda a: [*a, unique("198.51.100.11/24")]
    )
    (finding,) = lint(inv)
    assert (finding.rule, finding.field) == ("duplicate-address", "pair.primary.addresses[2].ip")
    assert "already configured at addresses[0] of the same appliance" in finding.message


def test_a_shared_ip_that_is_unique_on_the_other_appliance_is_a_duplicate() -> None:
    inv = set_address("backup", 1, unique("198.51.100.10/24"))
    assert ("duplicate-address", ERROR, "pair.backup.addresses[1].ip", 19) in found(inv)
    assert "shared-ip-on-one-appliance" in rules(inv)


def test_the_shared_ip_on_both_appliances_is_not_a_duplicate() -> None:
    assert "duplicate-address" not in rules(example_inventory())


# --- failover settings ----------------------------------------------------------------------


def test_a_site_instance_ip_that_is_a_unique_ip_is_an_error() -> None:
    inv = with_failover(example_inventory(), site_instance_ip="198.51.100.11")
    (finding,) = lint(inv)
    assert (finding.rule, finding.severity, finding.field, finding.line) == (
        "site-instance-ip-not-shared",
        ERROR,
        "pair.failover.site_instance_ip",
        23,
    )
    assert "is a unique IP of the primary (site1)" in finding.message
    assert "198.51.100.10" in finding.hint


def test_a_site_instance_ip_that_is_no_address_of_the_pair_is_an_error() -> None:
    inv = with_failover(example_inventory(), site_instance_ip="203.0.113.99")
    assert "is not a shared IP" in lint(inv)[0].message


def test_an_unrecorded_site_instance_ip_is_a_warning() -> None:
    inv = with_failover(example_inventory(), site_instance_ip=None)
    assert found(inv) == [("site-instance-ip-missing", WARNING, "pair.failover", 22)]


@pytest.mark.parametrize("port", [0, 65536])
def test_a_peer_port_outside_1_65535_is_an_error(port: int) -> None:
    inv = with_failover(example_inventory(), peer_port=port)
    assert found(inv) == [("peer-port-invalid", ERROR, "pair.failover.peer_port", 24)]


def test_another_peer_port_is_fine() -> None:
    assert lint(with_failover(example_inventory(), peer_port=8443)) == ()


def test_unique_ips_of_different_versions_leave_no_peer_flow() -> None:
    inv = inventory(
        pair(
            [unique("198.51.100.11/24"), shared("198.51.100.10/24")],
            [
                unique("2001:db8::12/64"),
                unique("198.51.100.12/24", enabled=False),
                shared("198.51.100.10/24", enabled=False),
            ],
        )
    )
    assert ("peer-flow-impossible", ERROR, "pair.backup.addresses", 16) in found(inv)


def test_a_dual_stack_pair_has_peer_flows() -> None:
    inv = inventory(
        pair(
            [unique("198.51.100.11/24"), unique("2001:db8::11/64"), shared("198.51.100.10/24")],
            [unique("2001:db8::12/64"), shared("198.51.100.10/24", enabled=False)],
        )
    )
    assert "peer-flow-impossible" not in rules(inv)


# --- providers ------------------------------------------------------------------------------


def test_an_endpoint_of_a_version_the_pair_lacks_is_a_warning() -> None:
    inv = with_providers(
        example_inventory(),
        provider("ad", "ldaps", "203.0.113.10", "2001:db8::10", "ad.example.com"),
    )
    assert found(inv) == [("endpoint-ip-version-missing", WARNING, "providers[0].endpoints[1]", 28)]


# --- output contract ------------------------------------------------------------------------


def test_findings_are_ordered_by_line_and_carry_a_fix_hint() -> None:
    inv = with_failover(
        set_address("backup", 1, shared("198.51.100.10/24", enabled=True)),
        site_instance_ip="198.51.100.11",
        peer_port=0,
    )
    findings = lint(inv)
    assert [f.line for f in findings] == [21, 23, 24]
    assert all(isinstance(f, LintFinding) and f.hint for f in findings)
    assert any(f.severity is Severity.ERROR for f in findings)
    assert findings[0].to_json() == {
        "rule": "shared-ip-enabled-on-both",
        "severity": "error",
        "field": "pair.backup.addresses[1].enabled",
        "line": 21,
        "message": "shared IP 198.51.100.10 is enabled on both appliances: an IP conflict",
        "hint": "set enabled: false on the backup; it takes the shared IP over only at failover",
    }
