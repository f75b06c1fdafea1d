"""Commands: lab (being written)."""
