"""Commands: rules (being written)."""
