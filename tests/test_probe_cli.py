"""`auditor probe` end to end on loopback inventories: the results document, its schema,
exit codes, the journal, secrets, and an interrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import jsonschema
import pytest
from probe_support import listener, unused_port
from support.cli import Result, auditor
from support.readers import read_journal
from support.signals import with_default_signals

from auditor.errors import InputError
from auditor.model.record import Status
from auditor.model.results import read_results

SCHEMA = Path(__file__).resolve().parents[1] / "auditor" / "schemas" / "results.schema.json"
PASSWORD = "s3cret-Probe-Pw-4711"


def loopback_inventory(
    folder: Path,
    *,
    port: int,
    peer_port: int,
    kind: str = "syslog-tcp",  # a plain TCP service: the connect is the whole check
    shared: str = "127.0.0.4",
    extra: str = "",
    provider_extra: str = "",
) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(
        f"""\
site:
  name: loopback.test
pair:
  primary:
    name: p1
    addresses:
      - {{ip: 127.0.0.2/8, role: unique}}
      - {{ip: {shared}/8, role: shared, enabled: true}}
  backup:
    name: p2
    addresses:
      - {{ip: 127.0.0.3/8, role: unique}}
      - {{ip: {shared}/8, role: shared, enabled: false}}
  failover:
    site_instance_ip: {shared}
    peer_port: {peer_port}
providers:
  - name: mail
    kind: {kind}
    endpoints: [127.0.0.10]
    ports: [{port}]
{provider_extra}{extra}"""
    )
    return path


@pytest.fixture
def all_open() -> Iterator[int]:
    """One port number listened on at the provider and at both unique addresses (peer flows)."""
    with ExitStack() as stack:
        port = stack.enter_context(listener("127.0.0.10"))
        stack.enter_context(listener("127.0.0.2", port))
        stack.enter_context(listener("127.0.0.3", port))
        yield port


def run(*args: str | Path) -> Result:
    return auditor(*args)


def test_everything_open_exits_0_and_writes_a_document_valid_against_the_schema(
    tmp_path: Path, all_open: int
) -> None:
    inv = loopback_inventory(tmp_path, port=all_open, peer_port=all_open)
    out = tmp_path / "results.json"
    assert run("probe", inv, "-o", out, "--quiet", "--timeout", "2").returncode == 0
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["format"] == "auditor-results/1"
    assert doc["meta"]["inventory_digest"].startswith("sha256:")
    assert doc["meta"]["options"]["timeout"] == 2.0
    assert doc["summary"]["open"] == len(doc["records"]) == 5
    assert {r["source"] for r in doc["records"]} == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    # The journal beside the output is only a safety net for an interrupted run.
    assert not (tmp_path / "results.journal.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_read_results_round_trips_the_cli_output(tmp_path: Path, all_open: int) -> None:
    inv = loopback_inventory(tmp_path, port=all_open, peer_port=all_open)
    out = tmp_path / "results.json"
    run("probe", inv, "-o", out, "--quiet")
    doc = read_results(out)
    assert len(doc.records) == 5
    assert all(r.status is Status.OPEN for r in doc.records)
    assert doc.meta.inventory == str(inv)
    assert doc.summary["open"] == 5


def test_a_refused_flow_is_a_finding_exit_1(tmp_path: Path, all_open: int) -> None:
    inv = loopback_inventory(tmp_path, port=unused_port(), peer_port=all_open)
    out = tmp_path / "r.json"
    assert run("probe", inv, "-o", out, "-q").returncode == 1
    assert read_results(out).summary["refused"] == 3


def test_sources_not_on_this_host_exit_3_and_are_still_recorded(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    text = Path("examples/pair.yaml").read_text().replace("password_env: AUDITOR_BIND_PASSWORD", "")
    text = text.replace("      dn: cn=svc-bt,ou=service,dc=corp,dc=example,dc=com\n", "")
    text = text.replace("    bind:\n", "")
    path.write_text(text)
    out = tmp_path / "r.json"
    done = run("probe", path, "-o", out, "-q")
    assert done.returncode == 3
    assert "nothing could be probed" in done.stderr
    statuses = {r.status for r in read_results(out).records}
    assert Status.NOT_LOCAL in statuses
    assert statuses <= {Status.NOT_LOCAL, Status.SKIPPED, Status.UNTESTED}


def test_source_filter_and_verdict_table(tmp_path: Path, all_open: int) -> None:
    inv = loopback_inventory(tmp_path, port=all_open, peer_port=all_open)
    out = tmp_path / "r.json"
    done = run("probe", inv, "-o", out, "-q", "--source", "127.0.0.4")
    assert done.returncode == 0
    assert {r.source for r in read_results(out).records} == {"127.0.0.4"}
    table = done.stdout
    assert "127.0.0.4" in table
    assert "shared" in table
    assert "ok" in table


def test_unknown_source_is_a_usage_error(tmp_path: Path, all_open: int) -> None:
    inv = loopback_inventory(tmp_path, port=all_open, peer_port=all_open)
    assert run("probe", inv, "-o", tmp_path / "r.json", "--source", "127.0.0.99").returncode == 2
    assert not (tmp_path / "r.json").exists()


def test_missing_password_variable_fails_before_any_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROBE_TEST_PW", raising=False)
    bind = (
        "    tls_name: ldap.test\n"
        "    bind:\n"
        "      dn: cn=svc,dc=test\n"
        "      password_env: PROBE_TEST_PW\n"
    )
    inv = loopback_inventory(tmp_path, port=636, peer_port=9, kind="ldaps", provider_extra=bind)
    journal = tmp_path / "j.jsonl"
    out = tmp_path / "r.json"
    done = run("probe", inv, "-o", out, "--journal", journal)
    assert done.returncode == 2
    err = done.stderr
    assert "inventory.yaml:" in err
    assert "providers[0].bind.password_env" in err
    assert "mail" in err
    assert "PROBE_TEST_PW" in err
    assert not journal.exists()
    assert not out.exists()


def test_password_from_a_file_is_read_and_never_written(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    bind = "    tls_name: ldap.test\n    bind:\n      dn: cn=svc,dc=test\n      password_file: pw\n"
    inv = loopback_inventory(
        tmp_path, port=unused_port(), peer_port=9, kind="ldaps", provider_extra=bind
    )
    out = tmp_path / "r.json"
    journal = tmp_path / "j.jsonl"
    done = run("probe", inv, "-o", out, "-q", "--journal", journal)
    assert done.returncode == 1
    for text in (done.stdout, done.stderr, out.read_text(), journal.read_text()):
        assert PASSWORD not in text


def test_missing_password_file_names_the_provider_and_field(tmp_path: Path) -> None:
    bind = "    bind:\n      dn: cn=svc,dc=test\n      password_file: /nonexistent/pw\n"
    inv = loopback_inventory(tmp_path, port=636, peer_port=9, kind="ldaps", provider_extra=bind)
    done = run("probe", inv, "-o", tmp_path / "r.json")
    assert done.returncode == 2
    err = done.stderr
    assert "providers[0].bind.password_file" in err
    assert "provider mail" in err


def test_secret_does_not_print_itself() -> None:
    from auditor.inventory.secrets import Secret

    secret = Secret(PASSWORD)
    assert PASSWORD not in repr(secret)
    assert PASSWORD not in str(secret)
    assert PASSWORD not in f"{[secret]}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_valid_json_lines_for_what_finished(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """Refused flows finish at once; TLS checks against a silent listener hang until the
    (long) timeout. Interrupt while they hang: the journal holds every finished record."""
    with listener("127.0.0.10") as silent:
        inv = loopback_inventory(
            tmp_path, port=silent, peer_port=unused_port("127.0.0.2"), kind="ldaps"
        )
        journal = tmp_path / "journal.jsonl"
        out = tmp_path / "r.json"
        env = dict(os.environ)
        # SIGINT at its default in the child, however pytest was started: a suite started as
        # a background job (`pytest ... &`) ignores SIGINT in every child, and the probe
        # then rightly ran on to its timeout (support/signals.py)
        proc = subprocess.Popen(
            with_default_signals(
                [sys.executable, "-m", "auditor", "probe", str(inv), "-o", str(out),
                 "--journal", str(journal), "--timeout", "60", "-q"]
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if journal.exists() and journal.read_text().count("\n") >= 2:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            proc.send_signal(sig)
            # the TLS checks still wait on the silent listener (60 s): exiting within 20 s
            # is the interrupt's doing (no LDAP bind has started: each waits for its TLS check)
            _stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode != 0, stderr
    assert not out.exists()
    lines = journal.read_text().splitlines()
    assert len(lines) >= 2
    for line in lines:
        json.loads(line)
    records = read_journal(journal)
    assert {r.status for r in records} >= {Status.REFUSED}
    if sig == signal.SIGINT:
        assert str(journal) in stderr


def test_read_results_reports_located_problems(tmp_path: Path, all_open: int) -> None:
    inv = loopback_inventory(tmp_path, port=all_open, peer_port=all_open)
    out = tmp_path / "r.json"
    run("probe", inv, "-o", out, "-q")
    doc = json.loads(out.read_text())
    doc["records"][1]["status"] = "wide-open"
    doc["records"][2]["port"] = 70000
    del doc["meta"]["probing_host"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, indent=2))
    with pytest.raises(InputError) as err:
        read_results(bad)
    lines = str(err.value).splitlines()
    assert any(
        line.startswith(f"{bad}:") and "records[1].status" in line and "wide-open" in line
        for line in lines
    )
    assert any("records[2].port" in line for line in lines)
    assert any("meta.probing_host" in line for line in lines)
    status_line = next(n for n, t in enumerate(bad.read_text().splitlines(), 1) if "wide-open" in t)
    assert f"{bad}:{status_line}: records[1].status" in str(err.value)


def test_read_results_rejects_non_json_and_other_formats(tmp_path: Path) -> None:
    torn = tmp_path / "torn.json"
    torn.write_text('{\n  "format": "auditor-results/1",\n  "meta": {')
    with pytest.raises(InputError, match=r"torn.json:3: not valid JSON"):
        read_results(torn)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(InputError, match="expected 'auditor-results/1'"):
        read_results(other)
    with pytest.raises(InputError, match="file not found"):
        read_results(tmp_path / "missing.json")
