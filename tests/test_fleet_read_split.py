"""A fleet reads and checks its pairs in this process and forked helpers at once (issue 23,
item 7: the serial start of a 200-pair fleet): the same pairs, the same problems in the same
order, as reading them one after another here; a pair read by a helper crosses back pickled."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path
from types import MappingProxyType

import pytest
from fleet_support import PAIR, results_for

from auditor.errors import InputError
from auditor.fleet import run as fleet_run
from auditor.fleet.run import FleetRequest, ready_fleet, run_fleet
from auditor.fleet.split import split_map
from auditor.history.location import sqlite_location


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used-nothing-is-probed")


def test_split_map_computes_the_later_parts_in_helpers_in_order() -> None:
    here = os.getpid()
    found = split_map(lambda i: (i, os.getpid()), 6, helpers=2)
    assert [i for i, _ in found] == list(range(6))
    pids = [pid for _, pid in found]
    assert pids[:2] == [here, here]
    assert here not in pids[2:]  # computed elsewhere, at the same time


def test_the_helpers_inherit_what_the_first_item_warmed() -> None:
    warm: list[str] = []

    def fn(i: int) -> tuple[int, bool, int]:
        if i == 0:
            warm.append("imports and caches")  # what a first pair loads lazily
        return i, bool(warm), os.getpid()

    found = split_map(fn, 4, helpers=1)
    assert [(i, w) for i, w, _ in found] == [(0, True), (1, True), (2, True), (3, True)]
    assert found[3][2] != os.getpid()  # inherited by the helper, not computed again here


def test_split_map_computes_here_what_does_not_pickle() -> None:
    here = os.getpid()

    def fn(i: int) -> object:
        return threading.Lock() if i == 3 else (i, os.getpid())

    found = split_map(fn, 4, helpers=1)
    assert found[:3] == [(0, here), (1, here), (2, found[2][1])]  # type: ignore[index]
    assert found[2][1] != here  # type: ignore[index]
    assert isinstance(found[3], type(threading.Lock()))  # here, after the helper's part


def test_split_map_computes_here_the_part_of_a_helper_that_died() -> None:
    here = os.getpid()

    def fn(i: int) -> tuple[int, int]:
        if os.getpid() != here:
            os._exit(9)  # a helper killed part-way
        return i, os.getpid()

    assert split_map(fn, 5, helpers=2) == [(i, here) for i in range(5)]


def test_split_map_with_no_helpers_or_one_item_stays_here() -> None:
    here = os.getpid()
    assert split_map(lambda i: os.getpid(), 3, helpers=0) == [here] * 3
    assert split_map(lambda i: os.getpid(), 1, helpers=4) == [here]


def probed_fleet(tmp_path: Path, pairs: int, *, bad: bool = False) -> Path:
    """One site with a probe host (never reached here: each pair gets its bundle), `pairs`
    copies of examples/pair.yaml; `bad`: a duplicate pair and a bad address among them."""
    (tmp_path / "key").write_text("unused: nothing connects\n")
    (tmp_path / "known_hosts").write_text("")
    text = PAIR.read_text()
    lines = ["sites:", "  - name: east", "    probe_host: ssh://root@127.0.0.1:1",
             f"    ssh_key: {tmp_path / 'key'}", f"    known_hosts: {tmp_path / 'known_hosts'}",
             "    pairs:"]  # fmt: skip
    for p in range(pairs):
        name = f"p{p}"
        body = text.replace("name: support.example.com", f"name: {name}.example.com")
        if bad and p == 1:
            body = body.replace("name: p1.example.com", "name: p0.example.com")  # twice
        if bad and p == 3:
            body = body.replace("endpoints: [203.0.113.20]", "endpoints: [203.0.113.999]")
        (tmp_path / f"{name}.yaml").write_text(body)
        lines.append(f"      - inventory: {name}.yaml")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet


def request_for(tmp_path: Path, fleet: Path, tag: str) -> FleetRequest:
    store = sqlite_location(tmp_path / f"{tag}.db")
    return FleetRequest(fleet=fleet, output_dir=tmp_path / f"out-{tag}", store=store)


def test_a_ready_pair_survives_pickling(tmp_path: Path) -> None:
    ready = ready_fleet(request_for(tmp_path, probed_fleet(tmp_path, 2), "one"), helpers=0)
    pair = replace_store(ready.pairs[1])
    back = pickle.loads(pickle.dumps(pair))
    assert back.name == pair.name == "p1.example.com"
    assert back.bundle == pair.bundle and back.bundle is not None  # what the probe host gets
    assert back.ready.inventory == pair.ready.inventory
    assert back.ready.prepared.flows == pair.ready.prepared.flows
    assert isinstance(back.ready.prepared.kinds, MappingProxyType)  # still read-only
    assert dict(back.ready.prepared.kinds) == dict(pair.ready.prepared.kinds)
    assert {k: v.reveal() for k, v in back.ready.passwords.items()} == {
        k: v.reveal() for k, v in pair.ready.passwords.items()
    }
    assert back.ready.request == pair.ready.request
    assert sorted(back.ready.prepared.topology.edges) == sorted(pair.ready.prepared.topology.edges)


def replace_store(pair: fleet_run.ReadyPair) -> fleet_run.ReadyPair:
    """As a helper reads it: before the fleet's store is opened."""
    from dataclasses import replace

    return replace(pair, ready=replace(pair.ready, store=None))


def test_helpers_find_the_same_problems_in_the_same_order(tmp_path: Path) -> None:
    fleet = probed_fleet(tmp_path, 6, bad=True)
    told = {}
    for helpers in (0, 1, 2):
        with pytest.raises(InputError) as caught:
            ready_fleet(request_for(tmp_path, fleet, f"h{helpers}"), helpers=helpers)
        told[helpers] = str(caught.value)
    assert "audited twice" in told[0] and "999" in told[0]
    assert told[0].index("p3.yaml") > told[0].index("audited twice")  # the fleet file's order
    assert told[1] == told[0] and told[2] == told[0]


def test_pairs_read_by_helpers_are_judged_as_pairs_read_here(tmp_path: Path) -> None:
    lines = ["sites:", "  - name: west", "    pairs:"]
    text = PAIR.read_text()
    for p in range(5):
        inventory = tmp_path / f"w{p}.yaml"
        inventory.write_text(text.replace("name: support.example.com", f"name: w{p}.example.com"))
        results_for(inventory, tmp_path / f"w{p}.json")
        lines += [f"      - inventory: w{p}.yaml", f"        evidence: w{p}.json"]
    fleet = tmp_path / "evidence-fleet.yaml"
    fleet.write_text("\n".join(lines) + "\n")
    done = {}
    for helpers in (0, 1):
        request = request_for(tmp_path, fleet, f"run{helpers}")
        ready = ready_fleet(request, helpers=helpers)
        outcomes = run_fleet(ready, workers=1).outcomes
        out = tmp_path / f"out-run{helpers}" / "west"
        done[helpers] = (
            [(o.pair, o.verdict, tuple(r.status for r in o.result.run.records)) for o in outcomes],
            {p.name: sorted(f.name for f in p.rglob("*")) for p in sorted(out.iterdir())},
            {p.name: (p / "report.md").read_text().count("filtered") for p in out.iterdir()},
        )
    assert done[1] == done[0]
    assert [pair for pair, _, _ in done[0][0]] == [f"w{p}.example.com" for p in range(5)]


def test_a_large_fleet_is_read_with_a_helper_per_other_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    real = fleet_run.split_map

    def spy(fn, count, *, helpers):  # type: ignore[no-untyped-def]
        asked.append(helpers)
        return real(fn, count, helpers=helpers)

    monkeypatch.setattr(fleet_run, "split_map", spy)
    monkeypatch.setattr(fleet_run, "cpus", lambda: 3)
    ready_fleet(request_for(tmp_path, probed_fleet(tmp_path, fleet_run.READ_SPLIT_MIN), "big"))
    ready_fleet(request_for(tmp_path, probed_fleet(tmp_path, 2), "small"))
    assert asked == [2, 0]
