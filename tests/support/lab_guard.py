"""A pytest plugin: lab tests never run in parallel.

Lab tests share namespaces, addresses and daemons, and in parallel they break each other
(xdist's `xdist_group` does not keep them apart under `--dist loadfile`). In an xdist run with
more than one worker, any selected `lab` test makes the run stop before a test runs: one
collection error saying to run lab tests serially, exit code 4 (a usage error). One worker,
or no `-n`, is serial and runs them.
"""

from __future__ import annotations

import pytest

LAB_SERIAL = "lab tests must run serially"
_refused: list[str] = []  # in the xdist controller: what a worker refused


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected: the tests that would run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    labs = sum(1 for item in items if item.get_closest_marker("lab") is not None)
    if workers < 2 or not labs:
        return
    message = (
        f"{LAB_SERIAL}: {labs} selected with -n {workers}; run them without -n "
        '(`make pytest` runs -m "not lab" with -n 2, then -m lab serially)'
    )
    # Each worker collects the same tests: each deselects them all, so the collections still
    # agree and nothing runs; the report reaches the controller (xdist forwards failed ones).
    config.hook.pytest_collectreport(report=pytest.CollectReport("", "failed", message, []))
    config.hook.pytest_deselected(items=list(items))
    items.clear()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed and str(report.longrepr).startswith(LAB_SERIAL):
        _refused.append(str(report.longrepr))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _refused:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
