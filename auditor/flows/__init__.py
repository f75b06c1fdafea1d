"""Required flows: derived from the inventory and packs, the flow graph and its exports."""
