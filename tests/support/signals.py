"""Children that a test interrupts must start with SIGINT and SIGTERM at their defaults.

A process started with a signal ignored (SIG_IGN) keeps it ignored across exec, and Python
then installs no KeyboardInterrupt handler: that is the convention for `nohup` and for the
background jobs of a non-interactive shell (`pytest ... &` ignores SIGINT in pytest, in its
xdist workers and in every child they start). `auditor` keeps that convention, so a test that
sends SIGINT to a child must not let the child inherit how pytest itself was started.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# coreutils `env` (>= 8.31) resets the dispositions, then execs: the pid stays the child's.
_DEFAULT_SIGNALS = ("env", "--default-signal=INT,TERM")


def with_default_signals(argv: Sequence[str | Path]) -> list[str]:
    """`argv` run with SIGINT and SIGTERM at their defaults, whatever this process ignores."""
    return [*_DEFAULT_SIGNALS, *(str(a) for a in argv)]
