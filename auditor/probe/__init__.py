"""Active probes: every required flow checked from its own source address (TCP, TLS, LDAP)."""

from auditor.probe.document import (
    FORMAT,
    ResultsDocument,
    RunMeta,
    read_results,
    summarize,
    write_results,
)
from auditor.probe.engine import (
    NullObserver,
    Observers,
    ProbeObserver,
    ProbeOptions,
    checks_for,
    probe_flows,
    probe_flows_async,
)
from auditor.probe.journal import Journal, read_journal
from auditor.probe.secrets import Secret, read_passwords

__all__ = [
    "FORMAT",
    "Journal",
    "NullObserver",
    "Observers",
    "ProbeObserver",
    "ProbeOptions",
    "ResultsDocument",
    "RunMeta",
    "Secret",
    "checks_for",
    "probe_flows",
    "probe_flows_async",
    "read_journal",
    "read_passwords",
    "read_results",
    "summarize",
    "write_results",
]
