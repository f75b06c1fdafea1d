"""One exception root. Each stage raises its own subclass with context; only the CLI turns
them into messages and exit codes."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType


class AuditorError(Exception):
    """Root of every error the auditor raises on purpose."""

    exit_code = 3


def nearest_line(lines: Mapping[str, int], path: str) -> int | None:
    """The line of field `path` (`providers[0].bind.dn`), or of its nearest ancestor that has
    one: a problem in a value points at the line that wrote it."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, located to a line."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        # one line, whatever a file name, a field path or a quoted value holds
        file, field, message = (_one_line(x) for x in (self.file, self.field, self.message))
        where = f"{file}:{self.line}" if self.line is not None else file
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"


def _one_line(text: str) -> str:
    from auditor.textout import printable  # noqa: PLC0415 (errors is imported by everything)

    return printable(text)


MAX_SHOWN = 100  # the problems an InputError shows; past them, one line counts the rest


class InputError(AuditorError):
    """Bad input (an inventory, a pack, a results file): one or more located problems."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = list(self.problems)
        if len(shown) > MAX_SHOWN + 1:  # a list of 10,000 bad values: not 10,000 lines
            rest = len(shown) - MAX_SHOWN
            shown = [
                *shown[:MAX_SHOWN],
                Problem(shown[MAX_SHOWN].file, None, "", f"{rest} more problem(s) not shown"),
            ]
        super().__init__("\n".join(str(p) for p in shown))


class UsageError(AuditorError):
    """A valid file asked for something this run cannot do (an option combination, say)."""

    exit_code = 2


class ResolveError(AuditorError):
    """A provider hostname did not resolve."""

    exit_code = 2


class RunError(AuditorError):
    """The run could not complete (nothing probeable, the lab is missing, ...)."""

    exit_code = 3


class Terminated(AuditorError):
    """SIGTERM (or SIGHUP) arrived; what the run held (claimed addresses) was released on the
    way out."""

    exit_code = 143


@contextlib.contextmanager
def terminate_raises(note: str = "") -> Iterator[None]:
    """While it lasts, SIGTERM and SIGHUP (a closed terminal) raise Terminated, so every
    `finally` runs (a claim is released, a temp folder removed); Ctrl-C already raises
    KeyboardInterrupt. The handlers before are restored after. Main thread only."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Terminated(f"terminated ({signal.Signals(signum).name}){note}")

    previous = {s: signal.signal(s, on_term) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
