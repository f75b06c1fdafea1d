"""Hostile inventories against `check`, `flows` and `graph`: each is refused with one located
line per problem and nothing written, or (where the input is legal) gives a sound result."""

from __future__ import annotations

import os

import pytest
from hostile_support import (
    EXAMPLE_TEXT,
    assert_refused,
    assert_usage,
    cli,
    line_of,
    mutate,
    snapshot,
)

NAME_LINE = "  name: support.example.com"
ENDPOINTS = "    endpoints: [203.0.113.10, 203.0.113.11]"
ADDRESS = "      - ip: 198.51.100.11/24"
BIND_ENV = "      password_env: AUDITOR_BIND_PASSWORD"
DEEP_FLOW = "[" * 1000 + "]" * 1000
DEEP_BLOCK = "".join("  " * i + "k:\n" for i in range(1, 400))

# (id, the line replaced, its replacement, the line of the one problem)
REFUSED = [
    ("nul-byte", NAME_LINE, "  name: a\x00b", 2),
    ("esc-byte", NAME_LINE, "  name: a\x1b[31mb", 2),
    ("bel-byte", NAME_LINE, "  name: a\x07b", 2),
    ("deep-flow", NAME_LINE, f"  name: x\n  description: {DEEP_FLOW}", 3),
    ("int-tag-abc", NAME_LINE, '  name: !!int "abc"', 2),
    ("float-tag", NAME_LINE, '  name: !!float "x"', 2),
    ("binary-tag", NAME_LINE, '  name: !!binary "@@@"', 2),
    ("huge-int", NAME_LINE, "  name: " + "9" * 5000, 2),
    ("python-tag-seq", NAME_LINE, "  name: !!python/object/apply:os.system [id]", 2),
    ("python-name-tag", NAME_LINE, "  name: !!python/name:os.system ''", 2),
    ("custom-tag", NAME_LINE, "  name: !vault abc", 2),
    ("tagged-key", NAME_LINE, '  !!int "x": 1\n  name: a', 2),
    ("name-newline", NAME_LINE, '  name: "support.example.com\\n"', 2),
    ("name-cr", NAME_LINE, '  name: "support\\rexample"', 2),
    ("description-esc", NAME_LINE, f'{NAME_LINE}\n  description: "a\\e]0;x\\aB"', 3),
    ("description-u2028", NAME_LINE, f'{NAME_LINE}\n  description: "a\\Lb"', 3),
    ("description-bidi", NAME_LINE, f'{NAME_LINE}\n  description: "gpj.\\u202eexe"', 3),
    ("appliance-name-newline", "    name: site1", '    name: "site1\\n"', 5),
    ("provider-name-newline", "  - name: corp-ad", '  - name: "corp-ad\\n"', 26),
    ("kind-newline", "    kind: ldaps", '    kind: "ldaps\\n"', 27),
    ("hostname-newline", "    hostname: site1.example.com", '    hostname: "a.example\\n"', 6),
    ("tls-name-newline", "    tls_name: ad.corp.example.com", '    tls_name: "ad.corp\\n"', 29),
    ("password-env-newline", BIND_ENV, '      password_env: "AUDITOR\\n"', 33),
    ("password-file-nouser", BIND_ENV, "      password_file: ~nosuchuser9/x", 33),
    ("hex-host-0x7f.1", ENDPOINTS, "    endpoints: [0x7f.1]", 28),
    ("hex-host-0x0", ENDPOINTS, "    endpoints: [0x0]", 28),
    ("short-ipv4-127.1", ENDPOINTS, "    endpoints: [127.1]", 28),
    ("numeric-tld", ENDPOINTS, "    endpoints: [ad.corp.123]", 28),
    ("unspecified-v4", ENDPOINTS, "    endpoints: [0.0.0.0]", 28),
    ("broadcast", ENDPOINTS, "    endpoints: [255.255.255.255]", 28),
    ("unspecified-v6", ENDPOINTS, "    endpoints: ['::']", 28),
    ("multicast", ENDPOINTS, "    endpoints: [224.0.0.251]", 28),
    ("multicast-net", ENDPOINTS, "    endpoints: [239.1.1.0/28]", 28),
    ("arabic-digits-endpoint", ENDPOINTS, "    endpoints: [١٢٧.0.0.1]", 28),
    ("arabic-digits-port", ENDPOINTS, f"{ENDPOINTS}\n    ports: ['٦٣٦']", 29),
    ("arabic-digits-prefix", ADDRESS, "      - ip: 198.51.100.11/٢٤", 8),
    ("appliance-slash-0", ADDRESS, "      - ip: 198.51.100.11/0", 8),
    ("appliance-slash-4", ADDRESS, "      - ip: 198.51.100.11/4", 8),
    ("appliance-multicast", ADDRESS, "      - ip: 224.0.0.1/24", 8),
    ("port-newline", ENDPOINTS, f'{ENDPOINTS}\n    ports: ["636\\n"]', 29),
    (
        "ports-bomb",
        ENDPOINTS,
        f"{ENDPOINTS}\n    ports: [{', '.join(map(str, range(1, 2001)))}]",
        29,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_check_refuses_with_one_located_line(tmp_path, monkeypatch, old, new, line):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pair.yaml").write_text(mutate(old, new), encoding="utf-8")
    before = snapshot(tmp_path)
    result = cli("check", "pair.yaml")
    assert_refused(result, ("pair.yaml", line))
    assert "<unicode string>" not in result.err
    assert snapshot(tmp_path) == before


def test_block_nesting_is_refused_before_python_recursion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pair.yaml").write_text(EXAMPLE_TEXT + "nested:\n" + DEEP_BLOCK, encoding="utf-8")
    result = cli("check", "pair.yaml")
    assert_refused(result, ("pair.yaml", 40 + 63))  # the first mapping past the limit
    assert "nested deeper than 64 levels" in result.err


def test_an_impossible_date_is_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = mutate(NAME_LINE, f"{NAME_LINE}\n  description: 2024-02-30")
    (tmp_path / "pair.yaml").write_text(text, encoding="utf-8")
    result = cli("check", "pair.yaml")
    assert result.code == 0 and result.out.startswith("PASS")


# Legal but pointless endpoints: lint errors (exit 1), located.
LINTED = [
    ("loopback", "    endpoints: [127.0.0.1]"),
    ("localhost", "    endpoints: [localhost]"),
    ("sub-localhost", "    endpoints: [ad.localhost]"),
    ("link-local", "    endpoints: [169.254.10.1]"),
    ("own-unique", "    endpoints: [198.51.100.12]"),
    ("own-shared", "    endpoints: [198.51.100.10]"),
]


@pytest.mark.parametrize("new", [c[1] for c in LINTED], ids=[c[0] for c in LINTED])
def test_endpoints_that_never_cross_the_firewall_are_lint_errors(tmp_path, new):
    path = tmp_path / "pair.yaml"
    path.write_text(mutate(ENDPOINTS, new), encoding="utf-8")
    result = cli("check", path)
    assert result.code == 1
    flagged = [x for x in result.out.splitlines() if "[endpoint-not-remote]" in x]
    assert len(flagged) == 1 and flagged[0].startswith(f"{path}:28: error")
    assert "FAIL" in result.out


def _endpoint_list(count: int, fmt: str) -> str:
    return "[" + ", ".join(fmt.format(i // 256, i % 256) for i in range(count)) + "]"


def test_a_thousand_slash_24_endpoints_are_one_line_not_a_million_flows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = mutate(ENDPOINTS, f"    endpoints: {_endpoint_list(1000, '10.{}.{}.0/24')}")
    (tmp_path / "pair.yaml").write_text(text, encoding="utf-8")
    for command in ("check", "flows", "graph"):
        result = (
            cli(command, "pair.yaml", "--no-resolve")
            if command != "check"
            else (cli(command, "pair.yaml"))
        )
        assert_refused(result, ("pair.yaml", 28))
        assert "over its limit of 1024" in result.err


def _many_providers(count: int, endpoints: int) -> str:
    eps = _endpoint_list(endpoints, "10.{}.{}.1")
    return EXAMPLE_TEXT + "".join(
        f"  - name: p{k}\n    kind: ldap\n    endpoints: {eps}\n" for k in range(count)
    )


def test_check_does_not_pass_a_flow_bomb(tmp_path):
    path = tmp_path / "pair.yaml"
    path.write_text(_many_providers(10, 1000), encoding="utf-8")
    result = cli("check", path)
    assert_refused(result, (str(path), 40))
    assert "over the limit of 20000" in result.err and "--max-flows" in result.err
    assert "PASS" not in result.out


def test_max_flows_raises_the_limit_and_the_count_stays_under_it(tmp_path):
    path = tmp_path / "pair.yaml"
    path.write_text(_many_providers(10, 1000), encoding="utf-8")
    assert cli("check", path, "--max-flows", "40000").code == 0
    result = cli("flows", path, "--format", "csv", "--max-flows", "40000")
    assert result.code == 0
    assert 3000 < len(result.out.splitlines()) - 1 <= 40000


def test_the_budget_is_counted_before_any_flow_is_built(tmp_path, monkeypatch):
    from auditor.errors import InputError
    from auditor.flows import topology

    added = []
    monkeypatch.setattr(topology._Merger, "add", lambda self, **kw: added.append(kw))
    path = tmp_path / "pair.yaml"
    path.write_text(_many_providers(10, 1000), encoding="utf-8")
    from auditor.flows.prepare import prepare

    with pytest.raises(InputError):
        prepare(path, resolve=False)
    assert added == []


@pytest.mark.parametrize("value", ["0", "-1", "99999999999999999999999", "٣"])
def test_max_flows_is_bounded(tmp_path, value):
    result = cli("flows", tmp_path / "x.yaml", "--max-flows", value)
    assert_usage(result, "--max-flows")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pair.yaml"
    os.mkfifo(fifo)
    result = cli("check", fifo)
    assert_refused(result, (str(fifo), None))
    assert "not a regular file" in result.err


def test_a_device_is_refused():
    result = cli("check", "/dev/zero")
    assert_refused(result, ("/dev/zero", None))
    assert "not a regular file" in result.err


def test_a_directory_is_refused(tmp_path):
    result = cli("flows", tmp_path)
    assert result.code == 2 and len(result.errors) == 1


def test_a_huge_inventory_is_refused_by_its_size(tmp_path):
    path = tmp_path / "pair.yaml"
    with path.open("w") as fh:
        fh.write(EXAMPLE_TEXT)
        fh.truncate(5 * 1024 * 1024)
    result = cli("check", path)
    assert_refused(result, (str(path), None))
    assert "larger than" in result.err


def test_a_path_argument_with_a_newline_is_refused(tmp_path):
    path = tmp_path / "pa\nir.yaml"
    path.write_text(EXAMPLE_TEXT, encoding="utf-8")
    result = cli("check", path)
    assert_usage(result, "control characters")


def test_flows_csv_quotes_every_cell(tmp_path):
    result = cli("flows", tmp_path / "none.yaml")
    assert result.code == 2
    from hostile_support import EXAMPLE

    result = cli("flows", EXAMPLE, "--format", "csv", "--no-resolve")
    assert result.code == 0
    for row in result.out.splitlines():
        assert row.startswith('"') and row.endswith('"') and ',"' in row


def test_flows_output_file_is_0644_under_umask_022(tmp_path):
    from hostile_support import EXAMPLE

    old = os.umask(0o022)
    try:
        assert cli("flows", EXAMPLE, "-o", tmp_path / "f.json", "--format", "json").code == 0
    finally:
        os.umask(old)
    assert oct((tmp_path / "f.json").stat().st_mode & 0o777) == "0o644"


def test_graph_refuses_a_bomb_and_writes_nothing(tmp_path):
    path = tmp_path / "pair.yaml"
    path.write_text(_many_providers(10, 1000), encoding="utf-8")
    result = cli("graph", path, "-o", tmp_path / "g.json")
    assert_refused(result, (str(path), 40))
    assert not (tmp_path / "g.json").exists()


def test_every_located_line_names_the_line_of_its_value(tmp_path):
    # two problems, two lines, each at its own line
    text = mutate("    name: site1", '    name: "site1\\n"')
    text = mutate(ENDPOINTS, "    endpoints: [0x7f.1]", text)
    path = tmp_path / "pair.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("check", path)
    assert_refused(result, (str(path), 5), (str(path), line_of(text, "0x7f.1")))
