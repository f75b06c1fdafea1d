"""Test helpers that are whole programs: the fake appliance."""
