"""Shared fixtures: the namespace lab (examples/lab.yaml, a lab file around the inventory
examples/lab-inventory.yaml) for tests marked `lab`.

Lab tests need root. They are skipped only when not root AND not in CI (env CI set): in CI a
lab test that cannot run fails, so a broken runner is never mistaken for a green one.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.lab import Firewall, Lab
from auditor.redact import redacting

REPO = Path(__file__).resolve().parent.parent
LAB_SPEC = REPO / "examples" / "lab.yaml"
LAB_INVENTORY = REPO / "examples" / "lab-inventory.yaml"

_fresh_counter = itertools.count()


def _can_run_lab() -> bool:
    return os.geteuid() == 0


def pytest_configure(config: pytest.Config) -> None:
    from support import lab_guard
    from support.fuzz import use_profile

    use_profile(config.getoption("hypothesis_profile", None))
    # `pytest -n 2` with lab tests selected stops at once: lab tests run serially
    config.pluginmanager.register(lab_guard, "lab-guard")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _can_run_lab() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="lab test: needs root (network namespaces); CI is unset")
    for item in items:
        if item.get_closest_marker("lab") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _own_secrets() -> Iterator[None]:
    """Each test knows only the secrets it makes (auditor.redact): a password of one test never
    turns up as `[redacted]` in another's output, whatever the order."""
    with redacting():
        yield


def lab_file_copy(folder: Path, text: str, name: str = "lab.yaml") -> Path:
    """A lab file written to `folder` with `text` (an edited examples/lab.yaml or
    lab-apps.yaml), its `inventory:` made absolute so it still names the example's inventory."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("inventory: "):
            lines[i] = f"inventory: {REPO / 'examples' / line.split(': ', 1)[1].strip()}\n"
    path = folder / name
    path.write_text("".join(lines))
    return path


def _lab_session(prefix: str, firewall: Firewall | None = None) -> Iterator[Lab]:
    the_lab = Lab(LAB_SPEC, prefix=prefix, firewall=firewall)
    try:
        the_lab.down()  # a stale lab with this prefix (an earlier crashed run) goes first
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The example lab, up for the whole session (do not change its router rules: use
    `fresh_lab` for that). `lab.inventory_path()` is the inventory with this lab's CA;
    `lab.exec([...])` runs a command in the probe namespace with AUDITOR_BIND_PASSWORD set."""
    yield from _lab_session(f"t{os.getpid() % 100000}")


@pytest.fixture
def fresh_lab() -> Iterator[Lab]:
    """A lab of its own for one test (rules may be changed freely); removed afterwards."""
    yield from _lab_session(f"f{os.getpid() % 100000}x{next(_fresh_counter)}")


@pytest.fixture
def fresh_nft_lab() -> Iterator[Lab]:
    """Like `fresh_lab`, but the router's base ruleset is nftables (table inet auditor_lab,
    chain forward) instead of iptables: the lab for proving nftables snippets."""
    yield from _lab_session(f"n{os.getpid() % 100000}x{next(_fresh_counter)}", Firewall.NFTABLES)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the test process (tests/support/browser.py): started when a
    test first asks for it, stopped at the end of the session."""
    from support.browser import Browser

    with Browser() as the_browser:
        yield the_browser


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A throwaway PostgreSQL server for the session (tests/support/postgres.py), stopped and
    removed at the end, also after a failure. Needs root (it runs as the postgres user)."""
    from support.postgres import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: object, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database on the session's server; PGPASSWORD set for this test only."""
    from support.postgres import PostgresServer

    assert isinstance(pg_server, PostgresServer)
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    return pg_server.new_database()
