"""One exception root. Each stage raises its own subclass with context; only the CLI turns
them into messages and exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AuditorError(Exception):
    """Root of every error the auditor raises on purpose."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, located to a line."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InputError(AuditorError):
    """Bad input (an inventory, a pack, a results file): one or more located problems."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(AuditorError):
    """A valid file asked for something this run cannot do (an option combination, say)."""

    exit_code = 2


class ResolveError(AuditorError):
    """A provider hostname did not resolve."""

    exit_code = 2


class RunError(AuditorError):
    """The run could not complete (nothing probeable, the lab is missing, ...)."""

    exit_code = 3
