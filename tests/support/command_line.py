"""Read a printed job back as what runs: systemd's ExecStart= words, and the auditor's own
parser on a command line (a wrong option name or value fails here, not at 02:30)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

# systemd.syntax(7) / systemd.service(5): C-style escapes in a command line's words
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "s": " ", "a": "\a",
            "b": "\b", "f": "\f", "r": "\r", "v": "\v"}  # fmt: skip


def systemd_words(line: str) -> list[str]:
    """The words of an `ExecStart=` value as systemd splits them: whitespace apart, single
    or double quotes around a word, backslash escapes, `$$` a dollar and `%%` a percent.
    A lone `$` (systemd would expand a variable) or any other `%` specifier is an error:
    a unit that relies on neither must show none."""
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        word, quote = [], None
        if line[i] in "\"'":
            quote, i = line[i], i + 1
        while i < n and (quote is not None or not line[i].isspace()):
            c = line[i]
            if c == quote:
                quote, i = None, i + 1
                break
            if c == "\\":
                if line[i + 1] not in _ESCAPES:
                    raise ValueError(f"an escape systemd reads differently: {line[i : i + 2]!r}")
                word.append(_ESCAPES[line[i + 1]])
                i += 2
            elif c in "$%":
                if line[i + 1 : i + 2] != c:
                    raise ValueError(f"systemd would expand {line[i : i + 2]!r}")
                word.append(c)
                i += 2
            else:
                word.append(c)
                i += 1
        if quote is not None:
            raise ValueError(f"an unterminated quote in {line!r}")
        words.append("".join(word))
    return words


def unit_value(unit: str, key: str) -> str:
    """The one `key=` line's value in a unit file."""
    (found,) = [ln.split("=", 1)[1] for ln in unit.splitlines() if ln.startswith(f"{key}=")]
    return found


def parse_auditor(argv: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """`auditor ARGV` through the auditor's own click parser, down to the command it runs:
    (the command's names, its parameters converted and checked). Raises click's error on an
    unknown option or a value the command refuses; runs nothing."""
    from auditor.cli.app import cli

    ctx = cli.make_context("auditor", list(argv))
    command: click.Command = cli
    names: list[str] = []
    while isinstance(command, click.Group):
        args = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, args)
        assert name is not None and sub is not None
        names.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return names, ctx.params
