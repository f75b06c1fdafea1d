"""`auditor fleet run` probing a site over SSH: a real OpenSSH server inside the lab's probe
namespace (where the pair's addresses are), the real `auditor probe -` started there, its
results merged exactly as `audit --evidence` merges a results document; a site whose host key
is not the known one, or whose auditor is incompatible, makes only its own pairs incomplete;
no secret on the remote command line or in its environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_support import PAIR, results_for
from support.cli import auditor
from support.sshd import SshServer, answers_first_pair_then

from auditor.lab import Lab

pytestmark = pytest.mark.lab

AUDITOR = Path(sys.executable).parent / "auditor"


@pytest.fixture(scope="module")
def sshd(lab: Lab) -> Iterator[SshServer]:
    server = SshServer(lab.probe_ns)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def password(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> str:
    value = lab.password_file().read_text().strip()
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", value)
    return value


def fleet_file(tmp_path: Path, lab: Lab, sshd: SshServer, *, auditor: Path = AUDITOR,
               known_hosts: Path | None = None, extra: str = "") -> Path:  # fmt: skip
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "sites:\n"
        "  - name: lab-site\n"
        f"    probe_host: ssh://root@127.0.0.1:{sshd.port}\n"
        f"    ssh_key: {sshd.client_key}\n"
        f"    known_hosts: {known_hosts or sshd.known_hosts}\n"
        f"    auditor: {auditor}\n"
        "    pairs:\n"
        f"      - inventory: {lab.inventory_path()}\n" + extra
    )
    return path


def statuses(records: list[dict[str, object]]) -> dict[tuple[object, ...], object]:
    return {
        (r["source"], r["destination"], r["protocol"], r["port"], r["check"]): r["status"]
        for r in records
    }


def test_a_site_probed_over_ssh_equals_a_probe_made_there(tmp_path, lab, sshd, password) -> None:
    out = tmp_path / "out"
    result = auditor("fleet", "run", fleet_file(tmp_path, lab, sshd), "-o", out, "--store",
                     tmp_path / "h.sqlite", "--timeout", "1")  # fmt: skip
    # the lab's router drops and rejects some of the pair's flows: findings, from the one verdict
    assert result.returncode == 1, result.stderr
    remote = json.loads((out / "probes" / "lab-site" / "lab.example.com.results.json").read_text())
    assert remote["meta"]["options"]["bundle"] is True
    # The same probe, made directly in the probe namespace:
    direct_path = tmp_path / "direct.json"
    lab.exec(["auditor", "probe", str(lab.inventory_path()), "-o", str(direct_path), "-q",
              "--timeout", "1"], capture_output=True, timeout=300)  # fmt: skip
    direct = json.loads(direct_path.read_text())
    assert statuses(remote["records"]) == statuses(direct["records"])
    assert {"open", "filtered", "refused", "bind-ok"} <= set(statuses(remote["records"]).values())
    # merged and judged as audit --evidence does: the pair's report folder and its run
    run = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert run["verdict"] == "findings"
    assert statuses(run["records"]) == statuses(remote["records"])
    assert "lab-site/lab.example.com: findings" in result.stdout
    assert password not in result.stdout + result.stderr


def test_no_secret_on_the_remote_command_line_or_in_its_environment(
    tmp_path, lab, sshd, password
) -> None:
    # A wrapper at the probe host records what it was started with, then runs the auditor.
    spy = tmp_path / "spy"
    wrapper = tmp_path / "auditor-wrapper"
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" >> {spy}.argv\nenv >> {spy}.env\nexec {AUDITOR} "$@"\n'
    )
    wrapper.chmod(0o755)
    path = fleet_file(tmp_path, lab, sshd, auditor=wrapper, extra=f"      - inventory: {PAIR}\n")
    out = tmp_path / "out"
    result = auditor("fleet", "run", path, "-o", out, "--store", tmp_path / "h.sqlite",
                     "--timeout", "1", "-q")  # fmt: skip
    assert result.returncode == 1, result.stderr
    argv = Path(f"{spy}.argv").read_text()
    # one remote probe process for both pairs of the site, each answered in its own document
    assert argv.splitlines() == ["--version", "probe - -q"]
    for pair in ("lab.example.com", "support.example.com"):
        remote = json.loads((out / "probes" / "lab-site" / f"{pair}.results.json").read_text())
        assert remote["meta"]["options"]["bundle"] is True and remote["records"]
        run = json.loads((out / "lab-site" / pair / "run.json").read_text())
        assert run["verdict"] == "findings"  # both pairs' addresses are in the lab
        assert statuses(run["records"]) == statuses(remote["records"])
    assert password not in argv
    assert password not in Path(f"{spy}.env").read_text()


def test_an_unknown_host_key_makes_only_that_sites_pairs_incomplete(
    tmp_path, lab, sshd, password
) -> None:
    other = SshServer(None)  # another server, whose key the known_hosts file names
    other.start()
    try:
        wrong = tmp_path / "known_hosts"
        key = other.known_hosts.read_text().split(" ", 1)[1]
        wrong.write_text(f"[127.0.0.1]:{sshd.port} {key}")
    finally:
        other.stop()
    evidence = results_for(PAIR, tmp_path / "pair-results.json")
    extra = (
        "  - name: evidence-site\n"
        "    pairs:\n"
        f"      - inventory: {PAIR}\n"
        f"        evidence: {evidence}\n"
    )
    path = fleet_file(tmp_path, lab, sshd, known_hosts=wrong, extra=extra)
    out = tmp_path / "out"
    result = auditor(
        "fleet", "run", path, "-o", out, "--store", tmp_path / "h.sqlite", "--timeout", "1"
    )
    assert result.returncode == 3
    warnings = [line for line in result.stderr.splitlines() if "lab-site" in line]
    assert len(warnings) == 1 and "host key not verified" in warnings[0]
    lab_run = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert lab_run["verdict"] == "incomplete"
    assert all(r["status"] == "error" and "host key" in r["reason"] for r in lab_run["records"])
    # the other site still ran, on its evidence
    other_run = json.loads((out / "evidence-site" / "support.example.com" / "run.json").read_text())
    assert other_run["verdict"] == "findings"


def test_an_incompatible_auditor_at_the_probe_host_is_refused_in_one_line(
    tmp_path, lab, sshd, password
) -> None:
    # It keeps whatever reaches its standard input when asked to probe: nothing may (the
    # bundle carries the pair's secrets, sent only once the version is checked).
    fake = tmp_path / "old-auditor"
    got = tmp_path / "probe-stdin"
    fake.write_text(
        "#!/bin/sh\n"
        "[ \"$1\" = --version ] && { echo 'auditor, version 9.4.1'; exit 0; }\n"
        f"cat > {got}\n"
    )
    fake.chmod(0o755)
    path = fleet_file(tmp_path, lab, sshd, auditor=fake)
    result = auditor(
        "fleet", "run", path, "-o", tmp_path / "out", "--store", tmp_path / "h.sqlite", "-q"
    )
    err = result.stderr
    assert result.returncode == 3
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert "runs auditor 9.4.1" in line and "same major.minor" in line
    assert not got.exists() or got.read_bytes() == b""
    assert password not in err


def test_a_probe_host_without_the_auditor_is_refused_in_one_line(
    tmp_path, lab, sshd, password
) -> None:
    missing = tmp_path / "no-such-auditor"
    path = fleet_file(tmp_path, lab, sshd, auditor=missing)
    out = tmp_path / "out"
    result = auditor("fleet", "run", path, "-o", out, "--store", tmp_path / "h.sqlite", "-q")
    assert result.returncode == 3
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert f"`{missing} --version` failed (" in line and "No such file" in line
    assert "set the site's auditor: path" in line
    run = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert run["verdict"] == "incomplete"


def test_a_probe_stream_cut_short_fails_only_the_pairs_not_answered(
    tmp_path, lab, sshd, password
) -> None:
    # A probe host whose auditor dies after answering the site's first pair.
    then = ["p.kill()", "sys.stderr.write('probe host: out of memory\\n')", "sys.exit(137)"]
    wrapper = answers_first_pair_then(tmp_path / "auditor-dies", AUDITOR, then)
    path = fleet_file(tmp_path, lab, sshd, auditor=wrapper, extra=f"      - inventory: {PAIR}\n")
    out = tmp_path / "out"
    result = auditor(
        "fleet", "run", path, "-o", out, "--store", tmp_path / "h.sqlite", "--timeout", "1"
    )
    captured = result
    assert result.returncode == 3
    (line,) = [x for x in captured.stderr.splitlines() if x.startswith("warning:")]
    reason = "the probe stream ended after 1 of 2 pairs (probe host: out of memory)"
    assert "lab-site" in line and reason in line
    # the pair answered before the cut is judged on its answer
    answered = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert answered["verdict"] == "findings"
    assert not any(reason in str(r.get("reason")) for r in answered["records"])
    # the pair after it is incomplete, every check with that reason
    cut = json.loads((out / "lab-site" / "support.example.com" / "run.json").read_text())
    assert cut["verdict"] == "incomplete"
    assert cut["records"] and all(
        r["status"] == "error" and reason in r["reason"] for r in cut["records"]
    )
    assert "lab-site/support.example.com: incomplete" in captured.stdout


def test_a_probe_host_that_reads_only_single_pair_bundles_is_refused_in_one_line(
    tmp_path, lab, sshd, password
) -> None:
    # The same version number, an auditor from before site bundles: it refuses the bundle.
    old = tmp_path / "old-auditor"
    old.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && exec {AUDITOR} --version\n'
        "cat > /dev/null\n"
        "echo 'error: <standard input: probe bundle>: format: not a probe bundle "
        "(expected auditor-probe-bundle/1)' >&2\n"
        "exit 2\n"
    )
    old.chmod(0o755)
    path = fleet_file(tmp_path, lab, sshd, auditor=old)
    out = tmp_path / "out"
    result = auditor("fleet", "run", path, "-o", out, "--store", tmp_path / "h.sqlite", "-q")
    err = result.stderr
    assert result.returncode == 3
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert "does not read this fleet's probe bundles (auditor-probe-bundle/2)" in line
    assert "expected auditor-probe-bundle/1" in line
    run = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert run["verdict"] == "incomplete"


def test_a_pair_whose_history_is_damaged_is_not_probed_and_the_site_still_is(
    tmp_path, lab, sshd, password
) -> None:
    """Two pairs at one SSH site; support.example.com's recorded run has a damaged verdict.
    It is not sent to the probe host (nothing it proved could be compared with a history
    that cannot be trusted): incomplete, with the store and the run named; lab.example.com is
    probed there and judged as ever."""
    import sqlite3

    import report_factories as rf

    from auditor.history.store import Store

    store = tmp_path / "h.sqlite"
    Store(store).save_run(rf.green_run(run_id="old", started_at="2026-11-20T01:00:00Z"))
    conn = sqlite3.connect(store)
    conn.execute("UPDATE runs SET verdict = 'great' WHERE run_id = 'old'")
    conn.commit()
    conn.close()
    # a wrapper at the probe host keeps the bundle it is sent (the pairs it is asked to probe)
    sent = tmp_path / "bundle.sent"
    wrapper = tmp_path / "auditor-wrapper"
    wrapper.write_text(
        f'#!/bin/sh\nif [ "$1" = probe ]; then tee {sent} | {AUDITOR} "$@"; exit $?; fi\n'
        f'exec {AUDITOR} "$@"\n'
    )
    wrapper.chmod(0o755)
    path = fleet_file(tmp_path, lab, sshd, auditor=wrapper, extra=f"      - inventory: {PAIR}\n")
    out = tmp_path / "out"
    result = auditor("fleet", "run", path, "-o", out, "--store", store, "--timeout", "1", "-q")
    assert result.returncode == 3, result.stderr
    bundle = sent.read_text()
    assert "lab.example.com" in bundle and "support.example.com" not in bundle
    assert f"support.example.com: not audited: its history is damaged: {store}" in result.stderr
    probes = out / "probes" / "lab-site"
    assert sorted(p.name for p in probes.iterdir()) == ["lab.example.com.results.json"]
    lab_run = json.loads((out / "lab-site" / "lab.example.com" / "run.json").read_text())
    assert lab_run["verdict"] == "findings"
    damaged = json.loads((out / "lab-site" / "support.example.com" / "run.json").read_text())
    assert damaged["verdict"] == "incomplete"
    assert all("runs['old']" in r["reason"] for r in damaged["records"])
