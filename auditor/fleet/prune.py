"""`fleet run --keep N`: the output folders of older fleet runs in the default place pruned,
as `audit --keep` prunes a site's report folders."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.report.folder import prune_folders

# default_output's name: fleet-<UTC timestamp>
FLEET_FOLDER = re.compile(r"^fleet-\d{8}T\d{6}Z$")


def prune_fleet_runs(current: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` fleet run folders beside `current` (the run just
    made, always kept): only folders named `fleet-<UTC timestamp>` that hold a fleet.json (a
    fleet run's; a folder of the user's is not touched). The folders removed."""
    return prune_folders(current.parent, FLEET_FOLDER, "fleet.json", keep, current)
