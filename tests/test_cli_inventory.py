"""The inventory commands as a user runs them: exit codes, stdout and stderr."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.cli import Result, auditor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"


def run(*args: str, cwd: Path | None = None) -> Result:
    return auditor(*args, cwd=cwd)


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "pair.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_check_passes_the_example() -> None:
    result = run("check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "PASS: support.example.com: failover lint found 0 error(s), 0 warning(s)"
    )


def test_check_fails_an_ip_conflict_with_the_line_and_a_hint(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "        enabled: false", "        enabled: true")
    result = run("check", str(path))
    assert result.returncode == 1
    assert f"{path}:21: error [shared-ip-enabled-on-primary-only]" in result.stdout
    assert "fix: " in result.stdout
    assert "FAIL: support.example.com" in result.stdout


def test_check_json(tmp_path: Path) -> None:
    path = broken_copy(
        tmp_path, "    site_instance_ip: 198.51.100.10", "    site_instance_ip: 198.51.100.11"
    )
    result = run("check", "--format", "json", str(path))
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] >= 1
    rules = {f["rule"] for f in doc["findings"]}
    assert "site-instance-ip-is-shared" in rules
    finding = next(f for f in doc["findings"] if f["rule"] == "site-instance-ip-is-shared")
    assert finding["line"] == 23
    assert finding["field"] == "pair.failover.site_instance_ip"


def test_bad_input_is_exit_2_one_line_each_and_no_traceback(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "      - ip: 198.51.100.12/24", "      - ip: 198.51.100.12/40")
    path.write_text(
        path.read_text().replace("    kind: radius", "    kind: radus"), encoding="utf-8"
    )
    for command in ("check", "flows", "graph"):
        result = run(command, str(path))
        assert result.returncode == 2, (command, result.stderr)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[0] == (
            f"error: {path}:17: pair.backup.addresses[0].ip: bad prefix length '/40' in "
            "'198.51.100.12/40' (expected /8 to /32: the interface's own subnet)"
        )


def test_unknown_kind_is_bad_input_with_a_suggestion(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "    kind: radius", "    kind: radus")
    result = run("check", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}:35: providers[1].kind: unknown kind 'radus'")
    assert "did you mean 'radius'?" in result.stderr


def test_flows_lists_the_14_flows_in_every_format() -> None:
    table = run("flows", str(EXAMPLE))
    assert table.returncode == 0, table.stderr
    assert "14 required flows for support.example.com" in table.stdout
    rows = list(csv.DictReader(io.StringIO(run("flows", "--format", "csv", str(EXAMPLE)).stdout)))
    assert len(rows) == 14
    assert {r["source"] for r in rows} == {"198.51.100.10", "198.51.100.11", "198.51.100.12"}
    flows = json.loads(run("flows", "--format", "json", str(EXAMPLE)).stdout)
    assert len(flows if isinstance(flows, list) else flows["flows"]) == 14


def test_graph_writes_a_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "graph.dot"
    result = run("graph", "--format", "dot", "-o", str(out), str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text()
    assert text.startswith("digraph")
    assert '"address:198.51.100.10"' in text
    assert [p.name for p in out.parent.iterdir()] == ["graph.dot"]


def test_a_failed_run_writes_nothing(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "    kind: radius", "    kind: nope")
    out = tmp_path / "graph.json"
    assert run("graph", "-o", str(out), str(path)).returncode == 2
    assert not out.exists()


def test_user_pack_overrides_a_kind(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "radius.yaml").write_text(
        "pack: site-radius\nkinds:\n  radius:\n    ports:\n"
        "      - {port: 1645, protocol: udp, checks: [udp]}\n"
        "      - {port: 1812, protocol: udp, checks: [udp]}\n",
        encoding="utf-8",
    )
    rows = list(
        csv.DictReader(
            io.StringIO(run("flows", "--format", "csv", "--rules", str(packs), str(EXAMPLE)).stdout)
        )
    )
    assert len(rows) == 17


@pytest.mark.parametrize("which", ["inventory", "results", "run"])
def test_schema_prints_json(which: str) -> None:
    result = run("schema", which)
    assert result.returncode == 0
    assert json.loads(result.stdout)["$schema"].startswith("https://json-schema.org/")


def test_usage_errors_are_exit_2() -> None:
    assert run("flows").returncode == 2
    assert run("flows", "--format", "xml", str(EXAMPLE)).returncode == 2
    assert run("no-such-command").returncode == 2


def test_help_and_version() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "Exit codes:" in result.stdout
    assert run("--version").stdout.startswith("auditor, version ")
