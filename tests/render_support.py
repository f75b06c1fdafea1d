"""Helpers for the renderer tests: golden files, a throwaway network namespace, the real tools."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden" / "render"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/render/NAME; on a mismatch write NAME.actual beside it.
    UPDATE_GOLDEN=1 rewrites the reference."""
    ref = GOLDEN / name
    actual = GOLDEN / (name + ".actual")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(text, encoding="utf-8", newline="")
    expected = ref.read_bytes().decode("utf-8") if ref.exists() else None
    if expected != text:
        actual.write_text(text, encoding="utf-8", newline="")
        raise AssertionError(f"{name} differs from its golden file; see {actual}")
    actual.unlink(missing_ok=True)


def run(args: list[str], ns: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def namespace() -> Iterator[str]:
    """A namespace of our own (unique name), deleted whatever happens."""
    name = f"plan{os.getpid() % 100000}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def restore_test(ns: str, tool: str, text: str) -> subprocess.CompletedProcess[str]:
    return run([f"{tool}-restore", "-w", "--test", "--noflush"], ns, stdin=text)


def nft_check(ns: str, path: Path) -> subprocess.CompletedProcess[str]:
    return run(["nft", "-c", "-f", str(path)], ns)


def load_iptables(
    ns: str, tool: str, files: dict[str, str], chain: str, hook: str = "FORWARD"
) -> None:
    """Load the chain fragment, then the jump unless `-C` finds it: the documented procedure."""
    rules = run([f"{tool}-restore", "-w", "--noflush"], ns, stdin=files[f"{tool}.rules"])
    assert rules.returncode == 0, rules.stderr
    present = run([tool, "-w", "-C", hook, "-j", chain], ns)
    if present.returncode != 0:
        jump = run([f"{tool}-restore", "-w", "--noflush"], ns, stdin=files[f"{tool}.jump.rules"])
        assert jump.returncode == 0, jump.stderr


def rules_listing(ns: str, tool: str) -> list[str]:
    out = run([tool, "-w", "-S"], ns)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()
