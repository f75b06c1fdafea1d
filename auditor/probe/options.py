"""How hard a probe run pushes: timeouts, caps and retries (light: the CLI reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    timeout: float = 3.0
    concurrency: int = 2048
    per_destination: int = 64
    retries: int = 0  # extra attempts for a `filtered` TCP connect
    ldap_workers: int = 32
