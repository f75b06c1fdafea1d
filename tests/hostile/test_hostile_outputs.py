"""Outputs go into regular files in the place named, never over a device, a FIFO, a socket or
a folder: such a target is refused with one line, exit 2, before any work, and is left as it
was; `-o -` writes to standard output."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_support import EXAMPLE, assert_usage, cli
from test_hostile_rules import results_text


def device(path: Path) -> Path:
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    opened: list[socket.socket] = []

    def make(path: Path) -> Path:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        opened.append(s)
        return path

    yield make
    for s in opened:
        s.close()


KINDS = {"device": device, "fifo": fifo, "folder": folder}
# the command line, with {out} where the output path goes
FILE_COMMANDS = {
    "graph": ["graph", EXAMPLE, "--no-resolve", "-o", "{out}"],
    "flows": ["flows", EXAMPLE, "--no-resolve", "--format", "csv", "-o", "{out}"],
    "probe": ["probe", EXAMPLE, "--no-resolve", "-o", "{out}"],
    "probe journal": ["probe", EXAMPLE, "--no-resolve", "-o", "r.json", "--journal", "{out}"],
    "trend": ["trend", EXAMPLE, "--store", "h.sqlite", "-o", "{out}"],
    "audit store": ["audit", EXAMPLE, "--no-resolve", "--evidence", "results.json", "-o", "r",
                    "--store", "{out}"],
}  # fmt: skip


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    (tmp_path / "results.json").write_text(results_text(), encoding="utf-8")
    return tmp_path


def kind_of(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


@pytest.mark.parametrize("kind", [*KINDS, "socket"])
@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_output_file_that_is_no_regular_file_is_refused_and_left_alone(
    work, sock, command, kind
):
    make = sock if kind == "socket" else KINDS[kind]
    target = make(work / "target")
    before = kind_of(target)
    args = [a.replace("{out}", str(target)) if isinstance(a, str) else a
            for a in FILE_COMMANDS[command]]  # fmt: skip
    result = cli(*args)
    folder_message = "is a folder" if command == "audit store" else "is a directory"
    assert_usage(result, folder_message if kind == "folder" else "not a regular file")
    assert kind_of(target) == before
    assert sorted(p.name for p in work.iterdir()) == ["results.json", "target"]


@pytest.mark.parametrize("kind", ["device", "fifo"])
@pytest.mark.parametrize("command", ["audit", "rules"])
def test_an_output_folder_that_is_no_folder_is_refused(work, command, kind):
    target = KINDS[kind](work / "target")
    before = kind_of(target)
    evidence = "--evidence" if command == "audit" else "--results"
    result = cli(command, EXAMPLE, "--no-resolve", evidence, "results.json",
                 "-o", target, *(["--no-store"] if command == "audit" else []))  # fmt: skip
    assert_usage(result, "not a folder")
    assert kind_of(target) == before


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_rules_refuses_a_snippet_target_inside_its_folder_before_writing_any(work, kind):
    out = folder(work / "out")
    KINDS[kind](out / "nftables.nft")
    result = cli("rules", EXAMPLE, "--no-resolve", "--results", "results.json",
                 "--format", "all", "-o", out)  # fmt: skip
    assert result.code == 2 and "nftables.nft: is a" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["nftables.nft"]


def test_a_real_dev_null_is_refused_too(work):
    result = cli("graph", EXAMPLE, "--no-resolve", "-o", "/dev/null")
    assert_usage(result, "a character device, not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("command", ["graph", "flows", "trend"])
def test_dash_writes_to_standard_output(work, command):
    args = [a.replace("{out}", "-") if isinstance(a, str) else a for a in FILE_COMMANDS[command]]
    result = cli(*args)
    assert result.code in (0, 2) and not (work / "-").exists()
    if command == "graph":
        assert json.loads(result.out)["directed"] is True


def test_probe_dash_writes_the_document_to_stdout_and_the_table_to_stderr(work):
    result = cli("probe", EXAMPLE, "--no-resolve", "-o", "-", "--timeout", "0.1")
    doc = json.loads(result.out)
    assert doc["format"] and doc["records"]
    assert "Probe of support.example.com" in result.err
    assert sorted(p.name for p in work.iterdir()) == ["results.json"]


def test_the_store_is_never_standard_output(work):
    result = cli("history", "--store", "-")
    assert_usage(result, "not standard output")
