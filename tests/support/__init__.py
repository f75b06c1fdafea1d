"""Test-only helpers that are not fixtures: readers that prove generated output (pf, the
vendor formats in vendor/), and the fake appliance of the health API."""
