"""The application allow-list finding: a server answers some addresses of the pair and stays
silent for others that the firewall admits (found by `auditor.evidence.allowlist`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from auditor.documents.fields import ADDRESS_OR_HOSTNAME, IP_TEXT, NAME, PORT, one_of
from auditor.model.inventory import Protocol


@dataclass(frozen=True, slots=True)
class AllowListFinding:
    provider: Annotated[str, NAME]
    destination: Annotated[str, ADDRESS_OR_HOSTNAME]
    protocol: Annotated[str, one_of(Protocol)]
    port: Annotated[int, PORT]
    check: str
    answered: tuple[Annotated[str, IP_TEXT], ...]  # the pair's addresses the server answered
    ignored: tuple[Annotated[str, IP_TEXT], ...]  # the firewall admits them, the server ignores
    evidence: str  # why the firewall is known to admit them

    @property
    def server(self) -> str:
        """`203.0.113.20 udp/1812 (lab-radius)`: the server, port and protocol."""
        return f"{self.destination} {self.protocol}/{self.port} ({self.provider})"

    @property
    def advice(self) -> str:
        ignored = ", ".join(self.ignored)
        if self.check == "radius":
            return (
                "the RADIUS server's client list must hold every appliance address (both "
                f"unique IPs and the shared IP): add {ignored}, with the shared secret"
            )
        return (
            f"the server's list of allowed clients must hold every appliance address: add {ignored}"
        )

    @property
    def message(self) -> str:
        return (
            f"{self.server} answers {', '.join(self.answered)} but ignores "
            f"{', '.join(self.ignored)}, which the firewall admits ({self.evidence}): "
            f"{self.advice}"
        )
