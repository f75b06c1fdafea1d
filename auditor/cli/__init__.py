"""The command-line shell: parse, call the pipeline, render, return an exit code.

`auditor --version` alone is answered here, before the CLI's imports: a fleet run asks every
probe host that first, over SSH, before it sends anything (the imports are most of the CPU of
that command). It prints what the group's `--version` option prints."""

from __future__ import annotations

import sys
from collections.abc import Sequence

VERSION_LINE = "auditor, version {version}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising SystemExit."""
    args = list(argv) if argv is not None else sys.argv[1:]
    if args == ["--version"]:
        from auditor import __version__  # noqa: PLC0415

        try:
            sys.stdout.write(VERSION_LINE.format(version=__version__))
            sys.stdout.flush()
        except BrokenPipeError:
            sys.stderr.close()
        return 0
    from auditor.cli.app import main as run  # noqa: PLC0415

    return run(args)
