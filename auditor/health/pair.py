"""Ask both appliances of the pair at once: what each says, or why it could not be asked."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor.errors import InputError, Problem, RunError
from auditor.health.client import AskFailure, HealthClient, tls_context
from auditor.health.credentials import Credentials, read_credentials
from auditor.health.document import HealthDocument
from auditor.model.inventory import Appliance, Inventory, Side


class HealthNotConfigured(RunError):
    """No appliance of the inventory has a `health:` block (exit 3: nothing could be asked)."""


@dataclass(frozen=True, slots=True)
class ApplianceState:
    """One appliance's answer: a document, a failure, or neither (no `health:` block)."""

    name: str
    side: Side  # its side in the inventory
    url: str | None
    document: HealthDocument | None = None
    failure: AskFailure | None = None

    @property
    def configured(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class PairState:
    """What the pair said, both halves, and when it was asked (UTC)."""

    primary: ApplianceState
    backup: ApplianceState
    asked_at: datetime

    @property
    def appliances(self) -> tuple[ApplianceState, ApplianceState]:
        return (self.primary, self.backup)


def make_clients(
    inventory: Inventory,
    credentials: Mapping[str, Credentials] | None = None,
    *,
    timeout: float,
) -> dict[str, HealthClient]:
    """A client per appliance with a `health:` block, by name; credentials and CA files are
    read now. Raises HealthNotConfigured, or InputError for an unreadable secret or CA file."""
    configured = [a for a in inventory.pair.appliances if a.health is not None]
    if not configured:
        raise HealthNotConfigured(
            f"{inventory.source}: no appliance has a health: block (give url, client_id_env "
            "and client_secret_env under pair.primary.health and pair.backup.health)"
        )
    creds = read_credentials(inventory) if credentials is None else credentials
    clients: dict[str, HealthClient] = {}
    problems: list[Problem] = []
    for appliance in configured:
        spec = appliance.health
        assert spec is not None
        try:
            context = tls_context(spec.ca_file)
        except (OSError, ssl.SSLError) as exc:
            path = f"pair.{appliance.side.value}.health.ca_file"
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
            problems.append(
                Problem(
                    str(inventory.source),
                    inventory.line_of(path),
                    path,
                    f"appliance {appliance.name}: cannot load {spec.ca_file} as a CA bundle: {why}",
                )
            )
            continue
        clients[appliance.name] = HealthClient(
            spec, creds[appliance.name], timeout=timeout, context=context
        )
    if problems:
        raise InputError(problems)
    return clients


def ask_pair(
    inventory: Inventory,
    *,
    timeout: float,
    credentials: Mapping[str, Credentials] | None = None,
    clients: Mapping[str, HealthClient] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PairState:
    """Ask both appliances concurrently (a slow one costs one timeout, not two).

    Pass `clients` (from make_clients) to keep tokens between calls. Raises HealthNotConfigured
    or InputError before anything is sent; every network outcome is in the result."""
    if clients is None:
        clients = make_clients(inventory, credentials, timeout=timeout)
    asked_at = now()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="health") as pool:
        futures = {
            a.name: pool.submit(clients[a.name].check_health)
            for a in inventory.pair.appliances
            if a.name in clients
        }
        answers = {name: future.result() for name, future in futures.items()}
    return PairState(
        primary=_state(inventory.pair.primary, answers),
        backup=_state(inventory.pair.backup, answers),
        asked_at=asked_at,
    )


def _state(
    appliance: Appliance, answers: Mapping[str, HealthDocument | AskFailure]
) -> ApplianceState:
    url = appliance.health.url if appliance.health is not None else None
    answer = answers.get(appliance.name)
    if isinstance(answer, HealthDocument):
        return ApplianceState(appliance.name, appliance.side, url, document=answer)
    if isinstance(answer, AskFailure):
        return ApplianceState(appliance.name, appliance.side, url, failure=answer)
    return ApplianceState(appliance.name, appliance.side, url)
