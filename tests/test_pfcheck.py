"""The pf.conf checker accepts the examples of pf.conf(5) and the OpenBSD PF guide that fall in
its subset, and rejects what pfctl would reject (or what the renderer must never emit)."""

from __future__ import annotations

import pytest
from support.pfcheck import check

# From pf.conf(5) (TABLES, PACKET FILTERING) and the PF guide's table and filter pages.
MANPAGE_EXAMPLES = [
    "table <goodguys> { 192.0.2.0/24 }",
    "table <rfc1918> const { 192.168.0.0/16, 172.16.0.0/12, 10.0.0.0/8 }",
    "table <spammers> persist",
    "block in on fxp0 from { <rfc1918>, <spammers> } to any",
    "pass in on fxp0 from <goodguys> to any",
    "table <goodguys> { 192.0.2.0/24, !192.0.2.5 }",
    'table <spammers> persist file "/etc/spammers"',
    "block in on fxp0 from <spammers> to any",
    "table <rfc1918> const { 192.168.0.0/16, 172.16.0.0/12, \\\n     10.0.0.0/8 }",
    "pass inet proto tcp from <clients> to any port $client_out \\\n         flags S/SA keep state",
    "block in all",
    "pass out all keep state",
    "pass in on $ext_if proto tcp from any to $ext_if port 25 keep state",
    "pass in proto tcp from any to any port 22 keep state",
    "block return in on $ext_if proto tcp from any to any port ssh",
    "pass in quick on $ext_if inet proto tcp from any to 192.0.2.1 port 80 flags S/SA keep state",
    "pass in on $ext_if proto tcp to $web_server port www keep state",
    "pass out on $ext_if proto { tcp, udp } all keep state",
    "pass in inet proto tcp from any to any port 6000:6010 keep state",
    "pass in proto tcp from any port 1024 >< 2048 to any keep state",
    'ext_if = "kue0"',
    'pass in on $ext_if proto tcp from any to any port { 22, 80, 443 } keep state label "web"',
]


@pytest.mark.parametrize("text", MANPAGE_EXAMPLES)
def test_pf_conf_examples_parse(text):
    assert check(text) == []


def test_a_whole_example_file_parses_strictly():
    text = "\n".join(
        [
            "# a comment",
            "table <clients> const { 192.0.2.0/24 }",
            "table <servers> const {",
            "\t203.0.113.10, 203.0.113.11,",
            "\t2001:db8::10",
            "}",
            "pass in quick on em0 inet proto tcp from <clients> to <servers> \\",
            "    port { 636, 3268:3269 } keep state  # why",
        ]
    )
    assert check(text, strict=True) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table <x> { 192.0.2.300 }", "bad address"),
        ("table <x> { 192.0.2.1", "unterminated"),
        ("table <" + "a" * 32 + "> { 192.0.2.1 }", "longer than 31"),
        ("pass in proto tcp from any to any port 70000 keep state", "bad port"),
        ("pass in proto tcp from any to any port 2000:1000 keep state", "backwards"),
        ('pass in proto tcp from any to any port 22 keep state label "a" "b"', "unexpected"),
        (
            'pass in proto tcp from any to any port 22 keep state label "' + "a" * 64 + '"',
            "label longer",
        ),
        ("pass in proto bogus from any to any", "unknown protocol"),
        ("pass in on eth0; rm -rf / from any to any", "bad interface"),
        ("rdr pass on em0 proto tcp to port 80 -> 127.0.0.1", "outside the checked subset"),
        ("pass in quick proto tcp from any to any port 22 \\", "unterminated"),
        ("pass in proto tcp from 192.168/16 to any keep state", "bad address"),
    ],
)
def test_broken_lines_are_reported_with_their_line(text, message):
    problems = check("# header\n" + text)
    assert problems, text
    assert problems[0].line == 2
    assert message in problems[0].message


def test_strict_mode_wants_defined_tables_and_keep_state():
    assert check("pass in from <nowhere> to any keep state", strict=True)[0].message == (
        "table <nowhere> is not defined"
    )
    assert "keep state" in check("pass in all", strict=True)[0].message
    assert check("pass in all") == []
