"""The front of the pipeline every command shares: inventory -> requirement packs -> flows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from auditor.flows.derive import Resolver, pair_topology, system_resolver
from auditor.flows.limits import DEFAULT_MAX_FLOWS
from auditor.flows.topology import flows_from
from auditor.inventory.load import load_inventory
from auditor.inventory.packs import load_packs
from auditor.model.inventory import Flow, Inventory, KindSpec

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True, slots=True)
class Prepared:
    inventory: Inventory
    kinds: Mapping[str, KindSpec]
    flows: tuple[Flow, ...]
    topology: nx.MultiDiGraph  # the pair's graph the flows come from (`flows.topology`)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (a fleet reads its pairs in helper processes): the kinds' read-only view
        does not pickle, its contents do."""
        return (_prepared, (self.inventory, dict(self.kinds), self.flows, self.topology))


def _prepared(
    inventory: Inventory,
    kinds: dict[str, KindSpec],
    flows: tuple[Flow, ...],
    topology: nx.MultiDiGraph,
) -> Prepared:
    return Prepared(inventory, MappingProxyType(kinds), flows, topology)


def prepare(
    inventory_path: Path,
    *,
    rules_dirs: Sequence[Path] = (),
    resolve: bool = True,
    resolver: Resolver = system_resolver,
    max_flows: int = DEFAULT_MAX_FLOWS,
) -> Prepared:
    """Load and validate the inventory and packs, and build the required flows (at most
    `max_flows`: counted first, refused as bad input)."""
    inventory = load_inventory(inventory_path)
    kinds = load_packs(rules_dirs)
    topology = pair_topology(
        inventory, kinds, resolve=resolver if resolve else None, max_flows=max_flows
    )
    return Prepared(inventory=inventory, kinds=kinds, flows=flows_from(topology), topology=topology)
