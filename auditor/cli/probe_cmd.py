"""Commands: probe (being written)."""
