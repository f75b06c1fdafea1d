"""A rich progress bar on standard error, fed by the probe engine's observer calls."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auditor.model.inventory import Check, Flow
from auditor.model.record import ProbeRecord


class ProgressBar:
    """Use only on a terminal: `with ProgressBar() as bar: probe_flows(..., observer=bar)`."""

    def __init__(self, label: str = "probing") -> None:
        self._progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(label, total=None)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def started(self, flow: Flow, check: Check) -> None:
        pass

    def finished(self, record: ProbeRecord) -> None:
        self._progress.advance(self._task)
