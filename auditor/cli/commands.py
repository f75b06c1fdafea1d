"""Imports every command module so each registers its commands on the root group."""

from auditor.cli import (  # noqa: F401
    audit_cmd,
    inventory_cmds,
    lab_cmd,
    probe_cmd,
    rules_cmd,
    trend_cmd,
)
