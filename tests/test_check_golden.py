"""`auditor check` as a user reads it: the text and JSON output for the example (clean) and for
a broken copy with several lint errors, kept as golden files in tests/golden/check/.

Each inventory is passed as a relative path from its own folder, so the file name printed in
the output is the same on every machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_support import assert_golden
from support.cli import Result, auditor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"

# Each edit breaks one failover rule; together they give three lint errors. In this order: the
# first edit flips the only `enabled: false` of the example, the second adds one.
BREAKAGES = (
    # the shared IP enabled on both appliances: an IP conflict
    ("        enabled: false", "        enabled: true"),
    # the backup's unique IP disabled: the appliance has no address of its own
    (
        "      - ip: 198.51.100.12/24\n        role: unique\n",
        "      - ip: 198.51.100.12/24\n        role: unique\n        enabled: false\n",
    ),
    # the failover IP is the primary's unique IP, not the shared IP
    ("    site_instance_ip: 198.51.100.10", "    site_instance_ip: 198.51.100.11"),
)


def broken_inventory(folder: Path) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in BREAKAGES:
        assert old in text
        text = text.replace(old, new, 1)
    (folder / "broken.yaml").write_text(text, encoding="utf-8")
    return "broken.yaml"


def check(cwd: Path, *args: str) -> Result:
    return auditor("check", *args, cwd=cwd)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_clean_example(fmt: str) -> None:
    done = check(ROOT, "--format", fmt, "examples/pair.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert_golden(f"check/clean.{'txt' if fmt == 'text' else 'json'}", done.stdout)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_broken_copy_lists_every_lint_error(tmp_path: Path, fmt: str) -> None:
    done = check(tmp_path, "--format", fmt, broken_inventory(tmp_path))
    assert (done.returncode, done.stderr) == (1, "")
    assert_golden(f"check/broken.{'txt' if fmt == 'text' else 'json'}", done.stdout)


def test_the_json_agrees_with_the_text(tmp_path: Path) -> None:
    name = broken_inventory(tmp_path)
    doc = json.loads(check(tmp_path, "--format", "json", name).stdout)
    text = check(tmp_path, name).stdout
    assert doc["errors"] == 3 and doc["warnings"] == 0
    assert {f["rule"] for f in doc["findings"]} == {
        "unique-ip-enabled",
        "shared-ip-enabled-on-primary-only",
        "site-instance-ip-is-shared",
    }
    for f in doc["findings"]:
        assert f"{name}:{f['line']}: {f['severity']} [{f['rule']}] {f['field']}: " in text
    assert text.endswith(
        "FAIL: support.example.com: failover lint found 3 error(s), 0 warning(s)\n"
    )
