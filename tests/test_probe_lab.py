"""`auditor probe` in the namespace lab: real netfilter in the router namespace, real slapd
behind it, every probe from the pair's own addresses (issue 3, item 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.readers import read_journal
from support.signals import with_default_signals

from auditor.lab import Lab
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import read_results

pytestmark = pytest.mark.lab

ALLOWED = "198.51.100.11"  # site1 unique: accepted by the router to 389 and 636
SHARED = "198.51.100.10"  # rejected (REJECT: a RST / ICMP at once)
DROPPED = "198.51.100.12"  # site2 unique: no rule, meets the DROP policy
GOOD_LDAP = "203.0.113.10"  # slapd with a certificate for ldap.lab.example.com
WRONG_NAME = "203.0.113.11"  # slapd with a certificate for another name
NOT_HERE = "198.51.100.99"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    results: Path
    journal: Path
    elapsed: float

    def records(self) -> tuple[ProbeRecord, ...]:
        return read_results(self.results).records

    def one(self, source: str, destination: str, port: int, check: str) -> ProbeRecord:
        (found,) = [
            r
            for r in self.records()
            if (r.source, r.destination, r.port, r.check) == (source, destination, port, check)
        ]
        return found


def probe(
    lab: Lab,
    folder: Path,
    *args: str,
    inventory: Path | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    journal = folder / "journal.jsonl"
    argv = [
        sys.executable, "-m", "auditor", "probe", str(inventory or lab.inventory_path()),
        "-o", str(results), "--journal", str(journal), *args,
    ]  # fmt: skip
    start = time.monotonic()
    done = lab.exec(argv, env=env, capture_output=True, text=True, timeout=120)
    return Run(
        done.returncode,
        done.stdout,
        done.stderr,
        results,
        journal,
        time.monotonic() - start,
    )


def edited_inventory(lab: Lab, folder: Path, edit: Any) -> Path:
    data = yaml.safe_load(lab.inventory_path().read_text())
    edit(data)
    path = folder / "inventory.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_wrong_name_server(data: dict[str, Any]) -> None:
    """The lab's LDAPS provider with the wrong-name slapd among its endpoints too."""
    ldaps = next(p for p in data["providers"] if p["kind"] == "ldaps")
    ldaps["endpoints"] = [*ldaps["endpoints"], WRONG_NAME, "2001:db8:203::11"]


@pytest.fixture(scope="module")
def full_run(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("lab-probe")
    inventory = edited_inventory(lab, folder / "inv", with_wrong_name_server)
    return probe(lab, folder, "--timeout", "1.5", inventory=inventory)


def test_allowed_source_is_open_tls_ok_and_binds(full_run: Run) -> None:
    assert full_run.returncode == 1, full_run.stderr  # the lab's ruleset is incomplete
    tcp = full_run.one(ALLOWED, GOOD_LDAP, 636, "tcp")
    assert tcp.status is Status.OPEN
    assert tcp.latency_ms is not None
    tls = full_run.one(ALLOWED, GOOD_LDAP, 636, "tls")
    assert tls.status is Status.TLS_OK, tls.reason
    assert tls.cert is not None
    assert "ldap.lab.example.com" in tls.cert.san
    assert tls.cert.days_left > 0
    bind = full_run.one(ALLOWED, GOOD_LDAP, 636, "ldap-bind")
    assert bind.status is Status.BIND_OK, bind.reason


def test_starttls_on_389_is_checked_and_binds(full_run: Run) -> None:
    assert full_run.one(ALLOWED, GOOD_LDAP, 389, "tls").status is Status.TLS_OK
    assert full_run.one(ALLOWED, GOOD_LDAP, 389, "ldap-bind").status is Status.BIND_OK


def test_ipv6_allowed_binds_and_ipv6_shared_is_refused(full_run: Run) -> None:
    good6 = "2001:db8:203::10"
    assert full_run.one("2001:db8:100::11", good6, 636, "tcp").status is Status.OPEN
    assert full_run.one("2001:db8:100::11", good6, 636, "tls").status is Status.TLS_OK
    assert full_run.one("2001:db8:100::11", good6, 636, "ldap-bind").status is Status.BIND_OK
    assert full_run.one("2001:db8:100::10", good6, 636, "tcp").status is Status.REFUSED


def test_rejected_source_is_refused_at_once(full_run: Run) -> None:
    for port in (389, 636):
        record = full_run.one(SHARED, GOOD_LDAP, port, "tcp")
        assert record.status is Status.REFUSED
        assert record.latency_ms is not None
        assert record.latency_ms < 1000
        assert full_run.one(SHARED, GOOD_LDAP, port, "ldap-bind").status is Status.SKIPPED


def test_dropped_source_is_filtered(full_run: Run) -> None:
    record = full_run.one(DROPPED, GOOD_LDAP, 636, "tcp")
    assert record.status is Status.FILTERED
    assert record.latency_ms is None


def test_dropped_flows_take_about_the_timeout_and_retries_count(lab: Lab, tmp_path: Path) -> None:
    run = probe(lab, tmp_path, "--source", DROPPED, "--timeout", "1", "--retries", "1", "-q")
    assert run.returncode == 1, run.stderr
    tcp = [r for r in run.records() if r.check == "tcp" and r.destination.startswith("203.")]
    assert tcp
    assert all(r.status is Status.FILTERED and r.attempts == 2 for r in tcp)
    # Two attempts of 1 s, all flows in parallel, plus interpreter start-up: about 2 s.
    assert 2.0 <= run.elapsed < 8.0


def test_wrong_name_certificate_is_tls_failed_hostname_mismatch(full_run: Run) -> None:
    tls = full_run.one(ALLOWED, WRONG_NAME, 636, "tls")
    assert tls.status is Status.TLS_FAILED
    assert tls.reason.startswith("hostname-mismatch")
    assert full_run.one(ALLOWED, WRONG_NAME, 636, "ldap-bind").status is Status.SKIPPED


def test_wrong_password_is_bind_invalid_credentials(lab: Lab, tmp_path: Path) -> None:
    wrong = "Not-The-Lab-Password-991"
    run = probe(
        lab, tmp_path, "--source", ALLOWED, "--timeout", "2", env={"AUDITOR_BIND_PASSWORD": wrong}
    )
    bind = run.one(ALLOWED, GOOD_LDAP, 636, "ldap-bind")
    assert bind.status is Status.BIND_INVALID_CREDENTIALS
    assert "49" in bind.reason
    assert run.one(ALLOWED, GOOD_LDAP, 389, "ldap-bind").status is Status.BIND_INVALID_CREDENTIALS
    for text in (run.stdout, run.stderr, run.results.read_text(), run.journal.read_text()):
        assert wrong not in text


def test_untrusted_ca_is_tls_failed_untrusted(lab: Lab, tmp_path: Path) -> None:
    def other_ca(data: dict[str, Any]) -> None:
        for provider in data["providers"]:
            provider["ca_file"] = str(lab.untrusted_ca_file())

    inventory = edited_inventory(lab, tmp_path, other_ca)
    run = probe(lab, tmp_path, "--source", ALLOWED, "--timeout", "2", inventory=inventory)
    tls = run.one(ALLOWED, GOOD_LDAP, 636, "tls")
    assert tls.status is Status.TLS_FAILED
    assert tls.reason.startswith("untrusted")
    assert run.one(ALLOWED, GOOD_LDAP, 389, "tls").reason.startswith("untrusted")


def test_address_not_on_the_host_is_not_local(lab: Lab, tmp_path: Path) -> None:
    def extra_address(data: dict[str, Any]) -> None:
        data["pair"]["backup"]["addresses"].append({"ip": f"{NOT_HERE}/24", "role": "unique"})

    inventory = edited_inventory(lab, tmp_path, extra_address)
    run = probe(lab, tmp_path, "--timeout", "1", inventory=inventory)
    assert run.returncode == 1, run.stderr
    not_local = [r for r in run.records() if r.source == NOT_HERE and r.check == "tcp"]
    assert not_local
    assert all(r.status is Status.NOT_LOCAL for r in not_local)
    # the other sources were still probed
    assert run.one(ALLOWED, GOOD_LDAP, 636, "tcp").status is Status.OPEN


def test_no_route_beyond_the_router_is_unreachable_at_once(lab: Lab, tmp_path: Path) -> None:
    # The router has no route to 192.0.2.0/24: it answers with ICMP network unreachable.
    no_route = "192.0.2.50"

    def unrouted_provider(data: dict[str, Any]) -> None:
        data["providers"].append({"name": "nowhere", "kind": "ldap", "endpoints": [no_route]})

    inventory = edited_inventory(lab, tmp_path, unrouted_provider)
    run = probe(lab, tmp_path, "--source", ALLOWED, "--provider", "nowhere", "--timeout", "3",
                inventory=inventory)  # fmt: skip
    record = run.one(ALLOWED, no_route, 389, "tcp")
    assert record.status is Status.UNREACHABLE, record
    assert record.latency_ms is not None and record.latency_ms < 1000  # an answer, not a timeout
    assert run.one(ALLOWED, no_route, 389, "ldap-bind").status is Status.SKIPPED


def test_outside_the_lab_nothing_is_local_exit_3(lab: Lab, tmp_path: Path) -> None:
    env = dict(os.environ, AUDITOR_BIND_PASSWORD=lab.password_file().read_text().strip())
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "probe", str(lab.inventory_path()),
         "-o", str(tmp_path / "r.json"), "-q"],
        check=False, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert {r.status for r in read_results(tmp_path / "r.json").records} <= {
        Status.NOT_LOCAL,
        Status.SKIPPED,
        Status.UNTESTED,
    }


def test_the_password_never_appears_in_any_output(lab: Lab, full_run: Run) -> None:
    password = lab.password_file().read_text().strip()
    assert len(password) >= 8
    outputs = {
        "stdout": full_run.stdout,
        "stderr": full_run.stderr,
        "results": full_run.results.read_text(),
        "journal": full_run.journal.read_text(),
    }
    for name, text in outputs.items():
        assert password not in text, name


def test_results_document_matches_the_schema(full_run: Run) -> None:
    import jsonschema

    schema = Path(__file__).resolve().parents[1] / "auditor" / "schemas" / "results.schema.json"
    jsonschema.validate(json.loads(full_run.results.read_text()), json.loads(schema.read_text()))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_lab_run_keeps_finished_probes(
    lab: Lab, tmp_path: Path, sig: signal.Signals
) -> None:
    """Dropped flows hang for the (long) timeout; the rest finish at once. Interrupt while the
    dropped ones hang: the journal holds valid lines for everything that finished."""
    journal = tmp_path / "journal.jsonl"
    out = tmp_path / "results.json"
    env = dict(os.environ, AUDITOR_BIND_PASSWORD=lab.password_file().read_text().strip())
    # `ip netns exec` and `env` exec the command, so the pid is the auditor's own; SIGINT
    # at its default however pytest was started (support/signals.py).
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.probe_ns, *with_default_signals(
            [sys.executable, "-m", "auditor", "probe", str(lab.inventory_path()), "-o", str(out),
             "--journal", str(journal), "--timeout", "60", "-q"])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = read_journal(journal) if journal.exists() else ()
            if any(r.status is Status.BIND_OK for r in done):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert not out.exists()
    lines = journal.read_text().splitlines()
    for line in lines:
        json.loads(line)
    statuses = {r.status for r in read_journal(journal)}
    assert {Status.OPEN, Status.REFUSED, Status.BIND_OK} <= statuses
    assert Status.FILTERED not in statuses  # those were still waiting
    assert lab.password_file().read_text().strip() not in journal.read_text() + err
