"""The lab file: how it is read and refused, and the lab command without root (no namespace,
no root needed: the lab itself is in test_lab.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LAB_INVENTORY, LAB_SPEC, REPO, lab_file_copy
from support.cli import auditor

from auditor.errors import InputError
from auditor.lab.spec import load_spec


def test_spec_problems_are_located(tmp_path: Path) -> None:
    text = LAB_SPEC.read_text()
    text = text.replace("cert_name: wrong-name.lab.example.net", "cert_name: 'not a name'")
    text = text.replace("addresses: [203.0.113.10,", "addresses: [10.1.2.3,")
    text = text.replace("action: reject,\n     comment: shared IP rejected}", "action: deny}", 1)
    bad = lab_file_copy(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_spec(bad)
    lines = str(info.value).splitlines()
    lines_of = {line.split(": ", 2)[1]: line for line in lines}
    assert set(lines_of) == {
        "servers[0].addresses[0]",
        "servers[1].cert_name",
        "rules[1].action",
    }
    assert "not in a documentation range" in lines_of["servers[0].addresses[0]"]
    for line in lines:
        file_line = line.split(": ", 1)[0]
        assert file_line.startswith(f"{bad}:") and file_line.rsplit(":", 1)[1].isdigit()


def test_spec_rejects_an_unknown_firewall_and_a_doubly_used_socket(tmp_path: Path) -> None:
    text = LAB_SPEC.read_text()
    text = text.replace(
        'provider_side: [203.0.113.1/24, "2001:db8:203::1/64"]',
        'provider_side: [203.0.113.1/24, "2001:db8:203::1/64"]\n  firewall: pf',
    )
    text = text.replace('addresses: [203.0.113.11, "2001:db8:203::11"]',
                        'addresses: [203.0.113.10, "2001:db8:203::11"]')  # fmt: skip
    bad = lab_file_copy(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_spec(bad)
    fields = [p.field for p in info.value.problems]
    assert fields == ["router.firewall", "servers[1].addresses[0]"]


@pytest.mark.parametrize(
    ("lab_file", "inventory"),
    [("lab.yaml", "lab-inventory.yaml"), ("lab-apps.yaml", "lab-apps-inventory.yaml")],
)
def test_each_example_lab_file_names_its_inventory(lab_file: str, inventory: str) -> None:
    spec = load_spec(REPO / "examples" / lab_file)
    assert spec.inventory_path == REPO / "examples" / inventory
    every = {a.interface for app in spec.inventory.pair.appliances for a in app.addresses}
    assert set(spec.probe_addresses) == every


def test_an_inventory_with_a_lab_section_is_refused_with_the_new_shape(tmp_path: Path) -> None:
    # The old format: the lab's settings under `lab:` inside the inventory.
    lab_part = "lab:\n" + "".join(
        "  " + line for line in LAB_SPEC.read_text().splitlines(keepends=True)
        if not line.startswith(("#", "inventory:"))
    )  # fmt: skip
    old = tmp_path / "old.yaml"
    old.write_text(LAB_INVENTORY.read_text() + lab_part)
    with pytest.raises(InputError) as info:
        load_spec(old)
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == (str(old), "lab")
    assert problem.line == LAB_INVENTORY.read_text().count("\n") + 1
    assert "this is an inventory, not a lab file: a lab file names its inventory" in str(problem)
    ran = auditor("check", old, cwd=REPO)  # and the product refuses `lab:` in an inventory
    assert ran.returncode == 2
    assert ran.stderr.count("\n") == 1
    assert f"{old}:{problem.line}: lab: lab settings are not part of an inventory" in ran.stderr


def test_the_inventory_is_named_relative_to_the_lab_file_and_checked(tmp_path: Path) -> None:
    (tmp_path / "labs").mkdir()
    lab_file = tmp_path / "labs" / "lab.yaml"
    lab_file.write_text(LAB_SPEC.read_text().replace("lab-inventory.yaml", "../pair.yaml"))
    with pytest.raises(InputError) as info:
        load_spec(lab_file)
    assert [(p.file, p.line, p.field) for p in info.value.problems] == [
        (str(lab_file), LAB_SPEC.read_text().splitlines().index("inventory: lab-inventory.yaml")
         + 1, "inventory")
    ]  # fmt: skip
    assert "'../pair.yaml': no such file" in str(info.value)
    # An address outside the documentation ranges is refused where the inventory has it.
    text = LAB_INVENTORY.read_text().replace("198.51.100.12/24", "10.0.0.12/24")
    (tmp_path / "pair.yaml").write_text(text)
    with pytest.raises(InputError) as info:
        load_spec(lab_file)
    problems = [p for p in info.value.problems if p.file == str(lab_file.parent / "../pair.yaml")]
    assert [p.field for p in problems] == ["pair.backup.addresses[0].ip"]
    assert problems[0].line == text.splitlines().index("      - ip: 10.0.0.12/24") + 1
    assert "not in a documentation range" in problems[0].message
    # A valid inventory there: the spec carries it, and its document for the lab's copy.
    (tmp_path / "pair.yaml").write_text(LAB_INVENTORY.read_text())
    spec = load_spec(lab_file)
    assert spec.inventory.site.name == "lab.example.com"
    assert spec.inventory_document["site"]["name"] == "lab.example.com"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("fix.rules", "*filter\n-A FORWARD -s 198.51.100.12/32 -j ACCEPT\nCOMMIT\n", "iptables"),
        ("fix.rules", "*filter\n-A FORWARD -s 2001:db8:100::12 -j ACCEPT\nCOMMIT\n", "ip6tables"),
        ("site.ip6tables", "*filter\n:SITE - [0:0]\nCOMMIT\n", "ip6tables"),
        ("fix.nft", "# generated\ntable inet site {\n}\n", "nftables"),
        ("fix.nft", "#!/usr/sbin/nft -f\nflush ruleset\n", "nftables"),
    ],
)
def test_snippet_format_is_detected_from_content_and_name(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    from auditor.lab.router import detect_format

    assert detect_format(tmp_path / name, text) == expected


def test_without_root_the_lab_says_so_in_one_line() -> None:
    if os.geteuid() != 0:
        ran = auditor("lab", "status")
    else:  # root drops to nobody: a process of its own
        ran = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-m", "auditor", "lab", "status"],
            capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
        )  # fmt: skip
    assert ran.returncode == 3, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "needs root" in lines[0]
