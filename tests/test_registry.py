"""The check registry: every check name has exactly one module, and the decision of which
checks a port gets lives in one place."""

from __future__ import annotations

import pkgutil

import auditor.probe.checks as checks_pkg
from auditor.model.checks import CHECKS, ORDER, CheckRole
from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.model.verdict import Outcome, outcome_of
from auditor.probe.checks import REGISTRY


def test_every_check_name_has_one_registered_module() -> None:
    assert set(REGISTRY) == set(Check)
    modules = {m.name for m in pkgutil.iter_modules(checks_pkg.__path__) if m.name not in {"base"}}
    assert {c.value.replace("-", "_") for c in Check} == modules


def test_the_registry_and_the_model_table_are_one_list_of_checks() -> None:
    assert list(REGISTRY) == list(CHECKS)  # one run order
    for name, check in REGISTRY.items():
        assert (check.name, check.transport, check.requires) == (
            name,
            CHECKS[name].transport,
            CHECKS[name].requires,
        )


def test_a_check_builds_only_on_a_check_that_runs_before_it() -> None:
    for name, check in REGISTRY.items():
        if check.requires is not None:
            assert ORDER[check.requires] < ORDER[name]
            assert REGISTRY[check.requires].transport is check.transport


def test_every_status_a_check_returns_is_in_the_vocabulary() -> None:
    for check in REGISTRY.values():
        assert check.statuses <= set(Status)
        assert check.statuses, check.name


def test_every_check_declares_its_role_and_what_ok_means() -> None:
    """The statuses a check calls ok are the ones the one judgement calls ok among those it
    can return (plus `open` for `udp`: a ruleset's record of a UDP path sits there)."""
    for name, check in REGISTRY.items():
        declared = CHECKS[name]
        judged_ok = {s for s in check.statuses if outcome_of(s) is Outcome.OK}
        assert judged_ok <= declared.ok, name
        assert all(outcome_of(s) is Outcome.OK for s in declared.ok), name
        if declared.role is CheckRole.REACHABILITY:
            assert declared.requires is None and declared.ok == {Status.OPEN}
    assert {c for c, m in CHECKS.items() if m.role is CheckRole.REACHABILITY} == {
        Check.TCP,
        Check.UDP,
    }


def test_a_check_that_goes_first_on_its_flow_speaks_for_the_path() -> None:
    """Only an answer proves a UDP path: the UDP application checks are that proof."""
    for name in (Check.RADIUS, Check.KERBEROS, Check.DNS, Check.NTP, Check.CLDAP):
        assert CHECKS[name].speaks_for_path
    for name in (Check.TLS, Check.LDAP_BIND, Check.SMTP, Check.KERBEROS_TCP, Check.DNS_TCP):
        assert not CHECKS[name].speaks_for_path
