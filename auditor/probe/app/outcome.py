"""What an application probe saw: a status, why, how long, and protocol details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from auditor.model.record import Status

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AppOutcome:
    """`detail` holds protocol facts as text, e.g. {"code": "Access-Reject"}, {"rcode": "NOERROR"}
    or {"stratum": "2", "offset_ms": "0.412"}; never a secret."""

    status: Status
    reason: str = ""
    latency_ms: float | None = None
    detail: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


def elapsed_ms(start: float, now: float) -> float:
    return round((now - start) * 1000.0, 3)
