"""Large named nft sets (issue 18, item 5): read into arrays and looked up through an index,
they decide every flow as the general path (a JSON tree, an element tuple each) does, refuse
what it refuses with the same located error, and count against the input limit."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.ruleset import Hook, Packet, evaluate, nft_json, read_rulesets
from auditor.ruleset.nft_expr import NftMatch
from auditor.ruleset.nft_sets import Columns, Packed, _ipv4

V4 = int(ipaddress.IPv4Address("198.18.0.0"))  # the benchmarking range: data, no traffic
V6 = int(ipaddress.IPv6Address("2001:db8::"))


def _v4(n: int) -> str:
    return str(ipaddress.IPv4Address(V4 + n))


def _v6(n: int) -> str:
    return str(ipaddress.IPv6Address(V6 + n))


def _address_part(rng: random.Random, version: int, at: int) -> tuple[object, int, int]:
    """An address element part as nft writes it, and its first and last value (offsets)."""
    text = _v4 if version == 4 else _v6
    shape = rng.choice(("plain", "plain", "prefix", "range"))
    if shape == "prefix":
        length = (32 if version == 4 else 128) - rng.choice((0, 2, 4))
        size = 1 << ((32 if version == 4 else 128) - length)
        base = at - at % size
        return {"prefix": {"addr": text(base), "len": length}}, base, base + size - 1
    if shape == "range":
        last = at + rng.randrange(0, 9)
        return {"range": [text(at), text(last)]}, at, last
    return text(at), at, at


def _port_part(rng: random.Random) -> tuple[object, int, int]:
    low = rng.randrange(1, 65000)
    if rng.random() < 0.5:
        return low, low, low
    high = low + rng.randrange(0, 30)
    return {"range": [low, high]}, low, high


def _set(rng: random.Random, kind: str, count: int) -> tuple[list[object], list[tuple[int, ...]]]:
    """`count` elements of a set of `kind` (v4, v6, v4port, v6port), wrapped now and then as
    nft lists an element with a comment or a timeout, and probes around their bounds."""
    version = 6 if kind.startswith("v6") else 4
    items: list[object] = []
    probes: list[tuple[int, ...]] = []
    at = 0
    for _ in range(count):
        at += rng.randrange(1, 40)
        addr, lo, hi = _address_part(rng, version, at)
        at = hi + 1
        item: object = addr
        probe = [lo - 1, lo, hi, hi + 1]
        if kind.endswith("port"):
            port, plo, phi = _port_part(rng)
            item = {"concat": [addr, port]}
            probes += [(a, p) for a in (lo, hi) for p in (plo - 1, plo, phi, phi + 1)]
        else:
            probes += [(a,) for a in probe]
        if rng.random() < 0.05:  # the options in either order, as nft versions list them
            options = {"comment": "x", "timeout": 3600, "counter": {"packets": 0, "bytes": 9}}
            wrapped = {"val": item, **options} if rng.random() < 0.5 else {**options, "val": item}
            item = {"elem": wrapped}
        items.append(item)
    return items, probes


def _document(kind: str, items: list[object]) -> str:
    version = 6 if kind.startswith("v6") else 4
    proto = "ip" if version == 4 else "ip6"
    daddr = {"payload": {"protocol": proto, "field": "daddr"}}
    key: object = daddr
    set_type: object = "ipv4_addr" if version == 4 else "ipv6_addr"
    if kind.endswith("port"):
        dport = {"payload": {"protocol": "tcp", "field": "dport"}}
        key = {"concat": [daddr, dport]}
        set_type = [set_type, "inet_service"]
    return json.dumps({"nftables": [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "t", "handle": 1}},
        {"set": {"family": "inet", "name": "s", "table": "t", "type": set_type, "handle": 2,
                 "flags": ["interval"], "elem": items}},
        {"chain": {"family": "inet", "table": "t", "name": "f", "handle": 3, "type": "filter",
                   "hook": "forward", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "t", "chain": "f", "handle": 4, "expr": [
            {"match": {"op": "==", "left": key, "right": "@s"}}, {"accept": None}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "f", "handle": 5, "expr": [
            {"match": {"op": "!=", "left": key, "right": "@s"}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                       "right": 22}}, {"reject": None}]}},
    ]})  # fmt: skip


def _decisions(path: Path, packets: list[Packet]) -> list[tuple[str, str, str]]:
    decided = evaluate(read_rulesets([path]), packets, Hook.FORWARD)
    return [(d.verdict.value, d.action, d.rule.ref if d.rule else "") for d in decided]


def _both(path: Path, packets: list[Packet], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    packed = _decisions(path, packets)
    with monkeypatch.context() as patch:
        patch.setattr(nft_json, "PACK_MIN", 10**9)  # every set through the JSON tree
        general = _decisions(path, packets)
    return packed, general


@pytest.mark.parametrize("kind", ["v4", "v6", "v4port", "v6port"])
def test_a_large_set_read_into_arrays_decides_every_flow_as_the_general_path(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(kind)
    items, probes = _set(rng, kind, 600)
    path = tmp_path / "big.json"
    path.write_text(_document(kind, items))
    base = V4 if not kind.startswith("v6") else V6
    version = 6 if kind.startswith("v6") else 4
    packets = [
        Packet(version, base - 7, base + p[0], "tcp", p[1] if len(p) > 1 else 22)
        for p in rng.sample(probes, 1500)
    ]
    packed, general = _both(path, packets, monkeypatch)
    assert packed == general
    verdicts = {v for v, _, _ in packed}
    assert verdicts == {"admitted", "denied"}  # the probes hit and miss the set
    (body,) = [i["set"] for _, i in nft_json.items_with_lines(path.read_text(), "x") if "set" in i]
    assert isinstance(body, dict) and isinstance(body["elem"], Packed)  # arrays, not a tree
    (ruleset,) = read_rulesets([path])
    (match,) = ruleset.tables[0].chains["f"].rules[0].matches
    assert isinstance(match, NftMatch) and isinstance(match.elements, Columns)  # compiled


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("198.51.100.256", "'198.51.100.256' is not an IPv4 address"),
        ("198.51.100.01", "'198.51.100.01' is not an IPv4 address"),
        ({"range": ["198.51.100.9", "198.51.100.1"]}, "ends before it starts"),
        ({"prefix": {"addr": "198.51.100.0", "len": 33}}, "length out of range 0-32"),
    ],
)
def test_a_bad_element_of_a_large_set_is_refused_as_the_general_path_refuses_it(
    bad: object, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, _ = _set(random.Random(5), "v4", 400)
    items[333] = bad
    path = tmp_path / "big.json"
    path.write_text(_document("v4", items))
    errors = _refusals_both_ways(path, monkeypatch, 1)
    assert errors[0] == errors[1]
    assert message in errors[0][0]


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("-0", "-5", "port -5 is out of range 0-65535"),
        ('{"range": [-0, 9]}', '{"range": [-5, 9]}', "port -5 is out of range 0-65535"),
    ],
)
def test_a_negative_number_beside_minus_zero_is_refused_not_read_without_its_sign(
    first: str, second: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-0` is JSON for 0 and shares its skeleton with `-5`: read from the arrays, `-5` was
    port 5 (a flow to port 5 admitted) where the general path refuses the listing."""
    dport = {"payload": {"protocol": "tcp", "field": "dport"}}
    document = json.loads(_document("v4", []))
    document["nftables"][2]["set"].update(type="inet_service", elem=list(range(1000, 1400)))
    for rule in document["nftables"][4:]:
        rule["rule"]["expr"][0]["match"]["left"] = dport
    path = tmp_path / "signed.json"
    path.write_text(json.dumps(document).replace(", 1200, ", f", {first}, {second}, 1200, ", 1))
    errors = _refusals_both_ways(path, monkeypatch, 256)
    assert errors[0] == errors[1]
    assert message in errors[0][0]


@pytest.mark.parametrize(
    ("odd", "verdicts"),
    [
        ("*", {"admitted"}),  # the catch-all element holds every flow
        ({"concat": [V4 + 3, 80]}, {"admitted", "denied"}),  # an address as a number
        ({"concat": [_v4(0), "ssh"]}, {"unknown"}),  # a service by name: not modelled
    ],
)
def test_elements_of_other_shapes_keep_the_general_path_and_its_answers(
    odd: object, verdicts: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    items, probes = _set(rng, "v4port", 300)
    items[10] = odd
    path = tmp_path / "odd.json"
    path.write_text(_document("v4port", items))
    packets = [Packet(4, V4 - 7, V4 + a, "tcp", p) for a, p in probes[:400]]
    packed, general = _both(path, packets, monkeypatch)
    assert packed == general
    assert {v for v, _, _ in packed} == verdicts


def test_set_elements_count_against_the_limit_at_the_line_of_the_set(tmp_path: Path) -> None:
    from auditor.ruleset.nft_shape import MAX_ELEMENTS

    head = '{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},\n'
    head += '{"set": {"family": "inet", "name": "s", "table": "t", "type": "inet_service", '
    elems = ", ".join(["1"] * (MAX_ELEMENTS + 1))
    path = tmp_path / "bomb.json"
    path.write_text(head + f'"handle": 2, "elem": [{elems}]}}}}]}}')
    with pytest.raises(InputError) as caught:
        read_rulesets([path])
    (problem,) = caught.value.problems
    assert problem.line == 2
    assert f"more than {MAX_ELEMENTS} set elements in one file" in problem.message
    exact = tmp_path / "exact.json"
    exact.write_text(path.read_text().replace("[1, ", "[", 1))
    assert read_rulesets([exact])  # exactly the limit: read


def test_dotted_quads_are_read_as_inet_pton_reads_them() -> None:
    import socket

    import numpy as np

    texts = ["0.0.0.0", "255.255.255.255", "198.51.100.7", "1.2.3.4", "10.0.0.1"]
    texts += ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", ".1.2.3", "1.2.3.4."]
    texts += ["1.2.3.a", "", "1.2.3.04", "1.2.3.0", "100.200.250.255", "1.2.3.4 ", "1e1.2.3.4"]
    for text in texts:
        try:
            want: int | None = int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        except OSError:
            want = None
        got = _ipv4(np.array([text.encode()], dtype="S"))
        assert (None if got is None else int(got[0])) == want, text


@pytest.mark.parametrize("big", [False, True])
def test_the_concatenation_index_finds_what_a_scan_of_every_element_finds(big: bool) -> None:
    """Narrow elements, wide ones (a `/8 . port` among them), many sharing one first value,
    128-bit values (IPv6: object arrays): the index answers as comparing every element."""
    from auditor.ruleset.nft_sets import ConcatIndex, columns_of

    rng = random.Random(big)
    scale = 1 << 100 if big else 1
    elements = []
    for _ in range(400):
        lo = rng.randrange(0, 5000)
        hi = lo + rng.choice((0, 0, 3, 40))
        port = rng.randrange(0, 50)
        elements.append(((lo * scale, hi * scale), (port, port + rng.choice((0, 5)))))
    elements += [((0, 4000 * scale), (7, 7)), ((1000 * scale, 3000 * scale), (9, 12))]  # wide
    elements += [((2500 * scale, 2500 * scale), (p, p)) for p in range(0, 60, 2)]  # one value
    index = ConcatIndex(columns_of(elements))
    for _ in range(4000):
        values = (rng.randrange(-5, 5100) * scale, rng.randrange(0, 60))
        scan = any(lo <= values[0] <= hi and plo <= values[1] <= phi
                   for (lo, hi), (plo, phi) in elements)  # fmt: skip
        assert index.hit(values) is scan, values


def test_a_listing_with_a_comment_in_utf_8_reads_its_large_set_into_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nft writes a comment as UTF-8 (`Zugang für die Prüfer`): offsets are of bytes."""
    rng = random.Random(11)
    items, probes = _set(rng, "v4port", 400)
    document = json.loads(_document("v4port", items))
    document["nftables"][4]["rule"]["comment"] = "Zugang für die Prüfer ✓"
    path = tmp_path / "utf8.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    packets = [Packet(4, V4 - 7, V4 + a, "tcp", p) for a, p in probes[:600]]
    packed, general = _both(path, packets, monkeypatch)
    assert packed == general and {v for v, _, _ in packed} == {"admitted", "denied"}
    (ruleset,) = read_rulesets([path])
    rule = ruleset.tables[0].chains["f"].rules[0]
    assert rule.text.endswith('comment "Zugang für die Prüfer ✓"') and rule.line == 1
    (match,) = rule.matches
    assert isinstance(match, NftMatch) and isinstance(match.elements, Columns)


def test_a_raw_tab_in_an_element_is_no_json_and_refused_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, _ = _set(random.Random(12), "v4", 400)
    first = [i for i in items if isinstance(i, str)][-1]  # not the one json decodes
    text = _document("v4", items).replace(f'"{first}"', f'"{first}\t"', 1)
    path = tmp_path / "tab.json"
    path.write_text(text)
    errors = _refusals_both_ways(path, monkeypatch, 1)
    assert errors[0] == errors[1] and "not JSON" in errors[0][0]


def test_every_nftables_shell_test_dump_reads_the_same_with_every_set_in_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The netfilter project's `nft -j list ruleset` dumps (tests/shell: sets, maps, intervals,
    concatenations, element options) with every named set, however small, read into arrays
    and compiled from them: each dump gives the same decisions, or the same refusal, as the
    element-by-element reader."""
    from test_ruleset_corpus import PACKETS, rows

    from auditor.ruleset import nft_sets
    from auditor.ruleset.nft import parse_nft

    extra = [Packet(4, V4 - 7, int(ipaddress.IPv4Address(a)), "tcp", port, None, "eth0", "eth1")
             for a in ("10.0.0.1", "192.168.1.1", "1.1.1.1") for port in (22, 80, 443)]  # fmt: skip

    def outcome(text: str, source: str) -> object:
        try:
            rulesets = (parse_nft(text, source),)
        except InputError as exc:
            return [str(p) for p in exc.problems]
        return [
            (d.verdict.value, d.action, d.rule.ref if d.rule else "", d.reason)
            for hook in Hook
            for d in evaluate(rulesets, [*PACKETS, *extra], hook)
        ]

    packed = 0
    for row in rows("nft_shell.jsonl"):
        text = json.dumps(row["dump"])
        general = outcome(text, row["source"])
        with monkeypatch.context() as patch:
            patch.setattr(nft_json, "PACK_MIN", 1)
            patch.setattr(nft_sets, "PACK_MIN", 1)
            assert outcome(text, row["source"]) == general, row["source"]
            items = nft_json.items_with_lines(text, row["source"])
            bodies = [i["set"] for _, i in items if "set" in i]
            packed += any(isinstance(b, dict) and isinstance(b.get("elem"), Packed) for b in bodies)
    assert packed >= 50  # dumps whose sets went through the arrays (60 of 369)


def _refusals_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch, pack_min: int
) -> list[list[str]]:
    """The problems `read_rulesets` refuses `path` with: its sets of `pack_min` elements or
    more read into arrays, then every set read by the general path."""
    errors = []
    for least in (pack_min, 10**9):
        with monkeypatch.context() as patch:
            patch.setattr(nft_json, "PACK_MIN", least)
            with pytest.raises(InputError) as caught:
                read_rulesets([path])
        errors.append([str(p) for p in caught.value.problems])
    return errors
