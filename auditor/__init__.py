"""Firewall reachability auditor and rule generator for appliance pairs in shared-IP failover."""

__version__ = "0.1.0"
