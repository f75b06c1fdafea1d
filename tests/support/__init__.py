"""Test-only helpers that are not fixtures (readers that prove generated output)."""
