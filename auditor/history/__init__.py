"""History: the SQLite store of runs, drift between runs and the scheduled job."""
