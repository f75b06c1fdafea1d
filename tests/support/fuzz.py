"""How many examples a property test tries.

Every property test states its full count, `examples(300)`: the long run (`make test-long`,
i.e. `pytest --hypothesis-profile=long`) tries exactly that; the default run (`make test`, a
plain `pytest`) tries a third of it, at least 20, so the suite stays quick while every property
is still exercised on each run (and a failing example, kept in Hypothesis's database, is tried
first the next time). The profile is read once (tests/conftest.py's `pytest_configure`, before
any test module is imported).
"""

from __future__ import annotations

from hypothesis import settings

LONG = "long"
DEFAULT_SHARE = 3  # the default run tries 1/DEFAULT_SHARE of a test's full count
FLOOR = 20

# known to Hypothesis, so `--hypothesis-profile=long` is accepted; the counts come from examples()
settings.register_profile(LONG)

_long = False


def use_profile(name: str | None) -> None:
    global _long  # noqa: PLW0603 (set once, before collection)
    _long = name == LONG


def examples(full: int) -> int:
    """`full` in the long run; a third of it (at least 20, at most `full`) by default."""
    if _long:
        return full
    return min(full, max(FLOOR, full // DEFAULT_SHARE))
