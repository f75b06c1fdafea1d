"""The report folder of one audit: checked before any probe, written whole at the end, and the
site's older folders pruned."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from auditor.errors import UsageError
from auditor.filemode import folder_mode


def check_report_folder(folder: Path) -> None:
    """A report folder is new, empty, or an earlier report (replaced whole): never a folder of
    the user's that happens to be there. Checked before any probe."""
    if folder.exists() and (not folder.is_dir() or _foreign(folder)):
        raise UsageError(
            f"{folder} exists and is not an audit report folder (expected a new or empty "
            "folder, or an earlier report folder to replace)"
        )


def check_fleet_folder(folder: Path) -> None:
    """A fleet report folder (`fleet run -o`, `fleet report -o`) is new, empty, or an
    earlier fleet report (it holds fleet.json): its index.html, fleet.json and junit.xml
    never overwrite a folder of the user's."""
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not (folder / "fleet.json").is_file())
    ):
        raise UsageError(
            f"{folder} exists and is not a fleet report folder (expected a new or empty "
            "folder, or an earlier fleet report's folder)"
        )


def _foreign(folder: Path) -> bool:
    return any(folder.iterdir()) and not (folder / "run.json").is_file()


def prune_reports(parent: Path, site: str, keep: int, current: Path | None = None) -> None:
    """Remove all but the newest `keep` report folders `<site>-<UTC timestamp>-<id>` under
    `parent` (only folders the audit wrote: they hold a run.json); `current`, the one just
    written, is always kept (a clock set back would sort it first)."""
    pattern = re.compile(rf"^{re.escape(site)}-\d{{8}}T\d{{6}}Z-[0-9a-f]{{4}}$")
    prune_folders(parent, pattern, "run.json", keep, current)


def prune_folders(
    parent: Path, pattern: re.Pattern[str], marker: str, keep: int, current: Path | None
) -> list[Path]:
    """Remove all but the newest `keep` folders under `parent` whose name matches `pattern`
    (a UTC timestamp in it: they sort by time) and that hold the file `marker` (what the
    auditor wrote there; a folder of the user's with that name is not touched, nor a symlink).
    `current` counts as one of the `keep` and is never removed. The folders removed."""
    if keep < 1:
        raise ValueError("keep at least the newest folder")
    mine = sorted(
        p
        for p in parent.iterdir()
        if pattern.match(p.name) and not p.is_symlink() and p.is_dir() and (p / marker).is_file()
    )
    if current is not None:
        mine = [p for p in mine if p.absolute() != current.absolute()]
        keep -= 1
    gone = mine[: max(0, len(mine) - keep)]
    for old in gone:
        shutil.rmtree(old, ignore_errors=True)
    return gone


def write_folder(folder: Path, files: Mapping[str, str]) -> None:
    """Write every file of a report folder: it appears whole or not at all, and replaces an
    earlier report in the same place (no stale snippet survives)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    old: Path | None = None
    try:
        tmp.chmod(folder_mode())  # mkdtemp's 0700 would hide the report from its readers
        made = {tmp}
        for name, text in files.items():
            target = tmp / name
            if target.parent not in made:  # each sub-folder (rules/) made once
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_text(text, encoding="utf-8")
        if folder.exists():
            check_report_folder(folder)
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            folder.rename(old)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not folder.exists():
            old.rename(folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
