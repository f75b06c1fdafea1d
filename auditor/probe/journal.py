"""The journal: records appended as JSON Lines while a run goes, so an interrupted run keeps
every finished probe."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType

from auditor.documents.codec import to_json
from auditor.model.inventory import Check, Flow
from auditor.model.record import ProbeRecord


class Journal:
    """A probe observer that appends each finished record as one line.

    Each line goes to the kernel in one `write` on an O_APPEND descriptor, so a process killed
    between records leaves only whole lines.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def planned(self, total: int) -> None:
        pass

    def started(self, flow: Flow, check: Check) -> None:
        pass

    def finished(self, record: ProbeRecord) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        line = json.dumps(to_json(record), sort_keys=True, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))
