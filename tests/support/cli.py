"""The one way a test runs the CLI: `auditor(*args)` calls `main` in this process (no
interpreter start-up per call) and returns what a subprocess would have: the exit code and
the text of stdout and stderr, with line ends read as `subprocess.run(text=True)` reads them,
and the same text as written (`raw_stdout`, `raw_stderr`: a lone carriage return stays one, for
the tests of what reaches a terminal).

`cwd` and `env` apply for the call only (`env` replaces the environment, as it does for a
subprocess). A test that needs a real process (a signal, the installed console script, two
writers at once, a network namespace) starts one itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.cli.app import main


@dataclass(frozen=True, slots=True)
class Result:
    returncode: int
    stdout: str
    stderr: str
    raw_stdout: str = ""
    raw_stderr: str = ""


class _Stream(io.TextIOWrapper):
    """A text stream over bytes, like a pipe: both `write` and `buffer.write` land in it."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)

    def raw(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", errors="replace")  # type: ignore[attr-defined]

    def text(self) -> str:
        return self.raw().replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _folder(cwd: Path | str | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    saved = Path.cwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


def auditor(
    *args: object,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | bytes = "",
) -> Result:
    """`auditor ARGS`, run in this process (`stdin` given as bytes is read as a pipe is: its
    `buffer` holds them)."""
    out, err = _Stream(), _Stream()
    saved = sys.stdin, sys.stdout, sys.stderr
    given = io.TextIOWrapper(io.BytesIO(stdin)) if isinstance(stdin, bytes) else io.StringIO(stdin)
    sys.stdin, sys.stdout, sys.stderr = given, out, err
    try:
        with _environment(env), _folder(cwd):
            code = main([str(a) for a in args])
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, out.text(), err.text(), out.raw(), err.raw())
