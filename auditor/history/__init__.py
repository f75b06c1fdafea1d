"""History: the SQLite store of runs, drift between runs and the scheduled job."""

from pathlib import Path

DEFAULT_STORE = Path("reports/history.sqlite")
