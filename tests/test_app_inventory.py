"""The providers' application-probe settings in an inventory (radius, kerberos, dns), the RADIUS
secret read from the environment or a file, and the allow-list finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.evidence.allowlist import allowlist_findings
from auditor.inventory.load import load_inventory
from auditor.model.record import ProbeRecord, Status
from auditor.probe.app.secrets import read_radius_secrets

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "examples" / "pair.yaml").read_text(encoding="utf-8")


def with_provider(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(EXAMPLE.replace("providers:\n", "providers:\n" + block, 1), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    return [str(p) for p in exc.value.problems]


RADIUS = """\
  - name: nps
    kind: radius
    endpoints: [203.0.113.40]
    radius:
{settings}
"""


def test_radius_kerberos_and_dns_settings_reach_the_model(tmp_path: Path) -> None:
    block = RADIUS.format(settings="      secret_env: NPS_SECRET\n      user: auditor-probe")
    block += (
        "  - name: kdc\n    kind: kerberos\n    endpoints: [203.0.113.41]\n"
        "    kerberos: {realm: CORP.EXAMPLE.COM, principal: auditor-probe}\n"
        "  - name: resolver\n    kind: dns\n    endpoints: [203.0.113.42]\n"
        "    dns: {query_name: ad.corp.example.com, query_type: srv}\n"
    )
    inv = load_inventory(with_provider(tmp_path, block))
    by = {p.name: p for p in inv.providers}
    assert by["nps"].radius is not None
    assert (by["nps"].radius.secret_env, by["nps"].radius.user) == ("NPS_SECRET", "auditor-probe")
    assert by["kdc"].kerberos is not None and by["kdc"].kerberos.realm == "CORP.EXAMPLE.COM"
    assert by["resolver"].dns is not None
    assert (by["resolver"].dns.query_name, by["resolver"].dns.query_type) == (
        "ad.corp.example.com",
        "SRV",
    )


def test_a_literal_radius_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = with_provider(tmp_path, RADIUS.format(settings="      secret: hunter2-radius"))
    found = problems(path)
    assert any(
        "radius.secret: a literal credential is refused (value not shown)" in p for p in found
    )
    assert all("hunter2" not in p for p in found)
    assert all(str(path) in p and ":" in p for p in found)  # FILE:LINE: field: message


def test_radius_needs_exactly_one_secret_source(tmp_path: Path) -> None:
    both = RADIUS.format(settings="      secret_env: A\n      secret_file: s.txt")
    assert any(
        "both secret_env and secret_file" in p for p in problems(with_provider(tmp_path, both))
    )
    none = RADIUS.format(settings="      user: probe")
    assert any(
        "no secret source (expected secret_env or secret_file)" in p
        for p in problems(with_provider(tmp_path, none))
    )


def test_kerberos_needs_realm_and_principal(tmp_path: Path) -> None:
    block = (
        "  - name: kdc\n    kind: kerberos\n    endpoints: [203.0.113.41]\n"
        "    kerberos: {realm: X}\n"
    )
    assert any(
        "missing required key 'principal'" in p for p in problems(with_provider(tmp_path, block))
    )


def test_radius_secret_comes_from_the_environment_or_a_file_and_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nps.secret").write_text("from-a-file\n", encoding="utf-8")
    block = RADIUS.format(settings="      secret_file: nps.secret")
    block += RADIUS.format(settings="      secret_env: I12_NPS_SECRET").replace("nps", "nps2")
    inv = load_inventory(with_provider(tmp_path, block))
    monkeypatch.setenv("I12_NPS_SECRET", "from-the-env")
    secrets = read_radius_secrets(inv)
    assert secrets["nps"].reveal() == "from-a-file"
    assert secrets["nps2"].reveal() == "from-the-env"
    assert "from" not in repr(secrets)

    monkeypatch.delenv("I12_NPS_SECRET")
    with pytest.raises(InputError) as exc:
        read_radius_secrets(inv)
    (problem,) = exc.value.problems
    assert problem.field == "providers[1].radius.secret_env" and problem.line is not None


def record(source: str, status: Status, port: int = 1812, check: str = "radius") -> ProbeRecord:
    return ProbeRecord(source, "203.0.113.40", "udp", port, "nps", check, status)


def test_allowlist_finding_names_the_admitted_addresses_the_server_ignores() -> None:
    records = [
        record("198.51.100.11", Status.RADIUS_ANSWERED),
        record("198.51.100.10", Status.RADIUS_ANSWERED),
        record("198.51.100.12", Status.NO_ANSWER),
        record("198.51.100.13", Status.NO_ANSWER),  # the firewall drops this one
    ]
    admitted = {"198.51.100.10", "198.51.100.11", "198.51.100.12"}
    (finding,) = allowlist_findings(records, lambda r: r.source in admitted, "ruleset")
    assert finding.ignored == ("198.51.100.12",)
    assert finding.answered == ("198.51.100.10", "198.51.100.11")
    assert "client list" in finding.message and "198.51.100.13" not in finding.message


def test_ruleset_evidence_admits_a_silent_address() -> None:
    from dataclasses import replace

    from auditor.evidence.allowlist import admitted_by_ruleset
    from auditor.model.record import Method

    probed = [
        record("198.51.100.11", Status.RADIUS_ANSWERED),
        record("198.51.100.12", Status.NO_ANSWER),
    ]
    ruleset = [
        replace(record("198.51.100.12", Status.OPEN, check="udp"), method=Method.RULESET),
        replace(record("198.51.100.13", Status.FILTERED, check="udp"), method=Method.RULESET),
    ]
    admitted = admitted_by_ruleset(ruleset)
    (finding,) = allowlist_findings(probed, admitted, "the firewall's ruleset accepts it")
    assert finding.ignored == ("198.51.100.12",)
    assert "ruleset accepts" in finding.message


def test_no_allowlist_finding_without_evidence_that_the_firewall_admits_the_silent_ones() -> None:
    records = [
        record("198.51.100.11", Status.RADIUS_ANSWERED),
        record("198.51.100.12", Status.NO_ANSWER),
    ]
    assert allowlist_findings(records, lambda r: False, "ruleset") == ()
    # all silent: nothing shows the server answers anyone
    silent = [record("198.51.100.12", Status.NO_ANSWER)]
    assert allowlist_findings(silent, lambda r: True, "ruleset") == ()


def test_the_results_schema_knows_every_status_and_check() -> None:
    import json

    from auditor.model.inventory import Check

    schema = json.loads((ROOT / "auditor" / "schemas" / "results.schema.json").read_text())
    assert set(schema["$defs"]["status"]["enum"]) == {s.value for s in Status}
    record = schema["$defs"]["probe_record"]
    assert set(record["properties"]["check"]["enum"]) == {c.value for c in Check}


def test_the_readme_lists_every_check_with_exactly_its_statuses() -> None:
    from auditor.probe.checks import REGISTRY

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[3]
        for line in text.splitlines()
        if line.startswith("| `")
        and len(line.split("|")) == 5
        and line.split("|")[1].strip().strip("`") in {c.value for c in REGISTRY}
    }
    assert set(rows) == {c.value for c in REGISTRY}
    for name, check in REGISTRY.items():
        listed = {s.strip().strip("`") for s in rows[name.value].split(",")}
        assert listed == {s.value for s in check.statuses}, name
