"""The second hostile round on options, messages and first steps: every numeric option refuses
NaN and the infinities; every command checks an interface name the same way; each message names
the real problem (a zone index, an empty value, a reversed range, a date format) without a
Python repr; file names with undecodable bytes are shown escaped; the first steps of a new user
do not mislead (what to do on a host without the pair's addresses, lint codes that name the
violation, names that do not resolve, the provider kinds)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, EXAMPLE_TEXT, ROOT, assert_usage, cli, mutate
from test_hostile_rules import results_text

from auditor.inventory.packs import load_packs

RULESET = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n{rule}COMMIT\n"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    (tmp_path / "results.json").write_text(results_text(), encoding="utf-8")
    (tmp_path / "fw.rules").write_text(RULESET.format(rule=""), encoding="utf-8")
    return tmp_path


# ---- numbers -------------------------------------------------------------------------------

NUMERIC = [
    ["state", EXAMPLE, "--timeout"],
    ["probe", EXAMPLE, "--no-resolve", "--timeout"],
    ["audit", EXAMPLE, "--no-resolve", "--no-store", "--timeout"],
]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("args", NUMERIC, ids=[a[0] for a in NUMERIC])
def test_numeric_options_refuse_nan_and_infinities(work, args, value):
    result = cli(*args, value)
    assert_usage(result, "is not a finite number")
    assert sorted(p.name for p in work.iterdir()) == ["fw.rules", "results.json"]


# ---- interface names -----------------------------------------------------------------------

INTERFACE_OPTIONS = [
    ["evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules", "--in-interface"],
    ["evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules", "--out-interface"],
    ["rules", EXAMPLE, "--no-resolve", "--results", "results.json", "--interface"],
    ["rules", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules", "--in-interface"],
    ["audit", EXAMPLE, "--no-resolve", "--no-store", "--ruleset", "fw.rules", "--out-interface"],
    ["probe", EXAMPLE, "--no-resolve", "--claim"],
    ["audit", EXAMPLE, "--no-resolve", "--no-store", "--claim"],
]
BAD_NAMES = [
    ("", "is empty"),
    ("eth 0", "contains a space"),
    ("x" * 40, "is 40 characters long (at most 15: IFNAMSIZ)"),
    ("eth0/1", "is not an interface name"),
    ("..", "is not an interface name"),
]


@pytest.mark.parametrize(("name", "message"), BAD_NAMES, ids=[b[1] for b in BAD_NAMES])
@pytest.mark.parametrize("args", INTERFACE_OPTIONS, ids=[" ".join(map(str, a[::3])) + a[-1]
                                                         for a in INTERFACE_OPTIONS])  # fmt: skip
def test_every_command_checks_an_interface_name_the_same_way(work, args, name, message):
    result = cli(*args, name)
    assert_usage(result, message)


def test_a_good_interface_name_passes_everywhere(work):
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--in-interface", "eth0.100", "--out-interface", "wg-0_a")  # fmt: skip
    assert result.code in (0, 1)


# ---- messages that name the problem ---------------------------------------------------------

RULESET_MESSAGES = [
    ("-A FORWARD -s fe80::1%eth0/128 -j ACCEPT\n", "carries a zone index (%eth0)"),
    ("-A FORWARD -p tcp --dport 70000 -j ACCEPT\n", "is out of range (expected 0-65535)"),
    ("-A FORWARD -s 10.0.0.0/40 -j ACCEPT\n", "prefix length 40 out of range (expected 0-32)"),
]


@pytest.mark.parametrize(("rule", "message"), RULESET_MESSAGES,
                         ids=[m[1][:24] for m in RULESET_MESSAGES])  # fmt: skip
def test_a_ruleset_refusal_names_the_real_problem(work, rule, message):
    (work / "bad.rules").write_text(RULESET.format(rule=rule), encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "bad.rules")
    assert result.code == 2 and "bad.rules:5: " in result.err and message in result.err


NFT_MESSAGES = [
    ('"fe80::1%eth0"', "address 'fe80::1%eth0' carries a zone index (%eth0)"),
    ('""', "address '' is empty"),
    ('{"prefix": {"addr": "fe80::1%eth0", "len": 128}}', "the address carries a zone index"),
]


@pytest.mark.parametrize(("right", "message"), NFT_MESSAGES, ids=["zone", "empty", "prefix"])
def test_an_nft_refusal_names_the_real_problem(work, right, message):
    sample = (ROOT / "tests" / "ruleset_data" / "two_tables.json").read_text(encoding="utf-8")
    doc = json.dumps(json.loads(sample)).replace('"right": "203.0.113.10"', f'"right": {right}', 1)
    (work / "fw.json").write_text(doc, encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.json")
    assert result.code == 2 and message in result.err
    assert "length out of range" not in result.err and "not an IPv4" not in result.err


def test_a_reversed_ipset_port_range_is_named(work):
    (work / "bad.ipset").write_text(
        "create p hash:ip,port family inet\nadd p 203.0.113.30,udp:200-100\n", encoding="utf-8"
    )
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--ipset", "bad.ipset")  # fmt: skip
    assert result.code == 2 and "bad.ipset:2: " in result.err and "is reversed" in result.err


ADDRESS_MESSAGES = [
    ("198.51.100.11/24", '"fe80::1%eth0/64"', "carries a zone index (%eth0)"),
    ("[203.0.113.10, 203.0.113.11]", '["fe80::1%eth0", 203.0.113.11]',
     "carries a zone index (%eth0)"),
    ("[203.0.113.10, 203.0.113.11]", '["", 203.0.113.11]', "got ''"),
]  # fmt: skip


ADDRESS_IDS = ["zone in an address", "zone in an endpoint", "empty endpoint"]


@pytest.mark.parametrize(("old", "new", "message"), ADDRESS_MESSAGES, ids=ADDRESS_IDS)
def test_an_inventory_address_refusal_names_the_real_problem(work, old, new, message):
    (work / "pair.yaml").write_text(mutate(old, new), encoding="utf-8")
    result = cli("check", "pair.yaml")
    assert result.code == 2 and message in result.err
    assert "invalid IPNetwork" not in result.err


@pytest.mark.parametrize(("args", "message"), [
    (["flows", EXAMPLE, "--no-resolve", "--source", ""], "'' is empty"),
    (["flows", EXAMPLE, "--no-resolve", "--source", "fe80::1%eth0"], "carries a zone index"),
    (["probe", EXAMPLE, "--no-resolve", "--source", "fe80::1%eth0"], "carries a zone index"),
    (["probe", EXAMPLE, "--no-resolve", "--claim", "eth0", "--claim-gateway", ""], "is empty"),
])  # fmt: skip
def test_an_address_option_refusal_names_the_real_problem(work, args, message):
    result = cli(*args)
    assert result.code == 2 and message in result.err


@pytest.mark.parametrize("value", ["$(id)", "2026-13-01", "tomorrow", "2026-1-1", "٢٠٢٦-01-01"])
def test_expires_that_is_no_date_says_so_not_that_it_passed(work, value):
    result = cli("rules", EXAMPLE, "--no-resolve", "--results", "results.json",
                 "--format", "request.csv", "--expires", value)  # fmt: skip
    assert result.code == 2 and "expected a date, YYYY-MM-DD" in result.err
    assert "has passed" not in result.err


def test_a_past_expiry_date_still_says_it_passed(work):
    result = cli("rules", EXAMPLE, "--no-resolve", "--results", "results.json",
                 "--format", "request.csv", "--expires", "2001-01-01")  # fmt: skip
    assert result.code == 2 and "that date has passed" in result.err


@pytest.mark.parametrize(("text", "shown"), [
    ("kinds: [a, b]\n", '["a", "b"]'),
    ("kinds: {a: 1}\n", '{"a": 1}'),
])  # fmt: skip
def test_messages_quote_values_as_json_never_as_python_reprs(work, text, shown):
    (work / "packs").mkdir()
    (work / "packs" / "site.yaml").write_text("pack: site\n" + text, encoding="utf-8")
    result = cli("check", EXAMPLE, "--rules", "packs")
    assert result.code == 2
    assert "['" not in result.err and "{'" not in result.err


def test_a_file_name_with_an_undecodable_byte_is_shown_escaped(work):
    name = os.fsdecode(b"caf\xe9.yaml")
    result = cli("check", name)
    assert result.code == 2 and "caf\\xe9.yaml" in result.err
    result = cli("graph", EXAMPLE, "--no-resolve", "-o", os.fsdecode(b"d\xe9/../"))
    assert result.code == 2 and "d\\xe9" in result.err and "\ufffd" not in result.err


def test_an_undecodable_file_name_is_read_and_named(work):
    name = os.fsdecode(b"\xe9t\xe9.yaml")
    Path(name).write_text(EXAMPLE_TEXT.replace("198.51.100.11/24", "198.51.100.11/33"),
                          encoding="utf-8")  # fmt: skip
    result = cli("check", name)
    assert result.code == 2 and result.err.startswith("error: \\xe9t\\xe9.yaml:")


# ---- first steps ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["probe", "audit"])
def test_a_host_without_the_pairs_addresses_is_pointed_to_claim_evidence_and_ruleset(work, command):
    extra = ["--no-store", "-o", "r"] if command == "audit" else ["-o", "r.json"]
    result = cli(command, EXAMPLE, "--no-resolve", "--timeout", "0.1", *extra)
    assert result.code == 3
    for pointer in ("--claim IFACE", "--evidence FILE", "--ruleset FILE", "closed boxes"):
        assert pointer in result.err, result.err
    assert "run on an appliance" not in result.err


def test_the_readme_does_not_send_a_user_to_run_the_audit_on_the_appliance():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Run the audit on each appliance" not in readme
    for pointer in ("--claim IFACE", "--evidence FILE", "--ruleset FILE", "auditor kinds",
                    "bt-ldap", "CLDAP"):  # fmt: skip
        assert pointer in readme


def test_a_shared_ip_enabled_on_both_has_a_code_that_names_it(work):
    text = mutate("        enabled: false", "        enabled: true")
    (work / "pair.yaml").write_text(text, encoding="utf-8")
    result = cli("check", "pair.yaml")
    assert result.code == 1 and "error [shared-ip-enabled-on-both]" in result.out
    assert "shared-ip-enabled-on-primary-only" not in result.out


def test_check_warns_about_a_provider_name_that_does_not_resolve(work):
    # .invalid never resolves (RFC 6761): no answer from any DNS server can make it pass
    text = mutate("[203.0.113.10, 203.0.113.11]", "[ad.corp.invalid, 203.0.113.11]")
    (work / "pair.yaml").write_text(text, encoding="utf-8")
    result = cli("check", "pair.yaml")
    assert result.code == 0
    (line,) = [x for x in result.out.splitlines() if "[endpoint-unresolvable]" in x]
    assert line.startswith("pair.yaml:28: warning") and "ad.corp.invalid" in line
    doc = json.loads(cli("check", "pair.yaml", "--format", "json").out)
    assert [f["rule"] for f in doc["findings"]] == ["endpoint-unresolvable"]
    assert "[endpoint-unresolvable]" not in cli("check", "pair.yaml", "--no-resolve").out
    assert cli("flows", "pair.yaml").code == 2  # what the warning announces


def test_kinds_lists_every_provider_kind_with_its_ports_and_checks(work):
    result = cli("kinds", "--format", "json")
    listed = {k["kind"]: k for k in json.loads(result.out)["kinds"]}
    packs = load_packs()
    assert set(listed) == set(packs)
    for name, spec in packs.items():
        ports = [(p["port"], p["protocol"], p["checks"]) for p in listed[name]["ports"]]
        assert ports == [(p.port, p.protocol.value, [c.value for c in p.checks])
                         for p in spec.ports]  # fmt: skip
    assert ("389", "udp") in {(str(p["port"]), p["protocol"]) for p in listed["bt-ldap"]["ports"]}
    table = cli("kinds").out
    assert all(name in table for name in packs)
    assert "389/udp: cldap" in table


def test_an_undecodable_output_path_is_shown_escaped_on_the_terminal(work):
    import subprocess
    import sys

    args = [sys.executable.encode(), b"-m", b"auditor", b"rules", os.fsencode(EXAMPLE),
            b"--no-resolve", b"--results", b"results.json", b"-o", b"d\xe9"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert b"wrote d\\xe9/iptables.rules" in done.stderr
    assert b"\\udce9" not in done.stderr and b"d\xe9/" not in done.stderr
    assert (work / os.fsdecode(b"d\xe9") / "iptables.rules").is_file()
