"""The closed loop in the namespace lab (issue 4, item 5): probe, generate the iptables fragments,
load them into the lab router, probe again. Every required flow the probe host can test is open
afterwards; a port that was not required and an address that was not listed are still blocked;
loading the fragments a second time changes nothing."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support.cli import auditor

from auditor.lab import Lab
from auditor.model.record import Status
from auditor.model.results import read_results, write_results
from auditor.model.verdict import proves_block

pytestmark = pytest.mark.lab

LAB_SPEC = Path(__file__).resolve().parent.parent / "examples" / "lab.yaml"
SITE = "lab.example.com"
UNLISTED = "198.51.100.13"  # added to the probe namespace by this test; in no inventory

CONNECT = """
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(1.5)
try:
    s.connect((dst, port))
    print("open")
except TimeoutError:
    print("filtered")
except ConnectionRefusedError:
    print("refused")
"""


def probe(lab: Lab, out: Path) -> Path:
    done = lab.exec(
        [sys.executable, "-m", "auditor", "probe", str(lab.inventory_path()), "-o", str(out),
         "--timeout", "1", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.exists(), done.stderr
    return out


def connect(lab: Lab, src: str, dst: str, port: int) -> str:
    done = lab.exec(
        [sys.executable, "-c", CONNECT, src, dst, str(port)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def router(lab: Lab, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.router_ns, *argv],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def jump_target(path: Path) -> str:
    """The change's chain, as its jump file names it (what the ticket's guard tests for)."""
    found = re.search(r"^(?:-I \S+ \d+ -j|insert rule .* jump) (\S+)$", path.read_text(), re.M)
    assert found is not None, path.read_text()
    return found.group(1)


def apply_iptables(lab: Lab, folder: Path) -> None:
    """The documented procedure: the chain fragment always, the jump only when absent."""
    for tool in ("iptables", "ip6tables"):
        rules = folder / f"{tool}.rules"
        if not rules.exists():
            continue
        lab.apply(rules)
        chain = jump_target(folder / f"{tool}.jump.rules")
        if router(lab, tool, "-w", "-C", "FORWARD", "-j", chain).returncode != 0:
            lab.apply(folder / f"{tool}.jump.rules")


def apply_nftables(lab: Lab, folder: Path) -> None:
    """The documented procedure: the chain script always, the jump only when absent."""
    lab.apply(folder / "nftables.nft")
    base = router(lab, "nft", "list", "chain", "inet", "auditor_lab", "forward").stdout
    if f"jump {jump_target(folder / 'nftables.jump.nft')}" not in base:
        lab.apply(folder / "nftables.jump.nft")


def nft_ruleset(lab: Lab) -> str:
    return router(lab, "nft", "list", "ruleset").stdout


def ruleset(lab: Lab) -> tuple[str, str]:
    return router(lab, "iptables", "-w", "-S").stdout, router(lab, "ip6tables", "-w", "-S").stdout


def provider_tcp(results: Path) -> dict[tuple[str, str, int], Status]:
    return {
        (r.source, r.destination, r.port): r.status
        for r in read_results(results).records
        if r.check == "tcp" and r.destination.startswith(("203.0.113.", "2001:db8:203:"))
    }


def test_generated_iptables_fragments_close_exactly_the_gaps(fresh_lab: Lab, tmp_path: Path):
    lab = fresh_lab
    before = provider_tcp(probe(lab, tmp_path / "before.json"))
    assert Status.FILTERED in before.values() and Status.REFUSED in before.values()

    out = tmp_path / "rules"
    result = auditor("rules", lab.inventory_path(), "--results", tmp_path / "before.json",
                     "--format", "all", "-o", out)  # fmt: skip
    assert result.returncode == 1
    apply_iptables(lab, out)
    once = ruleset(lab)

    after = provider_tcp(probe(lab, tmp_path / "after.json"))
    assert after.keys() == before.keys()
    assert {k for k, v in after.items() if v is not Status.OPEN} == set(), after

    # nothing more than the plan: a port nobody asked for, and an address nobody listed
    assert connect(lab, "198.51.100.12", "203.0.113.10", 22) == "filtered"
    lab.exec(["ip", "addr", "add", f"{UNLISTED}/24", "dev", lab.probe_iface], check=True)
    assert connect(lab, UNLISTED, "203.0.113.10", 636) == "filtered"

    # a second load leaves one copy of every rule, the jump included; `lab apply` itself
    # leaves out a jump the router already has (the guarded load the ticket documents)
    for tool in ("iptables", "ip6tables"):
        lab.apply(out / f"{tool}.rules")
        lab.apply(out / f"{tool}.jump.rules")
    assert ruleset(lab) == once
    assert once[0].count(f"-j {jump_target(out / 'iptables.jump.rules')}") == 1

    # the verification run the ticket prints: no gap is left (the lab's peer-port listener
    # keeps the failover-peer flows open, as on a healthy pair)
    auditor("rules", lab.inventory_path(), "--results", tmp_path / "after.json", "--only-proven",
            "--format", "csv", "-o", tmp_path / "verify")  # fmt: skip
    rows = list(
        csv.DictReader(io.StringIO((tmp_path / "verify" / "change-request.csv").read_text()))
    )
    assert rows == []


@pytest.fixture
def nft_lab() -> Iterator[Lab]:
    """A lab of its own whose router keeps its base ruleset in nftables (inet auditor_lab)."""
    the_lab = Lab(LAB_SPEC, prefix=f"pn{os.getpid() % 100000}", firewall="nftables")
    try:
        the_lab.down()
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


def test_generated_nftables_script_closes_exactly_the_gaps(nft_lab: Lab, tmp_path: Path):
    lab = nft_lab
    before = provider_tcp(probe(lab, tmp_path / "before.json"))
    assert Status.FILTERED in before.values() and Status.REFUSED in before.values()

    out = tmp_path / "rules"
    result = auditor("rules", lab.inventory_path(), "--results", tmp_path / "before.json",
                     "--format", "nftables", "--nft-table", "inet auditor_lab", "-o",
                     out)  # fmt: skip
    assert result.returncode == 1
    apply_nftables(lab, out)
    once = nft_ruleset(lab)

    after = provider_tcp(probe(lab, tmp_path / "after.json"))
    assert after.keys() == before.keys()
    assert {k for k, v in after.items() if v is not Status.OPEN} == set(), after

    assert connect(lab, "198.51.100.12", "203.0.113.10", 22) == "filtered"
    lab.exec(["ip", "addr", "add", f"{UNLISTED}/24", "dev", lab.probe_iface], check=True)
    assert connect(lab, UNLISTED, "203.0.113.10", 636) == "filtered"

    lab.apply(out / "nftables.nft")
    lab.apply(out / "nftables.jump.nft")
    assert nft_ruleset(lab) == once
    assert once.count(f"jump {jump_target(out / 'nftables.jump.nft')}") == 1


SHARED = ("198.51.100.10", "2001:db8:100::10")


def rules_for(lab: Lab, results: Path, out: Path) -> Path:
    result = auditor("rules", lab.inventory_path(), "--results", results, "--only-proven",
                     "--format", "all", "-o", out)  # fmt: skip
    assert result.returncode == 1
    return out


def test_a_second_change_leaves_the_first_in_place(fresh_lab: Lab, tmp_path: Path):
    """Change 1 opens the shared IP's flows; a later audit finds the backup's unique IP still
    blocked and change 2 opens those: after both, every flow is open (change 2 did not empty
    change 1's chain), and applying change 1 again changes nothing."""
    lab = fresh_lab
    before = probe(lab, tmp_path / "before.json")
    blocked = {k for k, v in provider_tcp(before).items() if proves_block(v)}
    assert {k[0] for k in blocked} >= {"198.51.100.10", "198.51.100.12"}

    # change 1 as if only the shared IP had been found blocked
    doc = read_results(before)
    only_shared = tuple(
        r if r.source in SHARED or not proves_block(r.status) else replace(r, status=Status.OPEN)
        for r in doc.records
    )
    write_results(tmp_path / "shared-only.json", replace(doc, records=only_shared))
    change1 = rules_for(lab, tmp_path / "shared-only.json", tmp_path / "change1")
    sources = set(re.findall(r"^-A \S+ -s (\S+) ", (change1 / "iptables.rules").read_text(), re.M))
    assert sources == {"198.51.100.10"}
    apply_iptables(lab, change1)

    mid = provider_tcp(probe(lab, tmp_path / "mid.json"))
    assert {k for k, v in mid.items() if proves_block(v)} == {
        k for k in blocked if k[0] not in SHARED
    }

    change2 = rules_for(lab, tmp_path / "mid.json", tmp_path / "change2")
    chains = [jump_target(c / "iptables.jump.rules") for c in (change1, change2)]
    assert chains[0] != chains[1]
    apply_iptables(lab, change2)
    both = ruleset(lab)

    after = provider_tcp(probe(lab, tmp_path / "after.json"))
    assert {k for k, v in after.items() if v is not Status.OPEN} == set(), after
    for chain in chains:
        assert both[0].count(f"-A FORWARD -j {chain}") == 1

    apply_iptables(lab, change1)
    assert ruleset(lab) == both
