"""Running the CLI on hostile input, and what every refusal must look like.

A refusal is exit 2, one `error: FILE:LINE: ...` line per problem (located where the input has
lines), no traceback or internal error, and nothing written in the folder the command ran in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from support.cli import auditor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pair.yaml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
# Every control character a terminal acts on; none may reach stdout or stderr raw.
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.lower().startswith("error")]


def cli(*args: object, stdin: str = "") -> Result:
    """`auditor ARGS` in this process (support/cli.py), its output as written (a lone carriage
    return is one), checked for what no run may ever show."""
    run = auditor(*args, stdin=stdin)
    code = run.returncode
    result = Result(code, run.raw_stdout, run.raw_stderr)
    assert "Traceback" not in result.err, result.err
    assert "internal error" not in result.err, result.err
    assert code != 3 or "could not complete" not in result.err
    shown = (result.out + result.err).replace("\r\n", "\n")  # CRLF: the CSV's line ends
    assert not RAW_CONTROLS.search(shown), shown[:500]
    return result


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime: 'nothing written' is an equal one."""
    out = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            if path.is_file():
                info = path.stat()
                out[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return out


def assert_refused(result: Result, *where: tuple[str, int | None]) -> None:
    """Exit 2 with exactly one error line per expected (file, line); each names its file and,
    where given, its line."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert len(result.errors) == len(where), result.err
    for line, (file, number) in zip(result.errors, where, strict=True):
        prefix = f"error: {file}:{number}: " if number is not None else f"error: {file}"
        assert line.startswith(prefix), (line, prefix)


def assert_usage(result: Result, fragment: str) -> None:
    """Exit 2 with one error line about an option or argument (click's or ours)."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert len(result.errors) == 1, result.err
    assert fragment in result.errors[0], result.errors[0]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first `needle` in `text`."""
    return text[: text.index(needle)].count("\n") + 1


def mutate(old: str, new: str, text: str = EXAMPLE_TEXT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)
