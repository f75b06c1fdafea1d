"""Application probes from a bound source address: one module per protocol, each an
`async def probe_<x>(source, address, port, timeout, ...) -> AppOutcome` that never raises for a
network outcome. Over UDP only an answer proves a flow: silence is `no-answer`."""

from auditor.probe.app.outcome import AppOutcome

__all__ = ["AppOutcome"]
