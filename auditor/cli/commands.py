"""Imports every command module so each registers its commands on the root group."""

from auditor.cli import inventory_cmds  # noqa: F401
