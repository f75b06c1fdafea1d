"""Provider hostnames that do not resolve, found by `check` as warnings: `flows`, `probe` and
`audit` refuse such an inventory, and `check` is where a user looks first.

Each distinct name is resolved once, all at once, under one deadline: a DNS server that does not
answer costs the deadline, never a hang.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from auditor.errors import ResolveError
from auditor.flows.derive import Resolver, system_resolver
from auditor.inventory.lint import LintFinding, Severity
from auditor.model.inventory import Inventory
from auditor.values import is_hostname

RULE = "endpoint-unresolvable"
DEADLINE = 10.0  # seconds for every name together


def name_findings(
    inv: Inventory, resolver: Resolver = system_resolver, deadline: float = DEADLINE
) -> tuple[LintFinding, ...]:
    """A warning per provider endpoint whose hostname has no A/AAAA record (or no answer
    within `deadline`), at its line."""
    places: dict[str, list[tuple[int, int, str]]] = {}
    for i, provider in enumerate(inv.providers):
        for j, endpoint in enumerate(provider.endpoints):
            # localhost names are lint errors (endpoint-not-remote): never asked of DNS
            name = endpoint.rstrip(".").lower()
            if is_hostname(endpoint) and not (name == "localhost" or name.endswith(".localhost")):
                places.setdefault(endpoint, []).append((i, j, provider.name))
    if not places:
        return ()
    pool = ThreadPoolExecutor(max_workers=min(8, len(places)), thread_name_prefix="resolve")
    futures = {name: pool.submit(resolver, name) for name in places}
    wait(futures.values(), timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)  # a stuck lookup is left behind, not waited
    findings: list[LintFinding] = []
    for name, future in futures.items():
        reason = _failure(name, future, deadline)
        if reason is None:
            continue
        for i, j, owner in places[name]:
            field = f"providers[{i}].endpoints[{j}]"
            findings.append(
                LintFinding(
                    RULE,
                    Severity.WARNING,
                    field,
                    inv.line_of(field),
                    f"endpoint {name} of provider {owner} {reason}: flows, probe and audit "
                    "refuse the inventory until it resolves",
                    "fix the name or its DNS record (A/AAAA), or keep it as a name with "
                    "--no-resolve",
                )
            )
    return tuple(findings)


def _failure(name: str, future: Future[Any], deadline: float) -> str | None:
    if not future.done():
        return f"did not resolve within {deadline:g} s"
    exc = future.exception()
    if exc is None:
        return None if future.result() else "has no A or AAAA record"
    if isinstance(exc, ResolveError):
        return str(exc).removeprefix(f"{name}: ")
    return f"does not resolve ({type(exc).__name__})"
