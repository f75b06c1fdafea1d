"""Test-only helpers that are not fixtures (readers that prove generated output; the fake
appliance of the health API)."""
