"""The protocol code of the application checks, one module per protocol: over UDP the request
each check sends and how its answer is read (`*_request`, run by `udp`), over TCP a probe
(`probe_<x>(source, address, ...) -> AppOutcome`). A network outcome is an outcome, never an
exception; over UDP only an answer proves a flow: silence is `no-answer`."""

from auditor.probe.app.outcome import AppOutcome

__all__ = ["AppOutcome"]
