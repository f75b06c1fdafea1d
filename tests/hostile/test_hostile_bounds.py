"""Bounded work and no hang: a template that would build a gigabyte is refused at its file and
line before it allocates; a FIFO or a device given as any input file (inventory, CA bundle,
secret, template, ruleset, evidence, pack, baseline) is refused or read under a deadline, never
waited on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, EXAMPLE_TEXT, assert_refused, cli, mutate, snapshot
from test_hostile_rules import results_text

RULESET = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
BUILDERS = [
    ("repetition", '{{ "x" * 1000000000 }}\n', 1),
    ("repetition reversed", "a\n{{ 1000000000 * 'x' }}\n", 2),
    ("list repetition", "{{ ([1] * 100000000)|length }}\n", 1),
    ("nested repetition", "{{ 'x' * 1000 * 1000 * 1000 }}\n", 1),
    ("center filter", "{{ 'x'|center(1000000000) }}\n", 1),
    ("indent filter", "{{ 'x\\ny'|indent(1000000000) }}\n", 1),
    ("format filter", "{{ '%1000000000s'|format(1) }}\n", 1),
    ("percent operator", "\n\n{{ '%1000000000d' % 1 }}\n", 3),
    ("percent star width", "{{ '%*s' % (1000000000, 'x') }}\n", 1),
    ("ljust method", "{{ 'x'.ljust(1000000000) }}\n", 1),
    ("zfill method", "{{ 'x'.zfill(1000000000) }}\n", 1),
    ("str.format width", "{{ '{:>1000000000}'.format(1) }}\n", 1),
    ("replace growth", "{{ ('x' * 1000000)|replace('x', 'xxxxxxxxxx') }}\n", 1),
    ("replace method growth", "{{ ('x' * 1000000).replace('x', 'yyyyyyyyyy') }}\n", 1),
    ("power", "{{ 10 ** 1000000000 }}\n", 1),
    ("lipsum", "{{ lipsum(1000000000) }}\n", 1),
]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text(results_text(), encoding="utf-8")
    return tmp_path


def rules(*extra: object):
    return cli("rules", EXAMPLE, "--results", "results.json", "--no-resolve", *extra)


def tpl(work: Path) -> Path:
    """An absolute template folder: the environment is cached per folder path."""
    (work / "tpl").mkdir()
    return work / "tpl"


@pytest.mark.parametrize(("text", "line"), [c[1:] for c in BUILDERS], ids=[c[0] for c in BUILDERS])
def test_a_template_that_would_build_too_much_is_refused_at_its_line(work, text, line):
    (tpl(work) / "iptables.rules.j2").write_text(text, encoding="utf-8")
    before = snapshot(work)
    started = time.monotonic()
    result = rules("--templates", work / "tpl", "-o", "out")
    assert time.monotonic() - started < 20
    assert_refused(result, (f"{work}/tpl/iptables.rules.j2", line))
    assert "template error" in result.err
    assert snapshot(work) == before


def test_a_report_template_that_would_build_too_much_stops_the_audit(work, monkeypatch):
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "x")
    (tpl(work) / "report.md.j2").write_text("# x\n{{ 'x' * 10**9 }}\n", encoding="utf-8")
    before = snapshot(work)
    folder = work / "tpl"
    result = cli("audit", EXAMPLE, "--evidence", "results.json", "--templates", folder,
                 "-q", "--no-resolve", "-o", "r", "--no-store")  # fmt: skip
    assert_refused(result, (f"{work}/tpl/report.md.j2", 2))
    assert snapshot(work) == before


def test_a_small_repetition_still_renders(work):
    (tpl(work) / "iptables.rules.j2").write_text("{{ '#' * 72 }}\n", encoding="utf-8")
    result = rules("--templates", work / "tpl")
    assert result.code == 1 and "#" * 72 in result.out


# ---- FIFOs and devices as input files ------------------------------------------------------


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_a_template_that_is_a_fifo_is_refused(work):
    fifo(tpl(work) / "iptables.rules.j2")
    started = time.monotonic()
    result = rules("--templates", work / "tpl", "-o", "out")
    assert time.monotonic() - started < 10
    assert result.code == 2 and "not a regular file" in result.err
    assert not (work / "out").exists()


@pytest.mark.parametrize("option", ["--results", "--ruleset", "--ipset"])
def test_a_fifo_as_evidence_or_ruleset_is_refused(work, option):
    fifo(work / "pipe")
    (work / "fw.rules").write_text(RULESET, encoding="utf-8")
    args = ["rules", EXAMPLE, "--no-resolve", option, "pipe"]
    if option == "--ipset":
        args += ["--ruleset", "fw.rules"]
    started = time.monotonic()
    result = cli(*args)
    assert time.monotonic() - started < 10
    assert_refused(result, ("pipe", None))
    assert "not a regular file" in result.err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_inventory_is_refused(work, device):
    result = cli("check", device)
    assert_refused(result, (device, None))


def test_a_fifo_as_inventory_is_refused(work):
    fifo(work / "pair.yaml")
    started = time.monotonic()
    result = cli("check", "pair.yaml")
    assert time.monotonic() - started < 10
    assert_refused(result, ("pair.yaml", None))


def test_a_fifo_as_a_pack_is_refused(work):
    (work / "packs").mkdir()
    fifo(work / "packs" / "site.yaml")
    started = time.monotonic()
    result = cli("check", EXAMPLE, "--rules", "packs")
    assert time.monotonic() - started < 10
    assert result.code == 2  # a pack is a regular *.yaml file: the folder holds none


@pytest.mark.parametrize("option", ["--evidence", "--baseline"])
def test_a_fifo_as_audit_evidence_or_baseline_is_refused(work, option):
    fifo(work / "pipe")
    extra = ["--evidence", "results.json"] if option == "--baseline" else []
    result = cli("audit", EXAMPLE, "--no-resolve", option, "pipe", *extra, "-o", "r",
                 "--no-store", "-q")  # fmt: skip
    assert_refused(result, ("pipe", None))
    assert "not a regular file" in result.err and not (work / "r").exists()


SECRET_FILE = EXAMPLE_TEXT.replace("password_env: AUDITOR_BIND_PASSWORD", "password_file: pw")


def test_a_secret_file_that_is_a_fifo_without_writer_is_refused_after_its_deadline(
    work, monkeypatch
):
    from auditor.inventory import secrets

    monkeypatch.setattr(secrets, "PIPE_TIMEOUT", 0.5)
    monkeypatch.setattr(secrets.read_secret_file, "__defaults__", (0.5,))
    (work / "pair.yaml").write_text(SECRET_FILE, encoding="utf-8")
    fifo(work / "pw")
    started = time.monotonic()
    result = cli("probe", "pair.yaml", "--no-resolve", "-o", "r.json")
    assert time.monotonic() - started < 10
    assert result.code == 2
    assert "pw: a pipe with nothing written to it within 0.5 s" in result.err
    assert not (work / "r.json").exists()


def test_a_secret_file_that_is_a_device_is_refused(work):
    (work / "pair.yaml").write_text(SECRET_FILE.replace("password_file: pw",
                                                        "password_file: /dev/zero"))  # fmt: skip
    result = cli("probe", "pair.yaml", "--no-resolve", "-o", "r.json")
    assert result.code == 2 and "not a regular file or a pipe" in result.err


HEALTH = (
    "    health:\n      url: https://site1.example.com\n      tls_name: site1.example.com\n"
    "      ca_file: ca.pem\n      client_id_env: AUDITOR_HEALTH_CLIENT_ID\n"
    "      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n"
)


def test_a_health_ca_file_that_is_a_fifo_is_refused(work, monkeypatch):
    monkeypatch.setenv("AUDITOR_HEALTH_CLIENT_ID", "api-account")
    monkeypatch.setenv("AUDITOR_HEALTH_CLIENT_SECRET", "api-secret-value")
    text = mutate("        enabled: true\n", "        enabled: true\n" + HEALTH)
    (work / "pair.yaml").write_text(text, encoding="utf-8")
    fifo(work / "ca.pem")
    started = time.monotonic()
    result = cli("state", "pair.yaml", "--timeout", "1")
    assert time.monotonic() - started < 10
    assert result.code == 2
    assert "ca.pem as a CA bundle: is not a regular file" in result.err


def test_a_provider_ca_file_that_is_a_fifo_is_refused_before_any_probe(work):
    text = EXAMPLE_TEXT.replace(
        "    tls_name: ad.corp.example.com\n",
        "    tls_name: ad.corp.example.com\n    ca_file: ca.pem\n",
    )
    (work / "pair.yaml").write_text(text, encoding="utf-8")
    fifo(work / "ca.pem")
    started = time.monotonic()
    result = cli("probe", "pair.yaml", "--no-resolve", "-o", "r.json")
    assert time.monotonic() - started < 10
    assert result.code == 2 and "ca.pem is not a readable file" in result.err
    assert not (work / "r.json").exists()
