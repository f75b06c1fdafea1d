"""Commands: audit (being written)."""
