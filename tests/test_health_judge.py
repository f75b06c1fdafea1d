"""The pair verdict from what the two appliances say (pure: no network, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from netaddr import IPAddress

from auditor.health.client import AskFailure, FailureReason
from auditor.health.document import FailoverRole, HealthDocument
from auditor.health.judge import PairStatus, Severity, StateCode, StateFinding, judge
from auditor.health.pair import ApplianceState, PairState
from auditor.inventory.load import load_inventory
from auditor.model.inventory import FailoverState, Inventory, Side

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHARED = "198.51.100.10"  # the shared IP of examples/pair.yaml


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(ROOT / "examples" / "pair.yaml")


def said(
    role: str, *ips: str, success: bool = True, error: str | None = None, sync_age_h: float = 1
) -> HealthDocument:
    return HealthDocument(
        success=success,
        failover_role=FailoverRole(role),
        enabled_shared_ips=tuple(IPAddress(ip) for ip in ips),
        error_message=error,
        last_sync_time=NOW - timedelta(hours=sync_age_h),
    )


def pair(
    first: HealthDocument | AskFailure | None, second: HealthDocument | AskFailure | None
) -> PairState:
    def one(name: str, side: Side, answer: HealthDocument | AskFailure | None) -> ApplianceState:
        url = f"https://{name}.example.com"
        if isinstance(answer, HealthDocument):
            return ApplianceState(name, side, url, document=answer)
        if isinstance(answer, AskFailure):
            return ApplianceState(name, side, url, failure=answer)
        return ApplianceState(name, side, None)

    return PairState(one("site1", Side.PRIMARY, first), one("site2", Side.BACKUP, second), NOW)


def codes(verdict_findings: tuple[StateFinding, ...]) -> list[tuple[StateCode, Severity]]:
    return [(f.code, f.severity) for f in verdict_findings]


def test_healthy_pair_is_primary_active_without_findings(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("primary", SHARED), said("backup")), now=NOW)
    assert verdict.status is PairStatus.PRIMARY_ACTIVE
    assert verdict.failover_state is FailoverState.PRIMARY_ACTIVE
    assert verdict.findings == ()


def test_failed_over_is_a_warning_and_backup_active(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("backup"), said("primary", SHARED)), now=NOW)
    assert verdict.status is PairStatus.BACKUP_ACTIVE
    assert verdict.failover_state is FailoverState.BACKUP_ACTIVE
    assert codes(verdict.findings) == [(StateCode.FAILED_OVER, Severity.WARNING)]
    assert verdict.errors == 0


def test_shared_ip_on_both_is_the_ip_conflict(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("primary", SHARED), said("backup", SHARED)), now=NOW)
    assert verdict.status is PairStatus.SPLIT_BRAIN
    assert codes(verdict.findings) == [(StateCode.IP_CONFLICT, Severity.ERROR)]
    assert verdict.findings[0].ip == SHARED
    assert "site1" in verdict.findings[0].message and "site2" in verdict.findings[0].message


def test_two_primaries_and_two_backups_are_errors(inventory: Inventory) -> None:
    two_p = judge(inventory, pair(said("primary", SHARED), said("primary")), now=NOW)
    assert codes(two_p.findings) == [(StateCode.TWO_PRIMARIES, Severity.ERROR)]
    assert two_p.status is PairStatus.SPLIT_BRAIN
    two_b = judge(inventory, pair(said("backup", SHARED), said("backup")), now=NOW)
    assert codes(two_b.findings) == [
        (StateCode.ON_BACKUP, Severity.ERROR),
        (StateCode.TWO_BACKUPS, Severity.ERROR),
    ]
    assert two_b.status is PairStatus.UNKNOWN


def test_shared_ip_enabled_nowhere_is_an_error(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("primary"), said("backup")), now=NOW)
    assert codes(verdict.findings) == [(StateCode.SHARED_IP_NOWHERE, Severity.ERROR)]
    assert verdict.findings[0].ip == SHARED


def test_enabled_nowhere_needs_both_answers(inventory: Inventory) -> None:
    timeout = AskFailure(FailureReason.TIMEOUT, "no answer within 2 s")
    verdict = judge(inventory, pair(timeout, said("backup")), now=NOW)
    assert codes(verdict.findings) == [(StateCode.CANNOT_ASK, Severity.ERROR)]
    assert "timeout" in verdict.findings[0].message
    assert verdict.status is PairStatus.UNKNOWN


def test_success_0_carries_the_appliances_own_message(inventory: Inventory) -> None:
    sick = said("primary", SHARED, success=False, error="Database replication stopped")
    verdict = judge(inventory, pair(sick, said("backup")), now=NOW)
    assert codes(verdict.findings) == [(StateCode.UNHEALTHY, Severity.ERROR)]
    assert "Database replication stopped" in verdict.findings[0].message


def test_role_none_means_no_failover(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("primary", SHARED), said("none")), now=NOW)
    assert (StateCode.NO_FAILOVER, Severity.ERROR) in codes(verdict.findings)


def test_stale_sync_is_a_warning_against_the_threshold(inventory: Inventory) -> None:
    state = pair(said("primary", SHARED, sync_age_h=30), said("backup", sync_age_h=2))
    verdict = judge(inventory, state, now=NOW)
    assert codes(verdict.findings) == [(StateCode.SYNC_STALE, Severity.WARNING)]
    assert verdict.findings[0].appliance == "site1"
    assert "1 d 6 h" in verdict.findings[0].message
    strict = judge(inventory, state, now=NOW, max_sync_age=timedelta(hours=1))
    assert [f.appliance for f in strict.findings] == ["site1", "site2"]


def test_an_unknown_shared_ip_is_a_warning(inventory: Inventory) -> None:
    state = pair(said("primary", SHARED, "198.51.100.99"), said("backup"))
    verdict = judge(inventory, state, now=NOW)
    assert codes(verdict.findings) == [(StateCode.UNKNOWN_SHARED_IP, Severity.WARNING)]
    assert verdict.findings[0].ip == "198.51.100.99"
    assert verdict.status is PairStatus.PRIMARY_ACTIVE


def test_an_appliance_without_health_block_is_a_warning_not_an_error(
    inventory: Inventory,
) -> None:
    verdict = judge(inventory, pair(said("primary", SHARED), None), now=NOW)
    assert codes(verdict.findings) == [(StateCode.NOT_CONFIGURED, Severity.WARNING)]
    assert verdict.status is PairStatus.PRIMARY_ACTIVE


def test_errors_come_before_warnings(inventory: Inventory) -> None:
    state = pair(said("backup", SHARED, sync_age_h=48), said("primary", SHARED))
    verdict = judge(inventory, state, now=NOW)
    severities = [f.severity for f in verdict.findings]
    assert severities == sorted(severities, key=lambda s: s is Severity.WARNING)
    assert verdict.status is PairStatus.SPLIT_BRAIN
    assert {f.code for f in verdict.findings} == {
        StateCode.IP_CONFLICT,
        StateCode.FAILED_OVER,
        StateCode.SYNC_STALE,
    }


def test_the_shared_ip_on_the_backup_alone_is_an_error(inventory: Inventory) -> None:
    verdict = judge(inventory, pair(said("primary"), said("backup", SHARED)), now=NOW)
    assert codes(verdict.findings) == [(StateCode.ON_BACKUP, Severity.ERROR)]
    assert verdict.findings[0].appliance == "site2"
    assert verdict.status is PairStatus.PRIMARY_ACTIVE
