"""Every file the auditor writes: a regular file, written whole, in the place named.

An output goes to a temporary file beside the target, is flushed to disk and renamed over the
target, so a reader sees the old file or the whole new one. A target that exists and is not a
regular file (a device such as /dev/null, a FIFO, a socket, a folder) is refused before any
work: renaming over `/dev/null` as root would replace the device with a file, and opening a
FIFO for writing waits for a reader. `-` means standard output where a command allows it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from auditor.errors import UsageError
from auditor.filemode import file_mode

STDOUT = Path("-")
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def target_problem(path: Path) -> str | None:
    """Why `path` cannot be an output file (it exists and is no regular file; a symbolic link
    counts as what it points to), or None."""
    return _existing_problem(
        path, stat.S_ISREG, "not a regular file (expected a file to write; nothing was written)"
    )


def folder_problem(path: Path) -> str | None:
    """Why `path` cannot be an output folder (it exists and is no folder), or None."""
    return _existing_problem(
        path,
        stat.S_ISDIR,
        "not a folder (expected a folder to write into; nothing was written)",
    )


def _existing_problem(path: Path, fits: Callable[[int], bool], instead: str) -> str | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    return None if fits(info.st_mode) else f"is {_kind(info.st_mode)}, {instead}"


def check_target(path: Path, *, option: str = "-o") -> None:
    """Refuse (UsageError, exit 2) a target that exists and is no regular file."""
    problem = target_problem(path)
    if problem is not None:
        raise UsageError(f"{option} {path}: {problem}")


def write_atomic(path: Path, text: str, *, option: str = "-o") -> None:
    """Write `text` to `path` whole (see the module's docstring); UsageError for a target that
    is not a regular file, OSError when the place cannot be written."""
    check_target(path, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())  # mkstemp's 0600 is for secrets; outputs are shared
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        check_target(path, option=option)  # nothing put a device there meanwhile
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
